"""What kube-apiserver does to particular kinds on create and update: defaults, validation, immutability,
and the canonical form of the quantities in pod specs and claim specs (drsyncer.api.quantities).

Pure functions over plain dicts; each returns the object to store or raises the API's error. What an
update may not change comes from the table in `drsyncer.api.immutability`, read at the version the
simulator reports on /version, and is refused with kube-apiserver's 422 and wording.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from drsyncer.api.immutability import Version, refused
from drsyncer.api.quantities import canonical_quantities
from drsyncer.api.selectors import selector_string
from drsyncer.sim import defaulting
from drsyncer.sim.errors import ApiError, bad_request, invalid
from drsyncer.sim.resources import ResourceType
from drsyncer.sim.selectors import LABEL_KEY, LABEL_VALUE, labels_match, parse_label_selector

_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")

_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
    "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
_DNS1035_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
    "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)

# ConfigMaps and Secrets hold at most 1 MiB of data (keys included), as kube validates.
MAX_DATA_BYTES = 1024 * 1024

# Names in these resources are path segments, not DNS names (e.g. "system:controller:foo").
_PATH_SEGMENT_NAMES = {"roles", "rolebindings", "clusterroles", "clusterrolebindings"}


# apimachinery's TotalAnnotationSizeLimitB: keys and values of one object's annotations together
MAX_ANNOTATIONS_BYTES = 256 * 1024
# the keys a typed Secret must hold (pkg/apis/core/validation ValidateSecret); the docker ones hold JSON
_SECRET_KEYS = {
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/dockercfg": (".dockercfg",),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
}
_SECRET_JSON_KEYS = frozenset({".dockerconfigjson", ".dockercfg"})


def name_problem(rt: ResourceType, name: str) -> str | None:
    """Why `name` is not a valid name for this resource, or None."""
    if rt.plural in _PATH_SEGMENT_NAMES:
        if name in (".", ".."):
            return f"Invalid value: \"{name}\": may not be '{name}'"
        for bad in ("/", "%"):
            if bad in name:
                return f"Invalid value: \"{name}\": may not contain '{bad}'"
        return None
    if rt.plural == "namespaces":
        if len(name) > 63:
            return f'Invalid value: "{name}": must be no more than 63 characters'
        return None if _DNS1123_LABEL.match(name) else f'Invalid value: "{name}": {_LABEL_MSG}'
    if rt.plural == "services":
        if len(name) > 63:
            return f'Invalid value: "{name}": must be no more than 63 characters'
        return None if _DNS1035_LABEL.match(name) else f'Invalid value: "{name}": {_DNS1035_MSG}'
    if len(name) > 253:
        return f'Invalid value: "{name}": must be no more than 253 characters'
    return None if _DNS1123_SUBDOMAIN.match(name) else f'Invalid value: "{name}": {_SUBDOMAIN_MSG}'


def metadata_problems(obj: dict[str, Any]) -> list[tuple[str, str]]:
    causes: list[tuple[str, str]] = []
    metadata = obj.get("metadata") or {}
    labels = metadata.get("labels")
    if labels is not None and not isinstance(labels, dict):
        causes.append(("metadata.labels", "Invalid value: labels must be a map of strings"))
        labels = {}
    for key, value in (labels or {}).items():
        if not LABEL_KEY.match(key) or len(key.rsplit("/", 1)[-1]) > 63:
            causes.append(
                (
                    "metadata.labels",
                    f'Invalid value: "{key}": name part must consist of alphanumeric '
                    "characters, '-', '_' or '.', and must start and end with an alphanumeric character",
                )
            )
        if not isinstance(value, str) or not LABEL_VALUE.match(value) or len(value) > 63:
            causes.append(
                (
                    "metadata.labels",
                    f'Invalid value: "{value}": a valid label must be an empty string '
                    "or consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
                    "an alphanumeric character",
                )
            )
    annotations = metadata.get("annotations")
    if annotations is not None and (
        not isinstance(annotations, dict) or not all(isinstance(v, str) for v in annotations.values())
    ):
        causes.append(("metadata.annotations", "Invalid value: annotations must be a map of strings"))
    elif annotations and sum(len(k) + len(v) for k, v in annotations.items()) > MAX_ANNOTATIONS_BYTES:
        causes.append(
            ("metadata.annotations", f"Too long: may not be more than {MAX_ANNOTATIONS_BYTES} bytes")
        )
    return causes


def _kind_of(rt: ResourceType) -> tuple[str, str]:
    return rt.kind, rt.group


# -- Secrets ------------------------------------------------------------------------------------------


def _secret(rt: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
    name = obj["metadata"].get("name", "")
    data = obj.get("data")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise bad_request(
            f'Secret in version "v1" cannot be handled as a Secret: json: cannot unmarshal '
            f"{type(data).__name__} into Go struct field Secret.data of type map[string][]uint8"
        )
    for key, value in data.items():
        try:
            if not isinstance(value, str):
                raise ValueError
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise bad_request(
                'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at '
                f"input byte 0 (key {key!r})"
            ) from None
    string_data = obj.get("stringData")
    if string_data is not None and (
        not isinstance(string_data, dict) or not all(isinstance(v, str) for v in string_data.values())
    ):
        raise bad_request(
            'Secret in version "v1" cannot be handled as a Secret: json: cannot unmarshal into Go '
            "struct field Secret.stringData of type map[string]string"
        )
    result = obj
    if string_data:
        merged = dict(data)
        for key, value in string_data.items():
            merged[key] = base64.b64encode(str(value).encode()).decode()
        result = {k: v for k, v in obj.items() if k != "stringData"}
        result["data"] = merged
    elif "stringData" in obj:
        result = {k: v for k, v in obj.items() if k != "stringData"}
    causes = [
        (
            f"data[{k}]",
            f'Invalid value: "{k}": a valid config key must consist of alphanumeric '
            "characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for "
            "validation is '[-._a-zA-Z0-9]+')",
        )
        for k in result.get("data") or {}
        if not _CONFIG_KEY.match(k)
    ]
    if "type" not in result:
        result = {**result, "type": old.get("type", "Opaque") if old else "Opaque"}
    held = result.get("data") or {}
    for key in _SECRET_KEYS.get(str(result.get("type")), ()):
        if key not in held:
            causes.append((f"data[{key}]", "Required value"))
        elif key in _SECRET_JSON_KEYS:
            try:
                json.loads(base64.b64decode(held[key]))
            except ValueError as exc:  # the contents themselves are never echoed, as kube does
                causes.append((f"data[{key}]", f'Invalid value: "<secret contents redacted>": {exc}'))
    # the values' bytes only, not the keys (pkg/apis/core/validation ValidateSecret)
    size = sum(len(base64.b64decode(v)) for v in (result.get("data") or {}).values())
    if size > MAX_DATA_BYTES:
        causes.append(("data", f"Too long: may not be more than {MAX_DATA_BYTES} bytes"))
    if causes:
        raise invalid(*_kind_of(rt), name, causes)
    return result


def _decoded(value: object) -> bytes:
    """A binaryData value's bytes (a value that is no base64 counts as none: json decoding refuses it
    elsewhere)."""
    try:
        return base64.b64decode(value, validate=True) if isinstance(value, str) else b""
    except (binascii.Error, ValueError):
        return b""


def _configmap(rt: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
    causes = []
    for field in ("data", "binaryData"):
        value = obj.get(field)
        if value is not None and not isinstance(value, dict):
            raise bad_request(
                f'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot '
                f"unmarshal {type(value).__name__} into Go struct field ConfigMap.{field}"
            )
        for key, v in (value or {}).items():
            if not _CONFIG_KEY.match(key):
                causes.append(
                    (
                        f"{field}[{key}]",
                        f'Invalid value: "{key}": a valid config key must consist of '
                        "alphanumeric characters, '-', '_' or '.'",
                    )
                )
            if field == "data" and not isinstance(v, str):
                raise bad_request(
                    'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot '
                    f"unmarshal {type(v).__name__} into Go struct field ConfigMap.data of type "
                    "string"
                )
    # the values' bytes only (UTF-8 for data, decoded for binaryData), not the keys
    # (pkg/apis/core/validation ValidateConfigMap)
    size = sum(len(v.encode()) for v in (obj.get("data") or {}).values())
    size += sum(len(_decoded(v)) for v in (obj.get("binaryData") or {}).values())
    if size > MAX_DATA_BYTES:
        causes.append(("[]", f"Too long: may not be more than {MAX_DATA_BYTES} bytes"))
    if causes:
        raise invalid(*_kind_of(rt), obj["metadata"].get("name", ""), causes)
    return obj


# -- Services -----------------------------------------------------------------------------------------


class IPAllocator:
    """Hands out Service cluster IPs from 10.96.0.0/12 and node ports from 30000-32767, per cluster."""

    def __init__(self) -> None:
        self._network = ipaddress.ip_network("10.96.0.0/12")
        self._next_ip = 10
        self._used: set[str] = {"10.96.0.1"}
        self._next_port = 30000
        self._ports: set[int] = set()

    def allocate_ip(self) -> str:
        while True:
            address = str(self._network[self._next_ip])
            self._next_ip += 1
            if address not in self._used:
                self._used.add(address)
                return address

    def claim_ip(self, address: str) -> bool:
        if address in self._used:
            return False
        self._used.add(address)
        return True

    def release_ip(self, address: str | None) -> None:
        if address and address != "None":
            self._used.discard(address)

    def allocate_port(self) -> int:
        while self._next_port in self._ports:
            self._next_port += 1
        self._ports.add(self._next_port)
        return self._next_port

    def port_free(self, port: int) -> bool:
        return port not in self._ports

    def claim_port(self, port: int) -> None:
        self._ports.add(port)

    def release_ports(self, ports: Iterable[int]) -> None:
        self._ports.difference_update(ports)


def node_ports(spec: Mapping[str, Any] | None) -> set[int]:
    """The node ports a Service holds: each port's nodePort and the healthCheckNodePort."""
    spec = spec or {}
    held = {p["nodePort"] for p in spec.get("ports") or [] if isinstance(p.get("nodePort"), int)}
    if isinstance(spec.get("healthCheckNodePort"), int):
        held.add(spec["healthCheckNodePort"])
    return held


