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


REASON_CLUSTER_HEALTHY = "ClusterHealthy"
REASON_CLUSTER_UNHEALTHY = "ClusterUnhealthy"


def health_event(before: str | None, check: ClusterCheck) -> tuple[str, str, str] | None:
    """(reason, type, message) of the Event for a check whose health differs from `before` (the
    status's health when the check was written; None: never checked), or None: a change of health,
    or a first check that found trouble (a first Healthy is no news)."""
    if check.health == before or (before is None and check.healthy):
        return None
    message = f"{check.health} (was {before or 'not checked'}): {check.message}"
    if check.healthy:
        return REASON_CLUSTER_HEALTHY, "Normal", message
    return REASON_CLUSTER_UNHEALTHY, "Warning", message
