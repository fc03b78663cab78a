"""Recovery points: how recent each destination's copies are, from a run's per-target status. Pure.

A destination is as stale as its stalest namespace, so its recovery point is the oldest last
successful sync over its namespaces, and none at all while one of them has never completed. Each
target's last success travels in its namespace's run record, not in the status, which lists only
some of the targets (`drsyncer.api.replication.LISTED_TARGETS`): the recovery points are computed over all of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError

from drsyncer.api.replication import Phase, RecoveryPoint, TargetStatus

_TIME: TypeAdapter[datetime | None] = TypeAdapter(datetime | None)

TargetKey = tuple[str, str, str]  # (cluster, source namespace, destination namespace)


def listed_successes(previous_targets: Iterable[Mapping[str, Any]]) -> dict[TargetKey, datetime | None]:
    """The last successful sync of each target a status lists, by target; an unreadable value
    counts as none."""
    out: dict[TargetKey, datetime | None] = {}
    for old in previous_targets:
        cluster, source = old.get("cluster"), old.get("sourceNamespace")
        destination = old.get("destinationNamespace")
        if not (isinstance(cluster, str) and isinstance(source, str) and isinstance(destination, str)):
            continue
        try:
            when = _TIME.validate_python(old.get("lastSuccessfulSyncTime"))
        except ValidationError:
            when = None
        out.setdefault((cluster, source, destination), when)  # a target listed twice: the first counts
    return out


def last_success(
    target: TargetStatus, recorded: float | None, listed: Mapping[TargetKey, datetime | None]
) -> datetime | None:
    """A target's last successful sync: this run's end when it completed, else what its namespace's
    run record carried (`recorded`, UNIX seconds), else what the previous status listed for it
    (`listed_successes`; a record of an older version does not carry it)."""
    if target.phase is Phase.COMPLETED:
        return target.last_sync_time
    if recorded is not None:
        return datetime.fromtimestamp(recorded, UTC)
    return listed.get((target.cluster, target.source_namespace, target.destination_namespace))


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
