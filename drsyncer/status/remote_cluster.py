"""`RemoteCluster.status` after a health check. Pure: the object and the check in, the status out."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from drsyncer.api.meta import ConditionStatus, current_conditions, set_condition
from drsyncer.kube.health import ClusterCheck


def timestamp(now: datetime) -> str:
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")


def health_status(obj: Mapping[str, Any], check: ClusterCheck, now: datetime) -> dict[str, Any]:
    """The `status` of a RemoteCluster after a check; condition times move only on a change."""
    raw = obj.get("status")
    status: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    conditions = current_conditions(status)
    generation = (obj.get("metadata") or {}).get("generation")
    for result in check.conditions:
        conditions = set_condition(
            conditions,
            result.type,
            ConditionStatus(result.status),
            result.reason,
            result.message,
            now,
            generation,
        )
    out: dict[str, Any] = {
        "health": check.health,
        "lastCheckTime": timestamp(now),
        "message": check.message,
        "conditions": [c.model_dump(mode="json", by_alias=True, exclude_none=True) for c in conditions],
    }
    if check.server_version:
        out["serverVersion"] = check.server_version
    if generation is not None:
        out["observedGeneration"] = generation
    return out
