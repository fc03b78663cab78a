"""A Replication's `/status` from the results of its namespace tasks. Pure: records in, the status
merge patch out.

A run's status sums the latest result of every source namespace of the Replication, so tasks that
finish in any order on any worker add up to the same status (nothing is lost or counted twice).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from drsyncer.api import keys
from drsyncer.api.durations import format_duration
from drsyncer.api.meta import current_conditions, set_condition
from drsyncer.api.remotecluster import RemoteCluster
from drsyncer.api.replication import (
    LISTED_SCALES,
    LISTED_TARGETS,
    DeploymentScale,
    ErrorCategoryCount,
    Phase,
    Replication,
    ResourceGroupStatus,
    RetryConfig,
    RetryStatus,
    SyncCounts,
    SyncError,
    TargetStatus,
)
from drsyncer.api.resource_types import find_builtin
from drsyncer.api.schedule import every_interval, interval_run_slot, interval_slot, next_run, schedule_key
from drsyncer.errors import Category
from drsyncer.status import recovery
from drsyncer.status.remote_cluster import timestamp
from drsyncer.sync.result import CONFLICT_PREFIX, KindCounts, RunSummary, TargetResult, others_failed

REASON_COMPLETED = "SyncCompleted"
REASON_PARTIALLY_FAILED = "SyncPartiallyFailed"
REASON_FAILED = "SyncFailed"
REASON_HELD_BACK = "ImmutableChangesHeldBack"
REASON_UP_TO_DATE = "NothingHeldBack"
REASON_CONFLICTS = "OwnershipConflicts"
REASON_KEPT = "CopiesOfEarlierNamespaceKept"
REASON_PAUSED = "Paused"
PAUSED_MESSAGE = "spec.paused is true"
_HELD_BACK_NAMED = 5  # held-back copies named in the condition and the Event
RETRY_KEY = "retry"  # in `NamespaceRecord.extra`: the retry planned after this result


@dataclass(frozen=True)
class RetryPlan:
    """Another attempt at a namespace whose sync failed for a reason that may pass (`retryConfig`)."""

    attempt: int  # the attempt it will be: 1 for the first retry
    delay_s: float
    remaining: int  # retries left after this one
    at: float  # UNIX time it is due

    def to_dict(self) -> dict[str, Any]:
        return {"attempt": self.attempt, "delay_s": self.delay_s, "remaining": self.remaining, "at": self.at}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RetryPlan:
        return cls(int(data["attempt"]), float(data["delay_s"]), int(data["remaining"]), float(data["at"]))


def retryable(targets: Iterable[TargetResult]) -> bool:
    """Something failed that trying again soon may fix (throttling, a cluster briefly away, 5xx)."""
    return any(
        t.error_category is Category.RETRYABLE or any(e.category is Category.RETRYABLE for e in t.errors)
        for t in targets
    )


def plan_retry(
    config: RetryConfig,
    targets: Sequence[TargetResult],
    attempts_made: int,
    now: float,
    *,
    max_delay_s: float | None = None,
) -> RetryPlan | None:
    """The next attempt after attempt number `attempts_made` (0: the first run) failed, or None when
    nothing retryable failed or `maxRetries` are used up. `max_delay_s` caps the wait."""
    if not retryable(targets) or attempts_made >= config.max_retries:
        return None
    attempt = attempts_made + 1
    delay = config.backoff(attempt).total_seconds()
    if max_delay_s is not None:
        delay = min(delay, max_delay_s)
    return RetryPlan(attempt, delay, config.max_retries - attempt, now + delay)


def _retry_status(records: Iterable[NamespaceRecord]) -> RetryStatus | None:
    plans = [RetryPlan.from_dict(r.extra[RETRY_KEY]) for r in records if r.extra.get(RETRY_KEY)]
    if not plans:
        return None
    soonest = min(plans, key=lambda p: p.at)
    return RetryStatus(
        next_retry_time=_at(soonest.at),
        retries_remaining=soonest.remaining,
        backoff_duration=format_duration(soonest.delay_s),
    )


@dataclass
class NamespaceRecord:
    """What one namespace task did: the result per destination, and when, where and for which run."""

    source_namespace: str
    targets: list[TargetResult]
    started_at: float  # UNIX seconds
    finished_at: float
    worker: str = ""  # the Celery node that ran it
    task_id: str = ""
    run_id: str = ""
    trigger: str = ""
    generation: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    # (destination cluster, destination namespace) → UNIX time of its last completed sync, carried
    # from record to record (`last_successes`); None in a record of a version that kept it in the
    # status alone
    last_success: dict[tuple[str, str], float] | None = None

    def success_of(self, cluster: str, namespace: str) -> float | None:
        """When this record says the target last completed; None when never, or when a record of an
        older version does not say."""
        if self.last_success is not None:
            return self.last_success.get((cluster, namespace))
        done = any(
            (t.destination_cluster, t.destination_namespace) == (cluster, namespace)
            and t.phase is Phase.COMPLETED
            for t in self.targets
        )
        return self.finished_at if done else None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "source_namespace": self.source_namespace,
            "targets": [t.to_dict() for t in self.targets],
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "worker": self.worker,
            "task_id": self.task_id,
            "run_id": self.run_id,
            "trigger": self.trigger,
            "generation": self.generation,
            "extra": dict(self.extra),
        }
        if self.last_success is not None:
            out["last_success"] = [
                {"cluster": cluster, "namespace": namespace, "at": at}
                for (cluster, namespace), at in sorted(self.last_success.items())
            ]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NamespaceRecord:
        return cls(
            source_namespace=str(data["source_namespace"]),
            targets=[TargetResult.from_dict(t) for t in data.get("targets") or ()],
            started_at=float(data.get("started_at", 0.0)),
            finished_at=float(data.get("finished_at", 0.0)),
            worker=str(data.get("worker", "")),
            task_id=str(data.get("task_id", "")),
            run_id=str(data.get("run_id", "")),
            trigger=str(data.get("trigger", "")),
            generation=int(data.get("generation", 0)),
            extra=dict(data.get("extra") or {}),
            last_success=_successes(data.get("last_success")),
        )


def _successes(data: Iterable[Mapping[str, Any]] | None) -> dict[tuple[str, str], float] | None:
    if data is None:
        return None
    return {(str(s["cluster"]), str(s["namespace"])): float(s["at"]) for s in data}


def last_successes(
    targets: Iterable[TargetResult], finished_at: float, previous: NamespaceRecord | None
) -> dict[tuple[str, str], float]:
    """What a namespace's new record carries: per target, `finished_at` when it completed now, else
    its last completed sync as the namespace's `previous` record had it (absent when never, or when
    an older version's record does not say: the status read at the run's end then does)."""
    out = {}
    for t in targets:
        key = (t.destination_cluster, t.destination_namespace)
        if t.phase is Phase.COMPLETED:
            at: float | None = finished_at
        else:
            at = previous.success_of(*key) if previous is not None else None
        if at is not None:
            out[key] = at
    return out


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _counts(c: KindCounts) -> SyncCounts:
    return SyncCounts(
        total=c.total,
        created=c.created,
        updated=c.updated,
        unchanged=c.unchanged,
        pruned=c.pruned,
        skipped=c.skipped,
        failed=c.failed,
        held_back=c.held_back,
    )


def summary_of(replication: str, records: Iterable[NamespaceRecord], run_id: str = "") -> RunSummary:
    return RunSummary(
        replication, [t for r in sorted(records, key=lambda r: r.source_namespace) for t in r.targets], run_id
    )


def _target_error(target: TargetResult, when: datetime) -> SyncError | None:
    if target.error:
        return SyncError(
            message=target.error,
            category=target.error_category,
            time=when,
            cluster=target.destination_cluster,
        )
    if target.errors:
        first = target.errors[0]
        # the message names the object too: `drsyncer status` and kubectl show the message alone
        return SyncError(
            message=first.described + others_failed(target.errors),
            category=first.category,
            time=when,
            cluster=target.destination_cluster,
            resource=f"{first.kind}/{first.ref}",
        )
    return None


def next_sync_time(
    model: Replication, source: RemoteCluster | None, now: datetime, scheduled_start: datetime | None = None
) -> datetime | None:
    """When beat sends the Replication's next scheduled run (or Continuous full resync), strictly after
    `now`. Cron schedules fire on the cron. Interval schedules fire on the Replication's own grid, as
    beat's entries do (workers.beat.GridEntry): one interval after the slot that a run beat sent at
    `scheduled_start` stands for, or, for a run beat did not send, the next slot."""
    schedule = model.schedule(source)
    if schedule is not None and every_interval(schedule) is None:
        return next_run(schedule, now)
    interval = every_interval(schedule) if schedule is not None else model.background_sync_interval()
    if interval is None:
        return None
    key = schedule_key(model.kind, model.namespace, model.name)
    if scheduled_start is None:
        return interval_slot(key, interval, now) + interval
    nxt = interval_run_slot(key, interval, scheduled_start) + interval
    while nxt <= now:  # the run took longer than what was left of its interval
        nxt += interval
    return nxt


def run_status(
    records: Sequence[NamespaceRecord],
    *,
    replication: str,
    previous: Mapping[str, Any],
    generation: int,
    now: datetime,
    started_at: float | None = None,
    next_sync: datetime | None = None,
    paused: bool = False,
    request: str = "",
) -> dict[str, Any]:
    """The `status` merge patch after a run: `records` hold the latest result of each source namespace
    of the Replication; `previous` is the status as read (conditions and lastSuccessfulSyncTime carry
    over); `started_at` is when the run's first task started. `paused`: the Replication was paused
    while the run was under way; its outcome is recorded (counts, targets, `Synced`) but the phase
    stays Paused and `Ready` says why, as the watcher wrote them, and no next sync is due. `request`:
    the sync-now annotation's value the run answered (`lastSyncRequest`; other runs leave it as is)."""
    summary = summary_of(replication, records)
    phase = summary.phase
    # the run began with its first task; without that mark, with the earliest of the records
    first_start = started_at or min((r.started_at for r in records), default=now.timestamp())
    duration = max(0.0, now.timestamp() - first_start)
    ended = {r.source_namespace: _at(r.finished_at) for r in records}

    listed = recovery.listed_successes(previous.get("targets") or ())
    targets = []
    errors: list[SyncError] = []
    categories: dict[Category, ErrorCategoryCount] = {}
    scales = []
    for record in sorted(records, key=lambda r: r.source_namespace):
        when = ended[record.source_namespace]
        for t in record.targets:
            error = _target_error(t, when)
            if error is not None:
                errors.append(error)
            target = TargetStatus(
                cluster=t.destination_cluster,
                source_namespace=t.source_namespace,
                destination_namespace=t.destination_namespace,
                phase=t.phase,
                last_sync_time=when,
                last_sync_duration=format_duration(t.duration_s),
                sync_stats=_counts(t.totals),
                last_error=error,
            )
            recorded = record.success_of(t.destination_cluster, t.destination_namespace)
            target.last_successful_sync_time = recovery.last_success(target, recorded, listed)
            targets.append(target)
            found = [e.category for e in t.errors] + ([t.error_category] if t.error_category else [])
            for category in found:
                entry = categories.setdefault(category, ErrorCategoryCount(category=category))
                entry.count += 1
                entry.last_occurred = when
            scales += [
                DeploymentScale(
                    cluster=t.destination_cluster,
                    namespace=s.namespace,
                    kind=s.kind,
                    name=s.name,
                    original_replicas=s.original_replicas,
                    last_synced_at=when,
                )
                for s in t.deployment_scales
            ]

    groups = [
        ResourceGroupStatus(group_kind=group_kind(kind), **_counts(c).model_dump(exclude={"synced"}))
        for kind, c in sorted(summary.counts.items())
    ]
    synced_reason, synced_message = _synced(summary, phase, len(records))
    conditions = current_conditions(previous)
    conditions = set_condition(
        conditions,
        keys.CONDITION_SYNCED,
        phase is Phase.COMPLETED,
        synced_reason,
        synced_message,
        now,
        generation,
    )
    conditions = set_condition(
        conditions,
        keys.CONDITION_READY,
        phase is Phase.COMPLETED and not paused,
        REASON_PAUSED if paused else synced_reason,
        PAUSED_MESSAGE if paused else synced_message,
        now,
        generation,
    )
    held = held_back_message(summary)
    conflicts = conflicts_message(summary)
    kept = kept_message(summary)
    conditions = set_condition(
        conditions,
        keys.CONDITION_UP_TO_DATE,
        held is None and conflicts is None and kept is None,
        REASON_HELD_BACK
        if held
        else REASON_CONFLICTS
        if conflicts
        else REASON_KEPT
        if kept
        else REASON_UP_TO_DATE,
        "; ".join(m for m in (held, conflicts, kept) if m)
        or "every copy matches its source (nothing held back)",
        now,
        generation,
    )
    last_success = previous.get("lastSuccessfulSyncTime")
    if phase is Phase.COMPLETED:
        last_success = timestamp(now)

    def dump(model: Any) -> Any:
        return model.model_dump(mode="json", by_alias=True, exclude_none=True)

    shown = listed_targets(targets)
    patch: dict[str, Any] = {
        "observedGeneration": generation,
        "phase": Phase.PAUSED.value if paused else phase.value,
        "lastSyncTime": timestamp(now),
        "lastSuccessfulSyncTime": last_success,
        "nextSyncTime": timestamp(next_sync) if next_sync and not paused else None,
        "lastSyncDuration": format_duration(duration),
        "syncStats": dump(_counts(summary.totals)),
        "targets": [dump(t) for t in shown],
        "targetsOmitted": len(targets) - len(shown),
        "resourceGroups": [dump(g) for g in groups],
        "errorCategories": [dump(c) for c in categories.values()],
        # the most recent error; null clears the one of an earlier run
        "lastError": dump(errors[0]) if errors else None,
        # a retry still ahead of a namespace's latest result; null once none is
        "retryStatus": dump(retry) if (retry := _retry_status(records)) else None,
        "deploymentScales": [dump(s) for s in scales[:LISTED_SCALES]],
        "deploymentScalesOmitted": max(0, len(scales) - LISTED_SCALES),
        # over every target, listed or not
        "recoveryPoints": [dump(p) for p in recovery.recovery_points(targets)],
        "conditions": [dump(c) for c in conditions],
    }
    if request:
        patch["lastSyncRequest"] = request
    return patch


