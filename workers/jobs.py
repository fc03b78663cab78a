"""The work behind each task: unpack the job, check it is still wanted, call the drsyncer library,
record and report. One `Context` per worker process holds the clients (built after the fork)."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_process_shutdown
from redis import Redis

from drsyncer.api import keys
from drsyncer.api.remotecluster import RemoteCluster
from drsyncer.api.replication import Phase, Replication
from drsyncer.config import Settings
from drsyncer.errors import CategorisedError, Category
from drsyncer.kube import ClusterClient, ClusterClients, RequestCounters, audit
from drsyncer.kube.exec_credentials import ExecPolicy
from drsyncer.kube.health import check_cluster
from drsyncer.kube.kubeconfig import controller_client
from drsyncer.logs import redact
from drsyncer.plugins.chain import stop_on
from drsyncer.plugins.registry import installed
from drsyncer.redis_target import client_from_url
from drsyncer.status import events
from drsyncer.status.remote_cluster import health_event, health_status
from drsyncer.status.replication import (
    RETRY_KEY,
    NamespaceRecord,
    RetryPlan,
    event_for,
    last_successes,
    next_sync_time,
    plan_retry,
    run_status,
    running_status,
    stale_copies_events,
    summary_of,
)
from drsyncer.status.runs import RunStore, Superseded, owner_key
from drsyncer.status.writer import patch_status, post_event
from drsyncer.sync.cleanup import cleanup_destination
from drsyncer.sync.execute import Limits
from drsyncer.sync.result import TargetResult
from drsyncer.sync.run import not_synced, prepare_run, source_namespaces
from drsyncer.task_contract import (
    PERIODIC_TRIGGERS,
    QUEUED_TTL_S,
    SCHEDULED_RUN,
    SINGLE_NAMESPACE_TRIGGERS,
    ReplicationRef,
    SyncJob,
    queued_key,
)
from workers import metrics, webhooks
from workers.change_feed import RedisWatermarks
from workers.controller_reads import REMOTE_CLUSTERS, KeptRules, RemoteClusters, Replications
from workers.failures import SyncFailed, cleanup_failure, controller_unreachable, failure_of, first_error
from workers.guards import Drop, Hold, Mark, NamespaceLock, lock_key

log = logging.getLogger(__name__)

# a task's soft time limit, firing while a plugin's hook runs, ends the task (reported below, in
# `sync_job`), not only the object the hook was on
stop_on(SoftTimeLimitExceeded)

# one run of a schedule entry started: take it off the entry's count of runs waiting (workers/beat.py).
# The count is sends less starts, whichever comes first: a worker often starts a task before beat has
# added its send (beat adds a tick's sends once the tick has published them), so the count goes below 0
# for that moment and must not be cut to 0 there. At 0 nothing waits and no key is kept.
TAKE_QUEUED_LUA = """
local n = redis.call('DECR', KEYS[1])
if n == 0 then
  redis.call('DEL', KEYS[1])
