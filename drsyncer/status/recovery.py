"""Recovery points: how recent each destination's copies are, from a run's per-target status. Pure.

A destination is as stale as its stalest namespace, so its recovery point is the oldest last
successful sync over its namespaces, and none at all while one of them has never completed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError

from drsyncer.api.replication import Phase, RecoveryPoint, TargetStatus

_TIME: TypeAdapter[datetime | None] = TypeAdapter(datetime | None)


def last_success(target: TargetStatus, previous_targets: Iterable[Mapping[str, Any]]) -> datetime | None:
    """A target's last successful sync: this run's end when it completed, else what the previous
    status said for the same (cluster, source namespace, destination namespace); an unreadable
    previous value counts as none."""
    if target.phase is Phase.COMPLETED:
        return target.last_sync_time
    key = (target.cluster, target.source_namespace, target.destination_namespace)
    for old in previous_targets:
        if (old.get("cluster"), old.get("sourceNamespace"), old.get("destinationNamespace")) == key:
            try:
                return _TIME.validate_python(old.get("lastSuccessfulSyncTime"))
            except ValidationError:
                return None
    return None


def recovery_points(targets: Iterable[TargetStatus]) -> list[RecoveryPoint]:
    """One entry per destination cluster, sorted by name."""
    by_cluster: dict[str, list[TargetStatus]] = {}
    for target in targets:
        by_cluster.setdefault(target.cluster, []).append(target)
    points = []
    for cluster, group in sorted(by_cluster.items()):
        times = [t.last_successful_sync_time for t in group]
        points.append(
            RecoveryPoint(
                cluster=cluster,
                last_successful_sync_time=None
                if any(t is None for t in times)
                else min(t for t in times if t),
                namespaces=len(group),
                not_completed=sum(1 for t in group if t.phase is not Phase.COMPLETED),
                held_back=sum(t.sync_stats.held_back for t in group),
                failed=sum(t.sync_stats.failed for t in group),
            )
        )
    return points