class _Target(Protocol):
    @property
    def phase(self) -> Phase: ...


_T = TypeVar("_T", bound=_Target)


def listed_targets(targets: Sequence[_T]) -> list[_T]:
    """What `status.targets`, and a webhook's `targets`, list of a run's targets (`TargetStatus` or
    `TargetResult`, in namespace order): those that did not complete first, in the same order, then
    the others; at most `LISTED_TARGETS`."""
    return sorted(targets, key=lambda t: t.phase is Phase.COMPLETED)[:LISTED_TARGETS]


def group_kind(count_key: str) -> str:
    """`Deployment` (a per-kind count key) → `Deployment.apps`; core kinds and custom resources
    (already `Kind.group`) stay as they are."""
    if "." in count_key:
        return count_key
    builtin = find_builtin(count_key)
    return f"{count_key}.{builtin.group}" if builtin is not None and builtin.group else count_key


def _synced(summary: RunSummary, phase: Phase, namespaces: int) -> tuple[str, str]:
    totals = summary.totals
    counts = (
        f"{namespaces} namespace(s) into {len(summary.targets)} target(s): {totals.created} created, "
        f"{totals.updated} updated, {totals.unchanged} unchanged, {totals.pruned} pruned, "
        f"{totals.skipped} skipped, {totals.failed} failed"
    )
    if phase is Phase.COMPLETED:
        return REASON_COMPLETED, counts
    failed = [t for t in summary.targets if t.phase is not Phase.COMPLETED]
    names = ", ".join(f"{t.destination_cluster}/{t.destination_namespace}" for t in failed[:5])
    reason = REASON_FAILED if phase is Phase.FAILED else REASON_PARTIALLY_FAILED
    return reason, f"{counts}; not completed: {names}"