else
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return n
"""


@dataclass
class Context:
    """Per-process clients: the controller cluster, RemoteCluster clients, Redis; and what the
    process keeps of the controller cluster's objects (workers.controller_reads)."""

    settings: Settings
    controller: ClusterClient
    clients: ClusterClients
    redis: redis.Redis
    runs: RunStore
    lock: NamespaceLock
    watermarks: RedisWatermarks
    worker: str = ""
    pid: int = field(default_factory=os.getpid)
    replications: Replications = field(init=False)
    remote_clusters: RemoteClusters = field(init=False)
    rules: KeptRules = field(init=False)

    def __post_init__(self) -> None:
        self.replications = Replications(self.controller)
        self.remote_clusters = RemoteClusters(self.controller)
        self.rules = KeptRules()

    @classmethod
    def build(cls, settings: Settings, worker: str = "") -> Context:
        installed()  # the plugins: already loaded before the fork by `drsyncer worker`, else now
        counters = RequestCounters()
        metrics.observe_requests(counters)
        controller = controller_client(
            settings.kubeconfig or None, settings.kube_context or None, counters=counters
        )
        plugins = ExecPolicy.of(settings.exec_plugins, settings.exec_plugin_timeout)
        clients = ClusterClients(
            controller,
            redis_url=settings.redis_url,
            counters=counters,
            exec_policy=plugins,
            max_connections=settings.write_concurrency,
            background_rechecks=True,
        )
        return cls.assemble(settings, controller, client_from_url(settings.redis_url), clients, worker)

    @classmethod
    def assemble(
        cls,
        settings: Settings,
        controller: ClusterClient,
        connection: Redis,
        clients: ClusterClients | None = None,
        worker: str = "",
    ) -> Context:
        """A context around a controller client and a Redis connection made elsewhere (`build` makes
        them from the settings); `clients` defaults to RemoteCluster clients sharing the rate budgets
        in `settings.redis_url`."""
        return cls(
            settings,
            controller,
            clients or ClusterClients(controller, redis_url=settings.redis_url),
            connection,
            RunStore(connection),
            NamespaceLock(connection, settings.task_time_limit),
            RedisWatermarks(connection),
            worker,
        )

    def close(self) -> None:
        self.remote_clusters.close()
        self.watermarks.close()
        self.clients.close()
        self.controller.close()
        self.redis.close()


_context: Context | None = None
_context_lock = threading.Lock()


def context(settings: Settings, worker: str = "") -> Context:
    """This process's context; built on first use after a fork, never shared across one."""
    global _context
    with _context_lock:
        if _context is None or _context.pid != os.getpid():
            _context = Context.build(settings, worker)
        return _context


def stop_feeds(**_: Any) -> None:
    """End the change feeds this process runs, deleting their leases: a pool process that stops
    (SIGTERM) would otherwise leave them trusted until the leases lapse (`change_feed.LEASE_S`), and a
    scheduled run elsewhere in that time would report unchanged a namespace changed after the feeds
    stopped. Connected to Celery's `worker_process_shutdown`, sent in a pool process as it exits; a
    frozen Redis cannot hold the exit beyond the worker's shutdown deadline (workers.shutdown)."""
    with _context_lock:
        ctx = _context if _context is not None and _context.pid == os.getpid() else None
    if ctx is not None:
        ctx.watermarks.close()


worker_process_shutdown.connect(stop_feeds, weak=False)


# -- reading the controller cluster ----------------------------------------------------------------


def read_metadata(ctx: Context, ref: ReplicationRef) -> dict[str, Any] | None:
    """The object's metadata (`PartialObjectMetadata`), None when it is gone."""
    return ctx.controller.get(
        ctx.controller.resolve(ref.resource), ref.namespace, ref.name, metadata_only=True
    )


# -- sync ------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What a task did, as its (JSON) return value."""

    dropped: Drop | None = None
    record: NamespaceRecord | None = None
    reported: bool = False
    retry: RetryPlan | None = None
    failure: SyncFailed | None = None  # what ends the task when the namespace did not sync completely

    def to_dict(self) -> dict[str, Any]:
        """A short summary (the full record is in Redis): Celery logs and stores the return value."""
        out: dict[str, Any] = {
            "dropped": self.dropped.value if self.dropped else None,
            "reported": self.reported,
            "retry_in_s": self.retry.delay_s if self.retry else None,
        }
        if self.record is not None:
            summary = summary_of("", [self.record])
            out.update(
                source_namespace=self.record.source_namespace,
                worker=self.record.worker,
                phase=summary.phase.value,
                totals=summary.totals.to_dict(),
            )
        return out