def _node_ports(
    name: str, rt: ResourceType, spec: dict[str, Any], old: dict[str, Any] | None, allocator: IPAllocator
) -> None:
    """Allocate node ports as kube-apiserver's Service REST storage does: requested ports must be free
    (422, or 500 for the health-check port), missing ones are kept from the old object or allocated,
    and a type without node ports drops them. Ports given up are released; claims are made only
    once every check has passed."""
    svc_type = spec.get("type")
    old_spec = (old or {}).get("spec") or {}
    held_before = node_ports(old_spec)
    with_node_ports = svc_type in ("NodePort", "LoadBalancer") and not (
        svc_type == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is False
    )
    causes: list[tuple[str, str]] = []
    ports = spec.get("ports") or []
    if not with_node_ports:
        for i, port in enumerate(ports):
            if "nodePort" in port and old is None and svc_type == "ClusterIP":
                causes.append(
                    (f"spec.ports[{i}].nodePort", "Forbidden: may not be used when `type` is 'ClusterIP'")
                )
            port.pop("nodePort", None)
    else:
        for i, port in enumerate(ports):
            wanted = port.get("nodePort")
            if isinstance(wanted, int) and wanted not in held_before and not allocator.port_free(wanted):
                causes.append(
                    (
                        f"spec.ports[{i}].nodePort",
                        f"Invalid value: {wanted}: provided port is already allocated",
                    )
                )
    if causes:
        raise invalid(*_kind_of(rt), name, causes)
    health = spec.get("healthCheckNodePort")
    wants_health = svc_type == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local"
    if not wants_health:
        spec.pop("healthCheckNodePort", None)
    elif (
        isinstance(health, int)
        and health != old_spec.get("healthCheckNodePort")
        and not allocator.port_free(health)
    ):
        raise ApiError(
            500,
            f"Internal error occurred: failed to allocate requested HealthCheck NodePort "
            f"{health}: provided port is already allocated",
            "InternalError",
            {
                "causes": [
                    {
                        "message": f"failed to allocate requested HealthCheck NodePort {health}: "
                        "provided port is already allocated"
                    }
                ]
            },
        )
    old_by_port = {p.get("port"): p.get("nodePort") for p in old_spec.get("ports") or []}
    for port in ports if with_node_ports else ():
        if "nodePort" not in port:
            kept = old_by_port.get(port.get("port"))
            port["nodePort"] = kept if isinstance(kept, int) else allocator.allocate_port()
        allocator.claim_port(port["nodePort"])
    if wants_health:
        if not isinstance(spec.get("healthCheckNodePort"), int):
            kept = old_spec.get("healthCheckNodePort")
            spec["healthCheckNodePort"] = kept if isinstance(kept, int) else allocator.allocate_port()
        allocator.claim_port(spec["healthCheckNodePort"])
    allocator.release_ports(held_before - node_ports(spec))


