"""Decoding the Kubernetes protobuf bodies kubectl's imperative `create` commands send.

`kubectl create namespace|configmap|secret|serviceaccount` post `application/vnd.kubernetes.protobuf`
(a `k8s\\0` magic, then a `runtime.Unknown` envelope around the typed object). Only those kinds are
decoded, into the same dicts a JSON body gives; responses are JSON, which kubectl also accepts.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from drsyncer.sim.errors import ApiError

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
_MAGIC = b"k8s\x00"

Fields = dict[int, list[Any]]


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def fields(data: bytes) -> Fields:
    """Wire-level decode: field number → values (ints for varints, bytes for length-delimited)."""
    out: Fields = {}
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        value: Any
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            value = data[pos : pos + length]
            if len(value) != length:
                raise ValueError("truncated field")
            pos += length
        elif wire == 1:
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == 5:
            value, pos = data[pos : pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        out.setdefault(number, []).append(value)
    return out


def _str(f: Fields, n: int) -> str:
    return bytes(f[n][-1]).decode() if n in f else ""


def _map(f: Fields, n: int, value: Callable[[bytes], Any] = lambda b: b.decode()) -> dict[str, Any]:
    out = {}
    for entry in f.get(n, []):
        e = fields(entry)
        out[_str(e, 1)] = value(bytes(e[2][-1]) if 2 in e else b"")
    return out


def _strings(f: Fields, n: int) -> list[str]:
    return [bytes(v).decode() for v in f.get(n, [])]


def _object_meta(data: bytes) -> dict[str, Any]:
    f = fields(data)
    meta: dict[str, Any] = {}
    for number, name in (
        (1, "name"),
        (2, "generateName"),
        (3, "namespace"),
        (5, "uid"),
        (6, "resourceVersion"),
    ):
        if _str(f, number):
            meta[name] = _str(f, number)
    for number, name in ((11, "labels"), (12, "annotations")):
        if f.get(number):
            meta[name] = _map(f, number)
    if f.get(14):
        meta["finalizers"] = _strings(f, 14)
    owners = []
    for raw in f.get(13, []):
        o = fields(raw)
        ref: dict[str, Any] = {
            "apiVersion": _str(o, 5),
            "kind": _str(o, 1),
            "name": _str(o, 3),
            "uid": _str(o, 4),
        }
        if 6 in o:
            ref["controller"] = bool(o[6][-1])
        if 7 in o:
            ref["blockOwnerDeletion"] = bool(o[7][-1])
        owners.append(ref)
    if owners:
        meta["ownerReferences"] = owners
    return meta


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _configmap(f: Fields) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    if f.get(2):
        obj["data"] = _map(f, 2)
    if f.get(3):
        obj["binaryData"] = _map(f, 3, _b64)
    if f.get(4):
        obj["immutable"] = bool(f[4][-1])
    return obj


def _secret(f: Fields) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    if f.get(2):
        obj["data"] = _map(f, 2, _b64)
    if _str(f, 3):
        obj["type"] = _str(f, 3)
    if f.get(4):
        obj["stringData"] = _map(f, 4)
    if f.get(5):
        obj["immutable"] = bool(f[5][-1])
    return obj


def _namespace(f: Fields) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    spec = fields(bytes(f[2][-1])) if f.get(2) else {}
    if spec.get(1):
        obj["spec"] = {"finalizers": _strings(spec, 1)}
    return obj


def _service_account(f: Fields) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    if f.get(3):
        obj["imagePullSecrets"] = [{"name": _str(fields(raw), 1)} for raw in f[3]]
    if f.get(4):
        obj["automountServiceAccountToken"] = bool(f[4][-1])
    return obj


DECODERS: dict[tuple[str, str], Callable[[Fields], dict[str, Any]]] = {
    ("v1", "ConfigMap"): _configmap,
    ("v1", "Secret"): _secret,
    ("v1", "Namespace"): _namespace,
    ("v1", "ServiceAccount"): _service_account,
}


def decode(body: bytes) -> dict[str, Any]:
    """The object in a protobuf request body; 415 for kinds this simulator cannot read as protobuf."""
    if not body.startswith(_MAGIC):
        raise ApiError(400, "the protobuf body does not start with the Kubernetes magic number", "BadRequest")
    try:
        envelope = fields(body[len(_MAGIC) :])
        type_meta = fields(bytes(envelope[1][-1])) if envelope.get(1) else {}
        api_version, kind = _str(type_meta, 1), _str(type_meta, 2)
        decoder = DECODERS.get((api_version, kind))
        if decoder is None:
            raise ApiError(
                415,
                f"the simulator reads protobuf only for {', '.join(k for _, k in DECODERS)}; "
                f"send {kind or 'this object'} as application/json",
                "UnsupportedMediaType",
            )
        raw = fields(bytes(envelope[2][-1])) if envelope.get(2) else {}
        obj = {
            "apiVersion": api_version,
            "kind": kind,
            "metadata": _object_meta(bytes(raw[1][-1])) if raw.get(1) else {},
        }
        obj.update(decoder(raw))
        return obj
    except (ValueError, UnicodeDecodeError, IndexError) as exc:
        raise ApiError(400, f"the protobuf body could not be decoded: {exc}", "BadRequest") from None