def run_sync(ctx: Context, job: SyncJob, task_id: str) -> Outcome:
    """One source namespace into every destination, then the run's status when this was its last task."""
    ref = job.replication
    taken_from_queue(ctx.redis, job)
    try:
        model, reason = ctx.replications.check(ref)
    except CategorisedError as exc:  # the API server away, its credentials refused
        failure = controller_unreachable(f"{ref.kind} {ref.label}, namespace {job.source_namespace}", exc)
        log.warning("%s", failure)
        raise failure from None
    if reason is not None or model is None:
        drop = reason or Drop.INVALID
        log.info("%s %s, %s: dropped (%s)", ref.kind, ref.label, job.source_namespace, drop.value)
        metrics.TASKS_DROPPED.labels(drop.value).inc()
        return Outcome(dropped=drop)
    key = lock_key(ref, job.source_namespace)
    owner = owner_key(ref.kind, ref.namespace, ref.name, ref.uid)
    started = time.time()
    # the first task of the run to take its lock also marks the run started (RunStore.begin)
    mark = Mark(*ctx.runs.start_mark(owner, job.run_key, started), ctx.runs.ttl_s)
    with ctx.lock.held(key, task_id, mark) as held, audit.acting_for(_actor(job, task_id)):
        if not held:
            metrics.TASKS_DROPPED.labels(Drop.BUSY.value).inc()
            return Outcome(dropped=Drop.BUSY)
        return _sync_locked(ctx, job, task_id, model, started, held, key)


def taken_from_queue(client: Redis, job: SyncJob) -> None:
    """A run beat sent no longer waits in the queue, whatever becomes of it now: beat may send its
    entry's next one (workers/beat.py)."""
    entry = job.entry
    if entry is None:
        return
    try:
        client.register_script(TAKE_QUEUED_LUA)(keys=[queued_key(entry)], args=[QUEUED_TTL_S])
    except redis.RedisError as exc:
        log.warning(
            "schedule entry %s: its run was not taken off the runs waiting (%s); beat sends it no other "
            "run for up to %d s or until the queue is empty",
            entry,
            exc,
            QUEUED_TTL_S,
        )


def _actor(job: SyncJob, task_id: str) -> audit.Actor:
    """Who the writes of a task are for, in the audit log."""
    ref = job.replication
    return audit.Actor(
        replication=f"{ref.kind} {ref.namespace}/{ref.name}",
        run=job.run_key,
        task=task_id,
        component="worker",
    )