def _external_name_addresses(spec: dict[str, Any], old_spec: dict[str, Any] | None) -> list[tuple[str, str]]:
    """Settle the address fields of an ExternalName Service's `spec` (in place) as kube-apiserver does,
    and return the causes it refuses them with (`old_spec` is None on create).

    `clusterIPs[0]` fills an absent `clusterIP` (v1 defaults). A lone `clusterIP` gets `clusterIPs` on
    create, or on an update whose `clusterIPs` match the old ones; an update that states the old
    `clusterIP` without `clusterIPs` gets the old `clusterIPs` (normalizeClusterIPs). An update from a
    type with a cluster IP then drops the address pair, `ipFamilies` and `ipFamilyPolicy` where each is
    as it was, whether omitted or stated (dropTypeDependentFields). What is left is Forbidden, but for
    a lone `clusterIP` naming another address, which is stored (and not allocated). An ExternalName
    Service never shows `internalTrafficPolicy` (defaultOnRead)."""
    if not spec.get("clusterIP") and spec.get("clusterIPs"):
        spec["clusterIP"] = spec["clusterIPs"][0]
    ip, ips = spec.pop("clusterIP", None) or "", list(spec.pop("clusterIPs", None) or [])
    before = old_spec or {}
    old_ip, old_ips = before.get("clusterIP") or "", list(before.get("clusterIPs") or [])
    if old_spec is None:
        ips = ips or ([ip] if ip else [])
    elif old_ips and not ips and old_ip == ip:
        ips = old_ips
    elif ip and old_ip != ip and old_ips == ips:
        ips = [ip]
    switching = old_spec is not None and before.get("type", "ClusterIP") != "ExternalName"
    if switching and (ip, ips) == (old_ip, old_ips):
        ip, ips = "", []
    for field in ("ipFamilies", "ipFamilyPolicy"):
        if spec.get(field) in (None, []) or (switching and spec.get(field) == before.get(field)):
            spec.pop(field, None)
    causes = [
        (f"spec.{field}", "Forbidden: may not be set for ExternalName services")
        for field, present in (
            ("clusterIPs", ips),
            ("ipFamilies", "ipFamilies" in spec),
            ("ipFamilyPolicy", "ipFamilyPolicy" in spec),
        )
        if present
    ]
    if ip:
        spec["clusterIP"], spec["clusterIPs"] = ip, [ip]
    spec.pop("internalTrafficPolicy", None)
    return causes


