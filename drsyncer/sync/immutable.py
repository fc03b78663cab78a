"""Changes the API server refuses to apply in place, and how a Replication wants them handled.

`immutable_changes` compares the object drsyncer wants with the copy in the destination and names
the fields an update would be rejected for. Fields the destination defaults or allocates (a PVC's
default storage class, its volume mode) only count when the desired object sets them, so a
server-filled value is never mistaken for a change.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from drsyncer.api import keys
from drsyncer.sync.objects import Obj, group_of, labels_of
from drsyncer.sync.rules import ImmutableHandling, Rules, handling_from_label
from drsyncer.sync.transform import HEADLESS

_SELECTOR_KINDS = frozenset({("apps", "Deployment"), ("apps", "DaemonSet"), ("apps", "ReplicaSet")})


@dataclass(frozen=True)
class ImmutableChange:
    """An update that the API server would reject, with the handling this object gets."""

    fields: tuple[str, ...]  # dotted paths, e.g. ("spec.selector",)
    handling: ImmutableHandling
    decided_by: str  # "label", "resourceOverrides", "defaultHandling"

    def describe(self) -> str:
        return (
            f"immutable field(s) {', '.join(self.fields)} changed; "
            f"handling {self.handling.value} (from {self.decided_by})"
        )


def resolve_handling(source: Mapping[str, Any], rules: Rules) -> tuple[ImmutableHandling, str, str | None]:
    """Handling for one object: its label, else `resourceOverrides`, else `defaultHandling` (NoChange).

    Returns (handling, where it came from, warning about an unusable label value or None).
    """
    warning = None
    value = labels_of(source).get(keys.LABEL_IMMUTABLE_HANDLING)
    if value is not None:
        from_label = handling_from_label(value)
        if from_label is not None:
            return from_label, "label", None
        warning = (
            f"label {keys.LABEL_IMMUTABLE_HANDLING}={value!r} is not one of no-change, recreate, "
            "recreate-with-drain, partial-update, force-update; ignored"
        )
    override = rules.override_for(group_of(source), source.get("kind") or "")
    if override is not None:
        return override, "resourceOverrides", warning
    return rules.default_immutable_handling, "defaultHandling", warning


def immutable_changes(desired: Mapping[str, Any], existing: Mapping[str, Any]) -> tuple[str, ...]:
    """Dotted paths of fields whose change an in-place update of `existing` would be rejected for."""
    gk = (group_of(desired), desired.get("kind") or "")
    want: Mapping[str, Any] = desired.get("spec") or {}
    have: Mapping[str, Any] = existing.get("spec") or {}
    changed: list[str] = []
    if gk in _SELECTOR_KINDS:
        _differs(changed, "spec.selector", want.get("selector"), have.get("selector"))
    elif gk == ("apps", "StatefulSet"):
        _differs(changed, "spec.selector", want.get("selector"), have.get("selector"))
        _differs(changed, "spec.serviceName", want.get("serviceName") or "", have.get("serviceName") or "")
        _differs(
            changed,
            "spec.podManagementPolicy",
            want.get("podManagementPolicy") or "OrderedReady",
            have.get("podManagementPolicy") or "OrderedReady",
        )
        _differs(
            changed,
            "spec.volumeClaimTemplates",
            [_claim_template(t) for t in want.get("volumeClaimTemplates") or ()],
            [_claim_template(t) for t in have.get("volumeClaimTemplates") or ()],
        )
    elif gk == ("batch", "Job"):
        if want.get("manualSelector"):
            _differs(changed, "spec.selector", want.get("selector"), have.get("selector"))
        _differs(changed, "spec.template", _job_template(want), _job_template(have))
        _differs(changed, "spec.completionMode", want.get("completionMode"), have.get("completionMode"),
                 only_if_wanted=True)
    elif gk == ("", "PersistentVolumeClaim"):
        _pvc_changes(changed, want, have)
    elif gk == ("", "Service"):
        held = have.get("clusterIP")
        if held and (want.get("clusterIP") == HEADLESS) != (held == HEADLESS):
            changed.extend(("spec.clusterIP", "spec.clusterIPs"))
    elif gk in (("", "ConfigMap"), ("", "Secret")):
        if existing.get("immutable"):
            for field in ("data", "binaryData", "immutable"):
                _differs(changed, field, desired.get(field) or None, existing.get(field) or None)
        if gk[1] == "Secret":
            _differs(changed, "type", desired.get("type") or "Opaque", existing.get("type") or "Opaque")
    return tuple(changed)


def _differs(changed: list[str], path: str, want: Any, have: Any, *, only_if_wanted: bool = False) -> None:
    if only_if_wanted and want is None:
        return
    if want != have:
        changed.append(path)


def _pvc_changes(changed: list[str], want: Mapping[str, Any], have: Mapping[str, Any]) -> None:
    # the destination fills these when the desired object leaves them out; only a stated value counts
    if want.get("storageClassName") is not None and have.get("storageClassName") is not None:
        _differs(changed, "spec.storageClassName", want["storageClassName"], have["storageClassName"])
    if want.get("accessModes") and have.get("accessModes"):
        _differs(changed, "spec.accessModes", sorted(want["accessModes"]), sorted(have["accessModes"]))
    _differs(changed, "spec.volumeMode", want.get("volumeMode"), have.get("volumeMode") or "Filesystem",
             only_if_wanted=True)
    if want.get("volumeName") and have.get("volumeName"):
        _differs(changed, "spec.volumeName", want["volumeName"], have["volumeName"])
    wanted, held = _storage_request(want), _storage_request(have)
    if wanted is not None and held is not None and wanted < held:
        changed.append("spec.resources.requests.storage")  # a claim can grow, never shrink


def _storage_request(spec: Mapping[str, Any]) -> Decimal | None:
    value = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
    return parse_quantity(value) if value is not None else None


_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_QUANTITY = re.compile(r"([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(?:([eE][+-]?[0-9]+)|([a-zA-Z]*))")


def parse_quantity(value: Any) -> Decimal | None:
    """A Kubernetes resource quantity ("10Gi", "500M", "1e3", 2) as a number, or None if unreadable."""
    if isinstance(value, int | float):
        return Decimal(str(value))
    match = _QUANTITY.fullmatch(str(value).strip())
    if match is None:
        return None
    number, exponent, suffix = match.groups()
    try:
        base = Decimal(number)
        if exponent:
            return base.scaleb(int(exponent[1:]))
        if suffix in _BINARY:
            return base * _BINARY[suffix]
        if suffix in _DECIMAL:
            return base.scaleb(_DECIMAL[suffix])
    except InvalidOperation:
        return None
    return None


def _claim_template(template: Mapping[str, Any]) -> Obj:
    # what the API server compares, without the status and server metadata a read adds
    meta = template.get("metadata") or {}
    spec = dict(template.get("spec") or {})
    spec.setdefault("volumeMode", "Filesystem")
    return {"name": meta.get("name"), "labels": meta.get("labels") or {}, "spec": spec}


def _job_template(spec: Mapping[str, Any]) -> Obj:
    template = spec.get("template") or {}
    meta = template.get("metadata") or {}
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if k not in keys.JOB_CONTROLLER_LABELS}
    return {"labels": labels, "annotations": meta.get("annotations") or {}, "spec": template.get("spec")}