def _sync_locked(
    ctx: Context, job: SyncJob, task_id: str, model: Replication, started: float, held: Hold, key: str
) -> Outcome:
    """The sync under the namespace's lock `key`; the run record that ends it releases the lock."""
    ref = job.replication
    owner = owner_key(ref.kind, ref.namespace, ref.name, ref.uid)
    if held.marked:
        _report_started(ctx, job)
    source_rc: RemoteCluster | None = None
    results: list[TargetResult] = []
    source: ClusterClient | None = None
    try:
        source_obj, source_rc = ctx.remote_clusters.read(ref.namespace, job.source_cluster)
        source = ctx.clients.get(source_obj)
    except CategorisedError as exc:
        message = CategorisedError(exc.category, f"source cluster {job.source_cluster}: {exc.message}")
        results = [
            not_synced(t.cluster, job.source_namespace, t.namespace, message, of_source=True)
            for t in job.targets
        ]
    if source is not None:

        def connect(cluster: str) -> ClusterClient:
            return ctx.clients.get(ctx.remote_clusters.read(ref.namespace, cluster)[0])

        prepared = prepare_run(
            ctx.rules.of(model, source_rc),
            source,
            [(job.source_namespace, t.cluster, t.namespace) for t in job.targets],
            connect,
        )
        try:
            results = prepared.sync(
                limits=Limits(concurrency=ctx.settings.write_concurrency),
                watermarks=ctx.watermarks,
                replication_uid=ref.uid,
                # a run that was asked for follows a change the feeds may not have delivered yet
                trusted=job.trigger in PERIODIC_TRIGGERS,
            )
        except SoftTimeLimitExceeded:
            # reported like any failure, so the run still completes; the next run continues the work
            results = prepared.failed(
                CategorisedError(
                    Category.RETRYABLE,
                    "the sync did not finish within the task time limit "
                    "(DRSYNCER_TASK_TIME_LIMIT); the next run continues where it stopped",
                )
            )
    finished = time.time()
    # each target's last completed sync lives in the records, not in the status, which lists only
    # some targets: one that did not complete now keeps the previous record's (read only then: a
    # namespace whose targets all completed needs nothing of it, and costs no Redis round trip)
    unfinished = any(t.phase is not Phase.COMPLETED for t in results)
    previous = ctx.runs.records(owner, [job.source_namespace]) if unfinished else []
    record = NamespaceRecord(
        job.source_namespace,
        results,
        started,
        finished,
        worker=ctx.worker,
        task_id=task_id,
        run_id=job.run_key,
        trigger=job.trigger,
        generation=ref.generation,
        last_success=last_successes(results, finished, previous[0] if previous else None),
    )
    retry = plan_retry(
        model.spec.retry_config,
        results,
        job.attempt,
        finished,
        max_delay_s=ctx.settings.visibility_timeout / 2,
    )
    if retry is not None:
        record.extra[RETRY_KEY] = retry.to_dict()
    expected = (
        [job.source_namespace]
        if job.trigger in SINGLE_NAMESPACE_TRIGGERS
        else _source_namespaces(model, source)
    )
    # the namespace is synced: the lock goes with the record, and the run's report needs no lock
    claim = ctx.runs.finish(owner, job.run_key, record, expected, release=(key, task_id))
    held.released = True
    if isinstance(claim, Superseded):
        log.warning(
            "%s %s, %s: task %s was delivered again while this worker was stopped, and that "
            "delivery finished the work; this one's result is not reported",
            ref.kind,
            ref.label,
            job.source_namespace,
            task_id,
        )
        metrics.TASKS_DROPPED.labels(Drop.SUPERSEDED.value).inc()
        return Outcome(dropped=Drop.SUPERSEDED)
    metrics.record_targets(results)
    metrics.SYNC_DURATION.labels(ref.label).observe(finished - started)
    outcome = Outcome(record=record, retry=retry, failure=failure_of(job, record, retry))
    if outcome.failure is not None:
        log.warning(
            "%s %s, %s: %s: %s",
            ref.kind,
            ref.label,
            job.source_namespace,
            type(outcome.failure).__name__,
            outcome.failure,
        )
    if claim is not None:
        everything = set(_source_namespaces(model, source))
        # every record in one read: the run's report and the namespaces the Replication dropped
        records = ctx.runs.records(owner)
        ctx.runs.forget(owner, [r.source_namespace for r in records if r.source_namespace not in everything])
        outcome.reported = _report_finished(
            ctx,
            job,
            model,
            source_rc,
            [r for r in records if r.source_namespace in everything],
            claim.started_at,
        )
    return outcome


def _source_namespaces(model: Replication, source: ClusterClient | None) -> list[str]:
    """The source namespaces the Replication syncs now (a selector is resolved on the source)."""
    known: dict[str, dict[str, str]] | None = None
    if source is not None:
        try:
            known = source_namespaces(model, source)
        except CategorisedError as exc:
            log.warning("listing the namespaces of %s failed: %s", source.name, exc)
    return [src for src, _ in model.namespace_pairs(known)]


def _report_started(ctx: Context, job: SyncJob) -> None:
    ref = job.replication
    api_ref = ctx.controller.resolve(ref.resource)
    try:
        patch_status(
            ctx.controller,
            api_ref,
            ref.namespace,
            ref.name,
            lambda obj: running_status(obj.get("status") or {}, ref.generation),
            uid=ref.uid,
        )
    except CategorisedError as exc:
        log.warning("%s %s: writing phase Running failed: %s", ref.kind, ref.label, exc)
    post_event(
        ctx.controller,
        events.event(
            {
                "apiVersion": keys.API_VERSION,
                "kind": ref.kind,
                "namespace": ref.namespace,
                "name": ref.name,
                "uid": ref.uid,
            },
            events.REASON_STARTED,
            f"sync started ({job.trigger})",
            now=datetime.now(UTC),
            instance=ctx.worker,
            series=job.trigger,  # one Event per trigger, counting its runs
        ),
    )


