"""The `InvalidSpec` condition of a RemoteCluster, which the watcher owns. Pure: an object in, the
errors of its spec and the `/status` merge patch out (None when nothing changes, so a status write
never triggers another one).

The health conditions (`KubeconfigAvailable`, `KubeconfigValid`, `ClusterAvailable`) belong to the
health check; this only adds or clears `InvalidSpec`, keeping every other condition as it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from drsyncer.api import keys
from drsyncer.api.meta import ConditionStatus, current_conditions, find_condition, set_condition
from drsyncer.api.parse import InvalidSpec, parse_remote_cluster

REASON_INVALID = "InvalidSpec"
REASON_VALID = "SpecValid"


def spec_errors(obj: Mapping[str, Any]) -> list[str]:
    """The spec errors of a RemoteCluster, each starting with its field path; [] when it is valid."""
    try:
        parse_remote_cluster(obj)
    except InvalidSpec as exc:
        return list(exc.errors)
    return []


def message_of(errors: Sequence[str]) -> str:
    return "spec is invalid, Replications naming this cluster cannot use it until it is fixed: " + "; ".join(
        errors
    )


def spec_patch(obj: Mapping[str, Any], errors: Sequence[str], now: datetime) -> dict[str, Any] | None:
    """`InvalidSpec` True with the errors, or False once they are fixed (only when it was True: a
    RemoteCluster that was never invalid is not written); None when the status already says so."""
    raw = obj.get("status")
    status: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    before = current_conditions(status)
    current = find_condition(before, keys.CONDITION_INVALID_SPEC)
    generation = (obj.get("metadata") or {}).get("generation")
    if errors:
        message = message_of(errors)
        if current is not None and current.status is ConditionStatus.TRUE and current.message == message:
            return None
        conditions = set_condition(
            before, keys.CONDITION_INVALID_SPEC, True, REASON_INVALID, message, now, generation
        )
        patch: dict[str, Any] = {"health": "Unhealthy", "message": message}
    else:
        if current is None or current.status is not ConditionStatus.TRUE:
            return None
        conditions = set_condition(
            before, keys.CONDITION_INVALID_SPEC, False, REASON_VALID, "", now, generation
        )
        patch = {}
    patch["conditions"] = [c.model_dump(mode="json", by_alias=True, exclude_none=True) for c in conditions]
    return patch