def held_back_message(summary: RunSummary) -> str | None:
    """What the condition UpToDate=False and the Warning Event say when copies are held back: how
    many, and the first of them with the fields that differ; None when nothing is held back."""
    held = [(t, s) for t in summary.targets for s in t.skips if s.held_back]
    count = summary.totals.held_back
    if not count:
        return None
    named = "; ".join(
        f"{t.destination_cluster}: {s.kind} {s.namespace}/{s.name} "
        f"({', '.join(s.fields) or 'fields not named'})"
        for t, s in held[:_HELD_BACK_NAMED]
    )
    more = f"; and {count - _HELD_BACK_NAMED} more" if count > _HELD_BACK_NAMED else ""
    return (
        f"{count} destination cop{'y is' if count == 1 else 'ies are'} stale: the source changed "
        f"fields the destination will not change in place and the immutable handling is NoChange: "
        f"{named}{more}. Change the handling (label dr-syncer.io/immutable-handling or "
        "immutableResourceConfig) or recreate the copy"
    )


def conflicts_message(summary: RunSummary) -> str | None:
    """What the condition UpToDate=False and the Warning Event say when objects were not written
    because the destination object is not this Replication's copy: how many, the first of them and
    why; None when there is none."""
    conflicts = [(t, s) for t in summary.targets for s in t.skips if s.conflict]
    if not conflicts:
        return None
    named = "; ".join(
        f"{t.destination_cluster}: {s.kind} {s.ref} ({s.reason.removeprefix(CONFLICT_PREFIX)})"
        for t, s in conflicts[:_HELD_BACK_NAMED]
    )
    count = len(conflicts)
    more = f"; and {count - _HELD_BACK_NAMED} more" if count > _HELD_BACK_NAMED else ""
    return (
        f"{count} destination object{' is' if count == 1 else 's are'} not this Replication's and "
        f"{'was' if count == 1 else 'were'} not written: {named}{more}. Copy each object by one "
        "Replication into one namespace, or delete the destination object for this one to create it"
    )