def _involved(live: Mapping[str, Any]) -> dict[str, Any]:
    meta = live.get("metadata") or {}
    return {
        "apiVersion": live.get("apiVersion") or keys.API_VERSION,
        "kind": live.get("kind"),
        "namespace": meta.get("namespace"),
        "name": meta.get("name"),
        "uid": meta.get("uid"),
    }


def _report_finished(
    ctx: Context,
    job: SyncJob,
    model: Replication,
    source: RemoteCluster | None,
    records: Sequence[NamespaceRecord],
    started_at: float | None,
) -> bool:
    """Write the run's status once and post its Event; True when the status was written."""
    ref = job.replication
    now = datetime.now(UTC)
    api_ref = ctx.controller.resolve(ref.resource)
    # runs beat sends share the run key SCHEDULED_RUN; their first task started as beat sent them
    sent = datetime.fromtimestamp(started_at, UTC) if started_at and job.run_key == SCHEDULED_RUN else None
    next_sync = next_sync_time(model, source, now, sent)

    previous: dict[str, Any] = {}  # the status before this run: webhooks tell a recovery by it

    def build(obj: Mapping[str, Any]) -> dict[str, Any]:
        previous.clear()
        previous.update(obj.get("status") or {})
        return run_status(
            records,
            replication=ref.label,
            previous=obj.get("status") or {},
            generation=ref.generation,
            now=now,
            started_at=started_at,
            next_sync=next_sync,
            # paused while the run was under way: the watcher's Paused stands
            paused=(obj.get("spec") or {}).get("paused") is True,
            request=job.request,
        )

    try:
        written = patch_status(ctx.controller, api_ref, ref.namespace, ref.name, build, uid=ref.uid)
    except CategorisedError as exc:
        log.warning("%s %s: writing the run's status failed: %s", ref.kind, ref.label, exc)
        written = None
    summary = summary_of(ref.label, records, job.run_key)
    phase = summary.phase
    metrics.RUNS.labels(ref.label, phase.value).inc()
    if phase is Phase.COMPLETED:
        metrics.LAST_SUCCESS.labels(ref.label).set(now.timestamp())
    if written is not None:
        reason, type_, message = event_for(summary)
        post_event(
            ctx.controller,
            events.event(_involved(written), reason, message, type_=type_, now=now, instance=ctx.worker),
        )
        webhooks.send_run_events(written, summary, previous)
    # a stale copy must be noticed even though the run Completed
    for stale_reason, stale_type, stale_message in stale_copies_events(summary):
        log.warning("%s %s: run %s: %s", ref.kind, ref.label, job.run_label, stale_message)
        if written is not None:
            post_event(
                ctx.controller,
                events.event(
                    _involved(written),
                    stale_reason,
                    stale_message,
                    type_=stale_type,
                    now=now,
                    instance=ctx.worker,
                ),
            )
    if phase is Phase.COMPLETED:
        log.info(
            "%s %s: run %s %s (%d namespace(s))",
            ref.kind,
            ref.label,
            job.run_label,
            phase.value,
            len(records),
        )
    else:
        log.warning(
            "%s %s: run %s %s (%d namespace(s)): %s",
            ref.kind,
            ref.label,
            job.run_label,
            phase.value,
            len(records),
            first_error(summary.targets),
        )
    return written is not None


# -- cleanup ---------------------------------------------------------------------------------------


