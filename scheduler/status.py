"""The part of a Replication's status the watcher owns: `InvalidSpec`, the Paused phase, the way back
to Pending, and no `nextSyncTime` while nothing is due. Pure: a read object in, the `/status` merge
patch out (None when nothing changes, so a status write never triggers another one).

Run outcomes (Completed, Failed, counts, `Synced`) belong to the workers' reporting step; the watcher
leaves them alone except when it takes the phase to Paused/Failed for a spec reason or back from it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any, NamedTuple

from drsyncer.api import keys
from drsyncer.api.meta import Condition, ConditionStatus, current_conditions, find_condition, set_condition
from drsyncer.api.replication import Phase, Replication, ReplicationMode, destinations_as_written
from drsyncer.status import replication as replication_status
from scheduler.entries import ReplicationRead

REASON_INVALID = "InvalidSpec"
REASON_VALID = "SpecValid"
REASON_PAUSED = replication_status.REASON_PAUSED
REASON_PENDING = "Pending"
REASON_NO_NAMESPACES = keys.REASON_NO_SOURCE_NAMESPACES
REASON_CLUSTERS_FOUND = "RemoteClustersFound"
REASON_CLUSTER_NOT_FOUND = "RemoteClusterNotFound"
REASON_CLUSTER_INVALID = "RemoteClusterInvalid"
_CLUSTER_REASONS = (REASON_CLUSTER_NOT_FOUND, REASON_CLUSTER_INVALID)
# the reasons of a False `Ready` the watcher wrote (any other is a run's outcome, the workers')
_WATCHER_READY = (*_CLUSTER_REASONS, REASON_NO_NAMESPACES, REASON_INVALID, REASON_PAUSED)


class ClusterProblem(NamedTuple):
    """A RemoteCluster a Replication names that cannot be used: `reason` is REASON_CLUSTER_NOT_FOUND
    or REASON_CLUSTER_INVALID; `message` names the field, the RemoteCluster and what follows."""

    reason: str
    message: str


def cluster_problems(
    model: Replication, existing: Collection[str], valid: Collection[str]
) -> tuple[ClusterProblem, ...]:
    """Each RemoteCluster `model` names (`spec.sourceCluster`, `spec.destinationCluster`,
    `spec.destinationClusters[i]`) that is not in `existing` or not in `valid`, both sets of
    `namespace/name`. A RemoteCluster is looked up in the Replication's own namespace. Pure.

    Without this, a name with no RemoteCluster behind it said nothing until a run failed that target
    (and a Manual Replication never runs until asked)."""
    named = [("spec.sourceCluster", model.spec.source_cluster)]
    if model.spec.destination_cluster:
        named.append(("spec.destinationCluster", model.spec.destination_cluster))
    named += [(f"spec.destinationClusters[{i}]", c) for i, c in enumerate(model.spec.destination_clusters)]
    found: list[ClusterProblem] = []
    for path, name in named:
        key = f"{model.namespace}/{name}"
        effect = (
            "nothing is copied until it is"
            if path == "spec.sourceCluster"
            else "the copies to it fail until it is"
        )
        if key not in existing:
            found.append(
                ClusterProblem(
                    REASON_CLUSTER_NOT_FOUND, f"{path}: RemoteCluster {key} not found; {effect} created"
                )
            )
        elif key not in valid:
            found.append(
                ClusterProblem(
                    REASON_CLUSTER_INVALID,
                    f"{path}: RemoteCluster {key} has an invalid spec (its InvalidSpec condition says "
                    f"why); {effect} fixed",
                )
            )
    return tuple(found)


def _same(a: Condition | None, b: Condition | None) -> bool:
    if a is None or b is None:
        return a is b
    return (a.status, a.reason, a.message, a.observed_generation) == (
        b.status,
        b.reason,
        b.message,
        b.observed_generation,
    )


def _reason(conditions: list[Condition], type_: str) -> str | None:
    found = find_condition(conditions, type_)
    return found.reason if found is not None else None


def status_patch(
    read: ReplicationRead,
    now: datetime,
    matched: bool | None = None,
    clusters: tuple[ClusterProblem, ...] = (),
) -> dict[str, Any] | None:
    """The `status` part of a merge patch for what the watcher knows, or None if already so.

    `matched` False: the Replication selects no source namespace (a `namespaceSelector` matching
    none), so no run will ever start; `Ready` says so until one matches. None: not known yet.

    `clusters`: the RemoteClusters it names that cannot be used (`cluster_problems`), told by the
    `RemoteClustersFound` condition, and by `Ready` unless a run's outcome already says it is not
    ready (the run's own failure names the cluster too; two writers taking turns on one condition
    would make it flap).

    `nextSyncTime` goes while the spec is invalid, the Replication paused or selecting no namespace:
    beat holds no entry then, so nothing is due. When it runs again, beat's new entries are due at
    once (workers.beat.GridEntry.due_at) and the run's report sets it."""
    status = read.obj.get("status")
    status = status if isinstance(status, Mapping) else {}
    before = current_conditions(status)
    generation = read.generation
    phase: str | None = status.get("phase")
    was_invalid = (
        c := find_condition(before, keys.CONDITION_INVALID_SPEC)
    ) is not None and c.status is ConditionStatus.TRUE

    conditions = before
    next_sync: Any = status.get("nextSyncTime")
    if read.model is None:
        message = "; ".join(read.errors)
        conditions = set_condition(
            conditions, keys.CONDITION_INVALID_SPEC, True, REASON_INVALID, message, now, generation
        )
        conditions = set_condition(
            conditions, keys.CONDITION_READY, False, REASON_INVALID, message, now, generation
        )
        new_phase: str | None = Phase.FAILED.value
        next_sync = None
    else:
        conditions = set_condition(
            conditions, keys.CONDITION_INVALID_SPEC, False, REASON_VALID, "", now, generation
        )
        clusters_message = "; ".join(p.message for p in clusters)
        conditions = set_condition(
            conditions,
            keys.CONDITION_REMOTE_CLUSTERS_FOUND,
            not clusters,
            clusters[0].reason if clusters else REASON_CLUSTERS_FOUND,
            clusters_message or "every RemoteCluster the spec names exists and is valid",
            now,
            generation,
        )
        ready = find_condition(before, keys.CONDITION_READY)
        new_phase = phase
        if read.paused:
            new_phase = Phase.PAUSED.value
            next_sync = None
            conditions = set_condition(
                conditions,
                keys.CONDITION_READY,
                False,
                REASON_PAUSED,
                replication_status.PAUSED_MESSAGE,
                now,
                generation,
            )
        else:
            back = phase is None or phase == Phase.PAUSED.value or was_invalid
            if back:
                new_phase = Phase.PENDING.value
            if matched is False:
                next_sync = None  # beat holds no entry of a Replication that selects no namespace
                source_name = read.model.spec.source_cluster
                conditions = set_condition(
                    conditions,
                    keys.CONDITION_READY,
                    False,
                    REASON_NO_NAMESPACES,
                    f"spec.namespaceSelector matches no namespace of source cluster "
                    f"{source_name}; nothing is synced until one does",
                    now,
                    generation,
                )
            elif clusters and (
                ready is None or ready.status is not ConditionStatus.FALSE or ready.reason in _WATCHER_READY
            ):
                conditions = set_condition(
                    conditions,
                    keys.CONDITION_READY,
                    False,
                    clusters[0].reason,
                    clusters_message,
                    now,
                    generation,
                )
            elif back or _reason(before, keys.CONDITION_READY) in (REASON_NO_NAMESPACES, *_CLUSTER_REASONS):
                waiting = f"waiting for the {'next' if status.get('lastSyncTime') else 'first'} sync"
                if read.model.spec.replication_mode is ReplicationMode.MANUAL:
                    waiting += f" (Manual mode: runs only when {keys.ANNOTATION_SYNC_NOW} is set)"
                conditions = set_condition(
                    conditions,
                    keys.CONDITION_READY,
                    ConditionStatus.UNKNOWN,
                    REASON_PENDING,
                    waiting,
                    now,
                    generation,
                )

    # one string for kubectl's Destinations column (a list prints as JSON there); an invalid spec's
    # names as written, so the column still says where the Replication meant to copy to
    destinations = ",".join(
        read.model.destinations() if read.model is not None else destinations_as_written(read.obj.get("spec"))
    )
    changed = (
        new_phase != phase
        or next_sync != status.get("nextSyncTime")
        or destinations != status.get("destinations")
        or any(not _same(find_condition(before, c.type), c) for c in conditions)
    )
    if not changed:
        return None
    patch: dict[str, Any] = {
        "conditions": [c.model_dump(mode="json", by_alias=True, exclude_none=True) for c in conditions],
        "observedGeneration": generation,
    }
    if new_phase != phase:
        patch["phase"] = new_phase
    if next_sync != status.get("nextSyncTime"):
        patch["nextSyncTime"] = next_sync  # None: a merge patch's null removes the field
    if destinations != status.get("destinations"):
        patch["destinations"] = destinations
    return patch


REASON_RUN_LOST = "RunLost"
RUN_LOST_MESSAGE = (
    "the run in progress was lost: Redis restarted without its data (or failed over to a "
    "replica that had not caught up) while it ran; the schedule was written again, so a "
    "scheduled Replication runs again at once; a Manual one needs the sync-now annotation"
)


def lost_run_patch(read: ReplicationRead, now: datetime) -> dict[str, Any] | None:
    """The `status` merge patch that ends a run Redis forgot: phase Running becomes Failed with
    `Synced=False` (reason `RunLost`), so no Replication stays Running forever. None when not Running.
    A worker that still finishes the run afterwards writes its outcome over this one."""
    status = read.obj.get("status")
    if not isinstance(status, Mapping) or status.get("phase") != Phase.RUNNING.value:
        return None
    conditions = set_condition(
        current_conditions(status),
        keys.CONDITION_SYNCED,
        False,
        REASON_RUN_LOST,
        RUN_LOST_MESSAGE,
        now,
        read.generation,
    )
    return {
        "phase": Phase.FAILED.value,
        "conditions": [c.model_dump(mode="json", by_alias=True, exclude_none=True) for c in conditions],
    }