def _service(
    rt: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None, allocator: IPAllocator
) -> dict[str, Any]:
    name = obj["metadata"].get("name", "")
    spec = dict(obj.get("spec") or {})
    svc_type = spec.setdefault("type", "ClusterIP")
    if spec.setdefault("sessionAffinity", "None") == "ClientIP":
        # SetDefaults_Service: a ClientIP affinity's timeout, 3 hours (DefaultClientIPServiceAffinitySeconds)
        config = dict(spec.get("sessionAffinityConfig") or {})
        client_ip = dict(config.get("clientIP") or {})
        client_ip.setdefault("timeoutSeconds", 10800)
        spec["sessionAffinityConfig"] = {**config, "clientIP": client_ip}
    ports = []
    for port in spec.get("ports") or []:
        port = dict(port)
        port.setdefault("protocol", "TCP")
        if "port" in port:
            port.setdefault("targetPort", port["port"])
        ports.append(port)
    if "ports" in spec:
        spec["ports"] = ports
    if svc_type in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if svc_type == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)
    causes: list[tuple[str, str]] = []
    if svc_type != "ExternalName" and not ports and spec.get("clusterIP") != "None":
        causes.append(("spec.ports", "Required value"))
    old_spec = (old or {}).get("spec") or {}
    # the cluster IP the old object holds; an ExternalName Service holds none, whatever it shows
    previous = old_spec.get("clusterIP") if old_spec.get("type", "ClusterIP") != "ExternalName" else None
    if svc_type == "ExternalName":
        causes += _external_name_addresses(spec, old_spec if old is not None else None)
    for i, port in enumerate(ports):
        if len(ports) > 1 and not port.get("name"):
            causes.append((f"spec.ports[{i}].name", "Required value"))
        target = port.get("targetPort")
        if isinstance(target, str) and not any("a" <= c <= "z" for c in target):  # an IANA_SVC_NAME
            causes.append(
                (
                    f"spec.ports[{i}].targetPort",
                    f'Invalid value: "{target}": must contain at least one letter (a-z)',
                )
            )
    requested = spec.get("clusterIP") or (spec.get("clusterIPs") or [None])[0]
    if svc_type != "ExternalName":
        if not requested and previous:
            requested = previous
        elif previous and requested != previous:
            causes.append(("spec.clusterIPs[0]", f'Invalid value: ["{requested}"]: may not change once set'))
    if causes:
        raise invalid(*_kind_of(rt), name, causes)
    _node_ports(name, rt, spec, old, allocator)
    if svc_type == "ExternalName":
        # the switch gives the address back (a clusterIP the update states is stored, not claimed)
        allocator.release_ip(previous)
    elif requested == "None":
        spec["clusterIP"] = "None"
        spec["clusterIPs"] = ["None"]
    else:
        if not requested:
            requested = allocator.allocate_ip()
        elif requested != previous:
            try:
                ipaddress.ip_address(requested)
            except ValueError:
                raise invalid(
                    *_kind_of(rt),
                    name,
                    [("spec.clusterIPs[0]", f'Invalid value: "{requested}": must be a valid IP address')],
                ) from None
            if not allocator.claim_ip(requested):
                raise invalid(
                    *_kind_of(rt),
                    name,
                    [
                        (
                            "spec.clusterIPs",
                            f'Invalid value: []string{{"{requested}"}}: '
                            "failed to allocate IP: provided IP is already allocated",
                        )
                    ],
                )
        spec["clusterIP"] = requested
        spec["clusterIPs"] = [requested]
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
    return {**obj, "spec": spec, "status": (old or {}).get("status") or {"loadBalancer": {}}}


