"""The watcher's Prometheus metrics (prefix `dr_syncer_`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from prometheus_client import Counter, Gauge

from scheduler.replication_state import PHASES, ReplicationState

LEADER = Gauge("dr_syncer_watcher_leader", "1 while this watcher replica holds the Lease, else 0")
ENTRIES = Gauge("dr_syncer_schedule_entries", "Schedule entries (Replication, source namespace) in redbeat")
RECONCILES = Counter("dr_syncer_watcher_reconciles", "Reconciles of the schedule with the Replications")
RECONCILE_ERRORS = Counter(
    "dr_syncer_watcher_reconcile_errors", "Objects or schedule writes a reconcile could not handle"
)
TRIGGERED = Counter("dr_syncer_watcher_triggered_runs", "Runs sent outside the schedule", ["trigger"])

# one series per Replication (label `namespace/name`, as the workers' `replication` label), kept by the
# leader from what it watches, for the chart's alerts (DrSyncerReplicationInvalid, ...NeverSynced)
REPLICATION_PHASE = Gauge(
    "dr_syncer_replication_phase",
    "1 for the Replication's current status.phase, 0 for the other phases",
    ["replication", "phase"],
)
REPLICATION_READY = Gauge(
    "dr_syncer_replication_ready", "1 while the Replication's Ready condition is True", ["replication"]
)
REPLICATION_INVALID = Gauge(
    "dr_syncer_replication_invalid",
    "1 while the Replication's spec is invalid (condition InvalidSpec)",
    ["replication"],
)
REPLICATION_AWAITING_FIRST_SYNC = Gauge(
    "dr_syncer_replication_awaiting_first_sync",
    "1 while a valid, unpaused, non-Manual Replication has no finished run (no status.lastSyncTime)",
    ["replication"],
)
REPLICATION_LAST_SUCCESS = Gauge(
    "dr_syncer_replication_last_success_timestamp_seconds",
    "status.lastSuccessfulSyncTime of the Replication (UNIX seconds); absent before its first success",
    ["replication"],
)
_REPLICATION_GAUGES = (REPLICATION_READY, REPLICATION_INVALID, REPLICATION_AWAITING_FIRST_SYNC)
# what each Replication's series were last set to: only those whose value moved are set again (a
# worker's status write after a run mostly moves the last success, if anything)
_exported: dict[str, ReplicationState] = {}


def export_replications(states: Mapping[str, ReplicationState]) -> None:
    """Set the per-Replication gauges to `states` (by `namespace/name`), dropping Replications gone."""
    for label in _exported.keys() - states.keys():
        drop_replication(label)
    for label, state in states.items():
        export_replication(label, state)


def drop_replication(label: str) -> None:
    """Remove one Replication's gauges (it was deleted)."""
    for phase in PHASES:
        REPLICATION_PHASE.remove(label, phase)
    for gauge in (*_REPLICATION_GAUGES, REPLICATION_LAST_SUCCESS):
        gauge.remove(label)
    _exported.pop(label, None)


def export_replication(label: str, state: ReplicationState) -> None:
    """Set one Replication's gauges (`label` is `namespace/name`)."""
    last = _exported.get(label)
    if last == state:
        return
    if last is None or last.phase != state.phase:
        for phase in PHASES:
            REPLICATION_PHASE.labels(label, phase).set(1 if state.phase == phase else 0)
    if last is None or last.ready != state.ready:
        REPLICATION_READY.labels(label).set(1 if state.ready else 0)
    if last is None or last.invalid != state.invalid:
        REPLICATION_INVALID.labels(label).set(1 if state.invalid else 0)
    if last is None or last.awaiting_first_sync != state.awaiting_first_sync:
        REPLICATION_AWAITING_FIRST_SYNC.labels(label).set(1 if state.awaiting_first_sync else 0)
    if state.last_success is None:
        REPLICATION_LAST_SUCCESS.remove(label)
    else:
        REPLICATION_LAST_SUCCESS.labels(label).set(state.last_success)
    _exported[label] = state


# one series per RemoteCluster, kept by the leader from the RemoteClusters' `status.health`, which the
# workers' check tasks write: one value per cluster, the latest check's, whichever worker ran it
REMOTE_CLUSTER_HEALTHY = Gauge(
    "dr_syncer_remote_cluster_healthy",
    "1 while the RemoteCluster's status.health (the latest check) is Healthy, 0 while it is Unhealthy "
    "or Unknown; absent before its first check",
    ["cluster"],
)
_health_exported: set[str] = set()


def _cluster_label(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace') or 'default'}/{meta.get('name') or ''}"


def export_remote_cluster(obj: Mapping[str, Any], deleted: bool = False) -> None:
    """Set (or, for a deleted one or one never checked, remove) one RemoteCluster's health gauge."""
    label = _cluster_label(obj)
    status = obj.get("status")
    health = status.get("health") if isinstance(status, Mapping) else None
    if deleted or not health:
        _drop_health(label)
        return
    REMOTE_CLUSTER_HEALTHY.labels(label).set(1 if health == "Healthy" else 0)
    _health_exported.add(label)


def export_remote_clusters(objs: Iterable[Mapping[str, Any]]) -> None:
    """The health gauges of exactly `objs` (every RemoteCluster watched); `[]` drops them all."""
    objs = list(objs)
    for obj in objs:
        export_remote_cluster(obj)
    for label in _health_exported - {_cluster_label(o) for o in objs}:
        _drop_health(label)


def _drop_health(label: str) -> None:
    if label in _health_exported:
        REMOTE_CLUSTER_HEALTHY.remove(label)
        _health_exported.discard(label)