def kept_message(summary: RunSummary) -> str | None:
    """What the condition UpToDate=False and the Warning Event say when copies whose source is gone
    were kept because they were made from an earlier source namespace of the same name (it was
    deleted and created again): how many, the first of them; None when there is none."""
    kept = [(t, s) for t in summary.targets for s in t.skips if s.kept]
    if not kept:
        return None
    named = "; ".join(f"{t.destination_cluster}: {s.kind} {s.ref}" for t, s in kept[:_HELD_BACK_NAMED])
    count = len(kept)
    more = f"; and {count - _HELD_BACK_NAMED} more" if count > _HELD_BACK_NAMED else ""
    return (
        f"{count} destination cop{'y was' if count == 1 else 'ies were'} kept, not pruned: made from an "
        f"earlier source namespace of the same name (deleted and created again since), whose objects "
        f"the new one does not have: {named}{more}. Restore the objects in the source namespace, or "
        "delete the copies that are no longer wanted"
    )


def stale_copies_events(summary: RunSummary) -> list[tuple[str, str, str]]:
    """(reason, type, message) of the Warning Events for copies a run left stale: held back by an
    immutable change, not written for an ownership conflict."""
    events = []
    if (held := held_back_message(summary)) is not None:
        events.append((REASON_HELD_BACK, "Warning", held))
    if (conflicts := conflicts_message(summary)) is not None:
        events.append((REASON_CONFLICTS, "Warning", conflicts))
    if (kept := kept_message(summary)) is not None:
        events.append((REASON_KEPT, "Warning", kept))
    return events


def running_status(previous: Mapping[str, Any], generation: int) -> dict[str, Any] | None:
    """The patch that marks a run as started (phase Running), or None when already so."""
    if previous.get("phase") == Phase.RUNNING.value:
        return None
    return {"phase": Phase.RUNNING.value, "observedGeneration": generation}


def event_for(summary: RunSummary) -> tuple[str, str, str]:
    """(reason, type, message) of the Event that reports a finished run."""
    phase = summary.phase
    _, message = _synced(summary, phase, len({t.source_namespace for t in summary.targets}))
    if phase is Phase.COMPLETED:
        return REASON_COMPLETED, "Normal", message
    errors = [t.error for t in summary.targets if t.error] + [str(e) for e in summary.errors]
    if errors:
        message += f"; first error: {errors[0]}"
    return REASON_FAILED, "Warning", message