def run_cleanup(ctx: Context, job: SyncJob, task_id: str) -> dict[str, Any]:
    """Delete the copies of a deleted Replication's source namespace from every destination; raises
    `CleanupFailed` (the task's FAILURE) when a destination could not be cleaned up."""
    ref = job.replication
    live = read_metadata(ctx, ref)
    live_uid = ((live or {}).get("metadata") or {}).get("uid")
    if live is not None and live_uid != ref.uid:
        # a new object took the name: the copies carry its name in their marks and are now its own
        metrics.TASKS_DROPPED.labels(Drop.DELETED.value).inc()
        return {"dropped": Drop.DELETED.value}
    results: list[TargetResult] = []
    with (
        ctx.lock.held(lock_key(ref, job.source_namespace), task_id) as held,
        audit.acting_for(_actor(job, task_id)),
    ):
        if not held:
            metrics.TASKS_DROPPED.labels(Drop.BUSY.value).inc()
            return {"dropped": Drop.BUSY.value}
        for target in job.targets:
            try:
                client = ctx.clients.get(ctx.remote_clusters.read(ref.namespace, target.cluster)[0])
            except CategorisedError as exc:
                results.append(not_synced(target.cluster, job.source_namespace, target.namespace, exc))
                continue
            results.append(
                cleanup_destination(
                    client, target.namespace, replication=ref.label, source_namespace=job.source_namespace
                )
            )
    metrics.record_targets(results)
    for result in results:
        failed = result.phase is not Phase.COMPLETED
        log.log(
            logging.WARNING if failed else logging.INFO,
            "cleanup of %s %s, %s in %s/%s: %s, %d deleted%s",
            ref.kind,
            ref.label,
            job.source_namespace,
            result.destination_cluster,
            result.destination_namespace,
            result.phase.value,
            result.totals.pruned,
            f" ({first_error([result])})" if failed else "",
        )
    failure = cleanup_failure(job, results)
    if failure is not None:
        raise failure
    return {
        "dropped": None,
        "worker": ctx.worker,
        "targets": [
            {
                "cluster": r.destination_cluster,
                "namespace": r.destination_namespace,
                "phase": r.phase.value,
                "deleted": r.totals.pruned,
                "error": r.error,
            }
            for r in results
        ],
    }


# -- RemoteCluster health --------------------------------------------------------------------------


def run_check(ctx: Context, namespace: str, name: str, task_id: str = "") -> dict[str, Any]:
    try:
        api_ref = ctx.controller.resolve(REMOTE_CLUSTERS)
        obj = ctx.controller.get(api_ref, namespace, name)
    except CategorisedError as exc:
        failure = controller_unreachable(f"health check of RemoteCluster {namespace}/{name}", exc)
        log.warning("%s", failure)
        raise failure from None
    if obj is None:
        return {"health": None}
    check = check_cluster(ctx.clients, obj)
    now = datetime.now(UTC)
    before: list[str | None] = [None]  # the health the status held when this check was written

    def build(current: Mapping[str, Any]) -> dict[str, Any]:
        status = current.get("status")
        before[0] = status.get("health") if isinstance(status, Mapping) else None
        return health_status(current, check, now)

    # the status write in the audit log, as the worker's (no Replication: a RemoteCluster's own check)
    with audit.acting_for(audit.Actor(task=task_id, component="worker")):
        written = patch_status(ctx.controller, api_ref, namespace, name, build)
    told = health_event(before[0], check) if written is not None else None
    if told is not None:  # a change of health is told where an operator looks
        reason, type_, message = told
        log.log(
            logging.INFO if check.healthy else logging.WARNING,
            "RemoteCluster %s/%s: %s",
            namespace,
            name,
            message,
        )
        post_event(
            ctx.controller,
            events.event(
                _involved(written or {}), reason, message, type_=type_, now=now, instance=ctx.worker
            ),
        )
    return {"health": check.health, "message": redact(check.message)}  # a task result: Flower shows it