# -- Namespaces and CRDs ------------------------------------------------------------------------------


def _namespace(rt: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
    name = obj["metadata"]["name"]
    labels = dict(obj["metadata"].get("labels") or {})
    labels["kubernetes.io/metadata.name"] = name
    spec = obj.get("spec") or {"finalizers": ["kubernetes"]}
    status = (old or {}).get("status") or {"phase": "Active"}
    return {**obj, "metadata": {**obj["metadata"], "labels": labels}, "spec": spec, "status": status}


def _crd(rt: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
    name = obj["metadata"].get("name", "")
    spec = obj.get("spec") or {}
    names = spec.get("names") or {}
    causes: list[tuple[str, str]] = []
    group, plural = spec.get("group", ""), names.get("plural", "")
    if not group:
        causes.append(("spec.group", "Required value"))
    if not plural:
        causes.append(("spec.names.plural", "Required value"))
    if not names.get("kind"):
        causes.append(("spec.names.kind", "Required value"))
    if plural and group and name != f"{plural}.{group}":
        causes.append(("metadata.name", f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group'))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        causes.append(
            (
                "spec.scope",
                f'Unsupported value: "{spec.get("scope", "")}": supported values: "Cluster", "Namespaced"',
            )
        )
    versions = spec.get("versions") or []
    if not versions or sum(1 for v in versions if v.get("storage")) != 1:
        causes.append(
            ("spec.versions", "Invalid value: must have exactly one version marked as storage version")
        )
    if causes:
        raise invalid(*_kind_of(rt), name, causes)
    spec = {**spec, "names": accepted_names(names)}
    if old is not None and old.get("status"):
        # the status belongs to the API server's controllers (and the status subresource)
        return {**obj, "spec": spec, "status": old["status"]}
    status = {
        "conditions": [],
        "acceptedNames": {"plural": "", "kind": ""},
        "storedVersions": [v.get("name") for v in versions if v.get("storage")],
    }
    return {**obj, "spec": spec, "status": status}


def accepted_names(names: dict[str, Any]) -> dict[str, Any]:
    return {
        **names,
        "singular": names.get("singular") or names["kind"].lower(),
        "listKind": names.get("listKind") or f"{names['kind']}List",
    }


def terminating(crd: dict[str, Any], timestamp: str) -> dict[str, Any]:
    """A CRD as the delete answers it: marked, with the cleanup finalizer and `Terminating` True."""
    conditions = [
        c for c in (crd.get("status") or {}).get("conditions") or [] if c.get("type") != "Terminating"
    ]
    conditions.append(
        {
            "type": "Terminating",
            "status": "True",
            "reason": "InstanceDeletionPending",
            "message": "CustomResourceDefinition marked for deletion; instance deletion pending",
            "lastTransitionTime": timestamp,
        }
    )
    meta = {
        **crd["metadata"],
        "deletionTimestamp": timestamp,
        "finalizers": ["customresourcecleanup.apiextensions.k8s.io"],
    }
    return {**crd, "metadata": meta, "status": {**(crd.get("status") or {}), "conditions": conditions}}


def is_established(crd: dict[str, Any]) -> bool:
    conditions = (crd.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)


def establish(crd: dict[str, Any], timestamp: str) -> dict[str, Any]:
    """The CRD as the API server's naming and establishing controllers leave it a moment after create:
    names accepted (defaults filled), `NamesAccepted` and `Established` True."""
    accepted = accepted_names((crd.get("spec") or {}).get("names") or {})
    conditions = [
        {
            "type": "NamesAccepted",
            "status": "True",
            "reason": "NoConflicts",
            "message": "no conflicts found",
            "lastTransitionTime": timestamp,
        },
        {
            "type": "Established",
            "status": "True",
            "reason": "InitialNamesAccepted",
            "message": "the initial names have been accepted",
            "lastTransitionTime": timestamp,
        },
    ]
    status = {**(crd.get("status") or {}), "conditions": conditions, "acceptedNames": accepted}
    return {**crd, "status": status}


# added at create by kube-apiserver's StorageObjectInUseProtection admission plugin; removed by
# kube-controller-manager's pvc-protection and pv-protection controllers once nothing uses the object
PROTECTION_FINALIZERS: dict[tuple[str, str], str] = {
    ("", "persistentvolumeclaims"): "kubernetes.io/pvc-protection",
    ("", "persistentvolumes"): "kubernetes.io/pv-protection",
}


def _protected(obj: dict[str, Any], finalizer: str) -> dict[str, Any]:
    finalizers = list(obj["metadata"].get("finalizers") or [])
    if finalizer in finalizers:
        return obj
    return {**obj, "metadata": {**obj["metadata"], "finalizers": [*finalizers, finalizer]}}


def _with_spec_defaults(obj: dict[str, Any], **defaults: str) -> dict[str, Any]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return obj
    return {**obj, "spec": {**spec, **{k: v for k, v in defaults.items() if spec.get(k) is None}}}


def _claim(rt: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
    # SetDefaults_PersistentVolumeClaimSpec, on every write
    obj = _with_spec_defaults(obj, volumeMode="Filesystem")
    if old is not None:
        return obj
    return {**_protected(obj, PROTECTION_FINALIZERS[rt.key]), "status": {"phase": "Pending"}}


def _volume(rt: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
    # SetDefaults_PersistentVolume, on every write
    obj = _with_spec_defaults(obj, volumeMode="Filesystem", persistentVolumeReclaimPolicy="Retain")
    if old is not None:
        return obj
    return {**_protected(obj, PROTECTION_FINALIZERS[rt.key]), "status": {"phase": "Pending"}}


def _pod(rt: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
    if old is not None:
        return obj
    # no scheduler and no kubelet: a Pod stays Pending, as on a control plane without nodes
    return {**obj, "status": {"phase": "Pending", "qosClass": "BestEffort"}}


def _workload(rt: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
    """A Deployment's, ReplicaSet's, StatefulSet's or DaemonSet's selector must be set, not empty, and
    select its own pod template (kube-apiserver 1.34, pkg/apis/apps/validation: ValidateDeploymentSpec
    and its twins, ValidatePodTemplateSpecForReplicaSet), in the API server's words."""
    spec = obj.get("spec") or {}
    selector = spec.get("selector")
    template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    causes: list[tuple[str, str]] = []
    if not isinstance(selector, dict):
        causes.append(("spec.selector", "Required value"))
    elif not selector.get("matchLabels") and not selector.get("matchExpressions"):
        shown = json.dumps(selector, separators=(",", ":"), sort_keys=True)
        # (a ReplicaSet's refusal says "deployment" too: ValidateReplicaSetSpec's words)
        noun = "deployment" if rt.kind == "ReplicaSet" else rt.kind.lower()
        causes.append(("spec.selector", f"Invalid value: {shown}: empty selector is invalid for {noun}"))
    elif not labels_match(
        parse_label_selector(selector_string(selector)), {"metadata": {"labels": template_labels}}
    ):
        shown = json.dumps(template_labels, separators=(",", ":"), sort_keys=True)
        causes.append(
            (
                "spec.template.metadata.labels",
                f"Invalid value: {shown}: `selector` does not match template `labels`",
            )
        )
    if causes:
        raise invalid(*_kind_of(rt), obj["metadata"].get("name", ""), causes)
    return obj


Prepare = Callable[[ResourceType, dict[str, Any], "dict[str, Any] | None"], dict[str, Any]]

PREPARE: dict[tuple[str, str], Prepare] = {
    ("", "secrets"): _secret,
    ("", "configmaps"): _configmap,
    ("", "namespaces"): _namespace,
    ("apiextensions.k8s.io", "customresourcedefinitions"): _crd,
    ("", "persistentvolumeclaims"): _claim,
    ("", "persistentvolumes"): _volume,
    ("", "pods"): _pod,
    ("apps", "deployments"): _workload,
    ("apps", "replicasets"): _workload,
    ("apps", "statefulsets"): _workload,
    ("apps", "daemonsets"): _workload,
}


def prepare(
    rt: ResourceType,
    obj: dict[str, Any],
    old: dict[str, Any] | None,
    allocator: IPAllocator,
    version: Version | None = None,
) -> dict[str, Any]:
    """Defaults and validation kube-apiserver applies to this kind; `old` is None on create.
    `version` (major, minor) decides what an update may not change (the newest known when None)."""
    if rt.key == ("", "services"):
        new = _service(rt, obj, old, allocator)
    elif rt.schema:
        return defaulting.apply_defaults(obj, rt.schema)
    else:
        # kube-apiserver stores every quantity of a pod spec or claim spec rewritten: "1024Mi" as "1Gi"
        obj = canonical_quantities(obj, rt.group, rt.kind)
        hook = PREPARE.get(rt.key)
        new = hook(rt, obj, old) if hook else obj
    if old is not None:
        refuse_in_place(rt, new, old, version)
    return new


def refuse_in_place(
    rt: ResourceType, new: dict[str, Any], old: dict[str, Any], version: Version | None = None
) -> None:
    """Raise the 422 kube-apiserver answers an update that changes what it keeps fixed (one cause per
    field it names, in its words: `spec: Forbidden: updates to statefulset spec for fields other
    than ...`, `roleRef: Invalid value: ...: cannot change roleRef`)."""
    found = refused(rt.group, rt.kind, version, new, old)
    if found:
        causes = list(dict.fromkeys((r.field, r.message) for r in found))
        raise invalid(*_kind_of(rt), new["metadata"].get("name", ""), causes)
