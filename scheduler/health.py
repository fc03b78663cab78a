"""Periodic RemoteCluster health checks, run by the workers.

The watcher only sends one `drsyncer.check_remote_cluster` task per RemoteCluster to the `health`
queue: a slow or unreachable cluster then never holds up the watcher, and checks never wait behind
big syncs (workers consume `health` beside `sync`). The worker writes `RemoteCluster.status`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from celery import Celery

from drsyncer.task_contract import HEALTH_QUEUE, TASK_CHECK_REMOTE_CLUSTER, health_check_kwargs

log = logging.getLogger(__name__)


def send_health_checks(app: Celery, objs: Iterable[Mapping[str, Any]]) -> list[str]:
    """One check task per RemoteCluster; returns the task ids. A send that fails is logged and skipped."""
    sent = []
    for obj in objs:
        meta = obj.get("metadata") or {}
        namespace, name = str(meta.get("namespace") or "default"), str(meta.get("name") or "")
        if not name:
            continue
        try:
            result = app.send_task(
                TASK_CHECK_REMOTE_CLUSTER, kwargs=health_check_kwargs(namespace, name), queue=HEALTH_QUEUE
            )
        except Exception as exc:  # Redis away: the next round sends again
            log.warning("RemoteCluster %s/%s: could not send the health check: %s", namespace, name, exc)
            continue
        sent.append(str(result.id))
    return sent
