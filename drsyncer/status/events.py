"""Kubernetes Events (core/v1) about a Replication's runs. Pure: what to post, not posting it."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from drsyncer.status.remote_cluster import timestamp

REASON_STARTED = "SyncStarted"
COMPONENT = "drsyncer-worker"
WATCHER_COMPONENT = "drsyncer-watcher"
REASON_INVALID_SPEC = "InvalidSpec"
REASON_NAMESPACES_DROPPED = "SourceNamespacesDropped"
_MAX_MESSAGE = 1024  # the API server refuses longer Event messages


def event(
    involved: Mapping[str, Any],
    reason: str,
    message: str,
    *,
    type_: str = "Normal",
    now: datetime,
    instance: str = "",
    component: str = COMPONENT,
) -> dict[str, Any]:
    """An Event on `involved` (`apiVersion`, `kind`, `namespace`, `name`, `uid`) reported by
    `component`; a fresh name each time, so two workers never collide on one."""
    namespace = str(involved.get("namespace") or "default")
    name = str(involved.get("name") or "")
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{name}.{uuid.uuid4().hex[:16]}", "namespace": namespace},
        "involvedObject": {
            k: involved[k] for k in ("apiVersion", "kind", "namespace", "name", "uid") if involved.get(k)
        },
        "reason": reason,
        "message": message[:_MAX_MESSAGE],
        "type": type_,
        "count": 1,
        "firstTimestamp": timestamp(now),
        "lastTimestamp": timestamp(now),
        "source": {"component": component, **({"host": instance} if instance else {})},
        "reportingComponent": component,
        "reportingInstance": instance or component,
    }
