"""Periodic RemoteCluster health checks, written to `RemoteCluster.status`."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from drsyncer.api.meta import ConditionStatus, set_condition
from drsyncer.kube.client import ClusterClient
from drsyncer.kube.discovery import ResourceRef
from drsyncer.kube.errors import ApiError
from drsyncer.kube.health import ClusterCheck, check_cluster
from drsyncer.kube.remote_clusters import ClusterClients
from scheduler.status import current_conditions

log = logging.getLogger(__name__)


def health_status(obj: Mapping[str, Any], check: ClusterCheck, now: datetime) -> dict[str, Any]:
    """The `status` of a RemoteCluster after a check; condition times move only on a change."""
    status = obj.get("status") if isinstance(obj.get("status"), Mapping) else {}
    conditions = current_conditions(status or {})
    generation = (obj.get("metadata") or {}).get("generation")
    for result in check.conditions:
        conditions = set_condition(conditions, result.type, ConditionStatus(result.status), result.reason,
                                   result.message, now, generation)
    out: dict[str, Any] = {
        "health": check.health,
        "lastCheckTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "message": check.message,
        "conditions": [c.model_dump(mode="json", by_alias=True, exclude_none=True) for c in conditions],
    }
    if check.server_version:
        out["serverVersion"] = check.server_version
    if generation is not None:
        out["observedGeneration"] = generation
    return out


def check_remote_clusters(controller: ClusterClient, clients: ClusterClients, ref: ResourceRef,
                          objs: Iterable[Mapping[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Check each RemoteCluster and patch its status; returns the objects as written."""
    written = []
    for obj in objs:
        meta = obj.get("metadata") or {}
        namespace, name = str(meta.get("namespace") or "default"), str(meta.get("name") or "")
        try:
            check = check_cluster(clients, obj)
        except Exception as exc:  # an unreadable spec is a failed check, not a crashed checker
            log.warning("RemoteCluster %s/%s: check failed: %s", namespace, name, exc)
            continue
        try:
            written.append(controller.patch(ref, namespace, name, {"status": health_status(obj, check, now)},
                                            subresource="status"))
        except ApiError as exc:
            log.warning("RemoteCluster %s/%s: writing status failed: %s", namespace, name, exc)
    return written
