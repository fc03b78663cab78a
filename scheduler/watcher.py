"""The active watcher: keeps local copies of RemoteClusters, Replications and NamespaceMappings (and of
the source namespaces that `namespaceSelector`s need) and, on every change and every resync,
reconciles the schedule, the trigger annotation, finalizers and the status the watcher owns.

Reconciling is level-based: it recomputes everything from the copies, so a missed or repeated
event, a restart or a change of leader all converge to the same schedule.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from celery import Celery

from drsyncer.api import keys
from drsyncer.api.remotecluster import RemoteCluster
from drsyncer.api.replication import ReplicationMode
from drsyncer.errors import DrsyncerError
from drsyncer.kube import audit
from drsyncer.kube.client import NAMESPACES, ClusterClient
from drsyncer.kube.discovery import ResourceRef
from drsyncer.kube.errors import ApiError, Conflict, NotFound
from drsyncer.kube.exec_credentials import ExecPolicy
from drsyncer.kube.informer import Informer, backoff_delay
from drsyncer.kube.remote_clusters import ClusterClients
from drsyncer.kube.retry import CR_PATCHES, WATCHER_SOURCES, retry_on_conflict
from drsyncer.logs import redact_all
from drsyncer.status import events
from drsyncer.status.writer import patch_status, post_event
from drsyncer.task_contract import Trigger
from scheduler import metrics, remote_cluster_spec
from scheduler.continuous import DEFAULT_DEBOUNCE_S, ChangeTrigger, Followed
from scheduler.entries import (
    Plan,
    ReplicationRead,
    entry_name,
    jobs_for,
    plan,
    read_remote_clusters,
    read_replication,
    source_key,
)
from scheduler.health import send_health_checks
from scheduler.replication_state import StateMemo
from scheduler.status import ClusterProblem, cluster_problems, lost_run_patch, status_patch
from scheduler.store import ScheduleStore, StoreChanges
from scheduler.trigger import send_now

log = logging.getLogger(__name__)

REPLICATIONS = f"replications.{keys.GROUP}"
REMOTE_CLUSTERS = f"remoteclusters.{keys.GROUP}"
NAMESPACE_MAPPINGS = f"namespacemappings.{keys.GROUP}"
# requests of the watcher's own source-cluster clients: fail fast, the next resync tries again
# how often the watcher checks that Redis still holds the schedule (one EXISTS per check)
SCHEDULE_CHECK_S = 5.0


# metadata every write moves, which says nothing about what the watcher acts on
_BOOKKEEPING = frozenset({"resourceVersion", "managedFields"})


def acted_on_changed(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> bool:
    """Whether a watch event changes what the watcher acts on: anything but `status` and the
    metadata every write moves. The workers write a Replication's status after every run (and the
    health checks a RemoteCluster's); at fleet size those writes are most events, and alone they
    reconcile nothing (the per-Replication gauges they move are refreshed one by one instead).
    Compared field by field, without copying either object: this runs for every event."""
    if old is None or new is None:
        return True
    if old.keys() - {"status"} != new.keys() - {"status"}:
        return True
    if any(old[k] != new[k] for k in old if k != "status" and k != "metadata"):
        return True
    a, b = old.get("metadata"), new.get("metadata")
    if not isinstance(a, Mapping) or not isinstance(b, Mapping):
        return bool(a != b)
    if a.keys() - _BOOKKEEPING != b.keys() - _BOOKKEEPING:
        return True
    return any(a[k] != b[k] for k in a if k not in _BOOKKEEPING)


ReadKey = tuple[str, str, str]  # (kind, namespace, name) of a Replication or NamespaceMapping


def _changed_by_others(read: ReplicationRead, written: Mapping[str, Any]) -> bool:
    """Whether the object as written differs from `read` in what users change: its generation
    (the spec), labels, annotations (other than the sync-now annotation, which the watcher removes)
    or deletion. Status and finalizers are the watcher's own to write."""
    before, after = read.metadata, written.get("metadata") or {}
    if before.get("generation") != after.get("generation"):
        return True
    if (before.get("labels") or {}) != (after.get("labels") or {}):
        return True
    if before.get("deletionTimestamp") != after.get("deletionTimestamp"):
        return True
    ours = read.sync_now_key
    annotations_before = {k: v for k, v in (before.get("annotations") or {}).items() if k != ours}
    annotations_after = {k: v for k, v in (after.get("annotations") or {}).items() if k != ours}
    return annotations_before != annotations_after


def _key(read: ReplicationRead) -> ReadKey:
    return (read.kind, read.namespace, read.name)


@dataclass
class Report:
    """What one reconcile did, for logs and tests."""

    schedule: StoreChanges = field(default_factory=StoreChanges)
    triggered: list[str] = field(default_factory=list)  # Replications sent now (sync-now)
    cleaned_up: list[str] = field(default_factory=list)  # deleted Replications whose finalizer was removed
    status_written: list[str] = field(default_factory=list)
    runs_lost: list[str] = field(default_factory=list)  # Running when Redis lost its data; now Failed
    errors: list[str] = field(default_factory=list)
    full: bool = True  # every object looked at and the schedule checked against Redis
    looked_at: int = 0  # Replications and NamespaceMappings whose finalizer, trigger and status were handled


class Watcher:
    """Run with `run(stop)` in a thread of its own while this replica leads."""

    def __init__(
        self,
        controller: ClusterClient,
        app: Celery,
        *,
        namespace: str | None = None,
        redis_url: str | None = None,
        resync_s: float = 300.0,
        watch_timeout_s: int = 30,
        health_check_s: float = 60.0,
        clients: ClusterClients | None = None,
        leading: Callable[[], bool] = lambda: True,
        debounce_s: float = DEFAULT_DEBOUNCE_S,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        schedule_check_s: float = SCHEDULE_CHECK_S,
        exec_policy: ExecPolicy | None = None,
    ) -> None:
        self.controller = controller
        self.app = app
        self.namespace = namespace or None
        self.store = ScheduleStore(app, self.namespace)
        self.clients = clients or ClusterClients(
            controller, redis_url=redis_url, retry=WATCHER_SOURCES, exec_policy=exec_policy
        )
        self.resync_s = resync_s
        self.watch_timeout_s = watch_timeout_s
        self.health_check_s = health_check_s
        self.schedule_check_s = schedule_check_s
        self._redis_lost = False  # set when the schedule marker vanished, until a reconcile handled it
        self._clock = clock
        # asked before every reconcile: a replica that could not renew its Lease writes nothing more
        self._leading = leading
        self._dirty = threading.Event()
        self._warned: dict[str, str] = {}
        self._invalid: dict[tuple[str, str, str], frozenset[str]] = {}  # spec errors already logged
        self.changes = ChangeTrigger(
            app,
            self.clients,
            debounce_s=debounce_s,
            watch_timeout_s=watch_timeout_s,
            relist_s=resync_s,
            leading=leading,
        )
        self._informers: dict[str, Informer] = {}  # by resource name
        self._namespace_informers: dict[str, Informer] = {}  # by source RemoteCluster namespace/name
        self._refs: dict[str, ResourceRef] = {}
        self.reconciles = 0
        self.last_report: Report | None = None
        # what the last reconcile read, for the next one to redo only what changed:
        # parsed objects (and the RemoteClusters each names that cannot be used) by (uid, generation,
        # RemoteCluster versions); resourceVersions handled
        self._parsed: dict[
            ReadKey, tuple[tuple[str, int, int], ReplicationRead, tuple[ClusterProblem, ...]]
        ] = {}
        self._handled: dict[ReadKey, str] = {}
        self._written: dict[ReadKey, str] = {}  # resourceVersions of this reconcile's own writes
        self._matched_last: dict[ReadKey, bool | None] = {}
        # the RemoteClusters each Replication names that cannot be used, at the last reconcile
        self._clusters_last: dict[ReadKey, tuple[ClusterProblem, ...]] = {}
        # the source namespaces each namespaceSelector selected at the last reconcile
        self._selected_last: dict[ReadKey, frozenset[str]] = {}
        self._full_due = True  # the next reconcile looks at everything (first, resync, after errors)
        self._status_seen: set[ReadKey] = set()  # status-only changes whose gauges are stale
        self._states = StateMemo()  # the gauges' values per object, derived again only when moved
        self._status_lock = threading.Lock()
        self.running = threading.Event()  # set while the reconcile loop runs
        self._health_running = threading.Event()  # a slow check round is never started twice
        # (uid, generation) of each RemoteCluster when its health was last checked: one created or
        # changed since is checked at once, not a `health_check_s` later
        self._health_checked: dict[tuple[str, str], tuple[Any, Any]] = {}

    # -- informers ----------------------------------------------------------------------------------

    def _changed(self) -> None:
        self._dirty.set()

    def _status_event(self, kind: str, obj: dict[str, Any]) -> None:
        """Every watch event of a Replication or NamespaceMapping: its gauges are refreshed after it
        (a change beyond status also reconciles, which refreshes them too)."""
        meta = obj.get("metadata") or {}
        key = (str(obj.get("kind") or ""), str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        with self._status_lock:
            self._status_seen.add(key)

    def _remote_cluster_event(self, kind: str, obj: dict[str, Any]) -> None:
        """Every watch event of a RemoteCluster: its health gauge follows the status the workers'
        checks write, status-only changes included (they reconcile nothing)."""
        metrics.export_remote_cluster(obj, deleted=kind == "DELETED")

    def _start_informers(self) -> None:
        """Start an informer for every dr-syncer.io kind the controller serves (NamespaceMapping is
        optional: its CRD may not be installed)."""
        for resource in (REMOTE_CLUSTERS, REPLICATIONS, NAMESPACE_MAPPINGS):
            if resource in self._informers:
                continue
            try:
                ref = self.controller.resolve(resource)
            except DrsyncerError as exc:
                if resource != NAMESPACE_MAPPINGS and self._warned.get(resource) != str(exc):
                    self._warned[resource] = str(exc)  # once per distinct problem, not every second
                    log.warning("cannot watch %s yet: %s", resource, getattr(exc, "message", exc))
                continue
            self._refs[resource] = ref
            if self._warned.pop(resource, None) is not None:
                log.info("%s served now; watching it", resource)
            on_event = self._status_event if resource != REMOTE_CLUSTERS else self._remote_cluster_event
            informer = Informer(
                lambda: self.controller,
                ref,
                self.namespace,
                self._changed,
                name=resource.partition(".")[0],
                watch_timeout_s=self.watch_timeout_s,
                relist_s=self.resync_s,
                significant=acted_on_changed,
                on_event=on_event,
            )
            self._informers[resource] = informer.start()

    def _ready(self) -> bool:
        required = (REMOTE_CLUSTERS, REPLICATIONS)
        return all(r in self._informers and self._informers[r].synced.is_set() for r in required) and all(
            i.synced.is_set() for i in self._informers.values()
        )

    def _objects(self, resource: str) -> list[dict[str, Any]]:
        informer = self._informers.get(resource)
        return list(informer.objects().values()) if informer else []

    def _follow_namespaces(self, wanted: set[str], remote: Mapping[str, RemoteCluster]) -> None:
        """Watch the namespaces of the source clusters that selectors need; stop watching the rest."""
        for key in list(self._namespace_informers):
            if key not in wanted or key not in remote:
                self._namespace_informers.pop(key).stop()
        for key in sorted(wanted):
            if key in self._namespace_informers or key not in remote:
                continue
            informer = Informer(
                self._client_of(remote[key]),
                NAMESPACES,
                None,
                self._changed,
                name=f"namespaces of {key}",
                watch_timeout_s=self.watch_timeout_s,
                relist_s=self.resync_s,
            )
            self._namespace_informers[key] = informer.start()

    def _client_of(self, cluster: RemoteCluster) -> Callable[[], ClusterClient]:
        # looked up on every (re)connect, so a rotated kubeconfig Secret is picked up
        return lambda: self.clients.get(cluster)

    def _namespaces(self) -> dict[str, dict[str, dict[str, str]]]:
        """Known namespaces (name → labels) per source cluster whose list has been read."""
        out: dict[str, dict[str, dict[str, str]]] = {}
        for key, informer in self._namespace_informers.items():
            if informer.synced.is_set():
                out[key] = {
                    name: dict((obj.get("metadata") or {}).get("labels") or {})
                    for (_, name), obj in informer.objects().items()
                }
        return out

    def stop_informers(self) -> None:
        for informer in [*self._informers.values(), *self._namespace_informers.values()]:
            informer.stop()
        self._informers.clear()
        self._namespace_informers.clear()

    # -- the loop -----------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Reconcile on every change (coalesced) and every `resync_s`, until `stop` is set."""
        self.running.set()
        last_full = 0.0
        last_health = 0.0
        last_check = time.monotonic()
        failures = 0
        changes_stop = threading.Event()
        threading.Thread(
            target=self.changes.run, args=(changes_stop,), name="continuous-changes", daemon=True
        ).start()
        try:
            while not stop.is_set():
                now = time.monotonic()
                due_full = now - last_full >= self.resync_s
                if due_full or not self._ready():
                    # an optional kind whose CRD is installed later is picked up at the next resync
                    self._start_informers()
                if self.reconciles and now - last_check >= self.schedule_check_s and self._leading():
                    last_check = now
                    self._check_schedule()
                leading = self._leading()
                if not leading:
                    # another replica may write the schedule meanwhile: what this one knows is stale
                    self._full_due = True
                if self._ready() and (self._dirty.is_set() or due_full) and leading:
                    self._dirty.clear()
                    try:
                        failed = bool(self.reconcile(full=due_full).errors)
                    except Exception:  # a bug or an outage must not end the loop
                        log.exception("reconcile failed; trying again")
                        failed = True
                    failures = failures + 1 if failed else 0
                    if failed:
                        # what failed (Redis, an API write) is tried again soon, not at the next resync
                        self._dirty.set()
                        stop.wait(backoff_delay(failures, random.random()))
                    if due_full:
                        last_full = now
                elif self.reconciles and leading:
                    self._refresh_states()
                if self.health_check_s > 0 and self._ready() and not self._health_running.is_set():
                    due = now - last_health >= self.health_check_s
                    checks = self._health_due(everything=due)
                    if due:
                        last_health = now
                    if checks:
                        self._health_running.set()
                        threading.Thread(
                            target=self._check_health,
                            args=(checks,),
                            name="remotecluster-health",
                            daemon=True,
                        ).start()
                self._dirty.wait(1.0)
                # let a burst of events (an apply of many objects) land before reconciling
                stop.wait(0.05)
        finally:
            changes_stop.set()
            self.running.clear()
            self.stop_informers()
            metrics.export_replications({})  # the next leader exports them
            metrics.export_remote_clusters([])

    def _check_schedule(self) -> None:
        """Reconcile at once when Redis lost the schedule, rather than at the next resync."""
        try:
            intact = self.store.intact()
        except Exception as exc:  # Redis away: its data may be gone when it returns; checked then
            log.debug("checking the schedule marker failed: %s", exc)
            return
        if not intact and not self._redis_lost:
            log.warning(
                "the schedule in Redis is gone (Redis restarted without its data, or failed "
                "over); writing every entry again and failing the runs it lost"
            )
            self._redis_lost = True
            self._dirty.set()

    def _health_due(self, everything: bool) -> list[dict[str, Any]]:
        """The RemoteClusters to check now: all of them when `everything`, else those created or
        whose spec changed since their last check (a new one shows its health in seconds)."""
        objs = self._objects(REMOTE_CLUSTERS)
        seen: dict[tuple[str, str], tuple[Any, Any]] = {}
        due = []
        for obj in objs:
            meta = obj.get("metadata") or {}
            key = (str(meta.get("namespace") or ""), str(meta.get("name") or ""))
            seen[key] = (meta.get("uid"), meta.get("generation"))
            if everything or self._health_checked.get(key) != seen[key]:
                due.append(obj)
        self._health_checked = seen  # those deleted are forgotten
        return due

    def _check_health(self, objs: list[dict[str, Any]]) -> None:
        try:
            send_health_checks(self.app, objs)
        finally:
            self._health_running.clear()

    # -- one reconcile ------------------------------------------------------------------------------

    def reconcile(self, full: bool = True) -> Report:
        """Make the schedule, finalizers, triggers and watcher-owned status match the objects.

        `full` False (a change event): objects whose resourceVersion is the one the last reconcile
        handled are not looked at again, unchanged objects are not parsed again, and the schedule is
        diffed against what this watcher last wrote instead of read back from Redis. A full
        reconcile (at start, every resync, after an error or when Redis lost the schedule) does it
        all, so whatever an incremental one missed is repaired there.
        """
        full = full or self._full_due or self._redis_lost
        self._full_due = True  # until this one ends without errors
        self._written.clear()
        report = Report(full=full)
        remote_objs = self._objects(REMOTE_CLUSTERS)
        remote = read_remote_clusters(remote_objs)
        if full:  # a list is no event: what the informer (re)listed is exported here
            metrics.export_remote_clusters(remote_objs)
        remote_version = hash(
            frozenset(
                ((o.get("metadata") or {}).get("uid"), (o.get("metadata") or {}).get("resourceVersion"))
                for o in remote_objs
            )
        )
        existing = {
            f"{m.get('namespace')}/{m.get('name')}" for m in (o.get("metadata") or {} for o in remote_objs)
        }
        read_with_clusters = [
            self._read(obj, remote, existing, remote_version)
            for obj in [*self._objects(REPLICATIONS), *self._objects(NAMESPACE_MAPPINGS)]
        ]
        reads = [read for read, _ in read_with_clusters]
        clusters = {_key(read): problems for read, problems in read_with_clusters}
        used = self._namespaces()
        desired = plan(reads, remote, used)
        self._follow_namespaces(desired.selector_sources, remote)
        namespaces = self._namespaces()
        if namespaces != used:  # a selector's source namespaces just became known
            desired = plan(reads, remote, namespaces)
        unresolved = self._unresolved(reads, namespaces)
        try:
            self.changes.update(self._followed(reads, remote, desired))
        except Exception as exc:  # Continuous watches are an addition to the schedule, never a blocker
            report.errors.append(f"continuous watches: {type(exc).__name__}: {exc}")

        matched = {_key(r): self._matched(r, desired, unresolved) for r in reads}
        self._tell_dropped(reads, desired, unresolved)
        # incremental: the objects that changed since handled, those whose match changed (a
        # selector's namespace came or went), and those a RemoteCluster came or went for
        todo = [
            r
            for r in reads
            if full
            or self._handled.get(_key(r)) != r.metadata.get("resourceVersion")
            or self._matched_last.get(_key(r)) != matched[_key(r)]
            or self._clusters_last.get(_key(r), ()) != clusters[_key(r)]
        ]
        report.looked_at = len(todo)
        for read in todo:
            label = f"{read.kind} {read.namespace}/{read.name}"
            try:
                with audit.acting_for(audit.Actor(replication=label, component="watcher")):
                    if read.deleting:
                        if self._finish_deletion(read, remote, namespaces):
                            report.cleaned_up.append(label)
                        continue
                    self._sync_finalizer(read, remote)
            except ApiError as exc:
                report.errors.append(f"{label}: {exc}")
            except Exception as exc:  # sending the cleanup failed (Redis away); the finalizer stays
                report.errors.append(f"{label}: {type(exc).__name__}: {exc}")
        lost = False
        try:
            report.schedule = self.store.reconcile(desired.entries, keep=unresolved, verify=full)
            # a marker missing at this replica's first reconcile is a new Redis as often as a lost one
            lost = self._redis_lost or (report.schedule.marker_missing and self.reconciles > 0)
            self._redis_lost = False
        except Exception as exc:  # Redis away: keep watching, the next change or resync retries
            report.errors.append(f"schedule: {type(exc).__name__}: {exc}")
            log.warning("writing the schedule failed: %s", exc)
        if lost and not full:
            # Redis lost the schedule between two reconciles: every Running Replication's run with it
            todo = list(reads)
        for read in todo:
            if read.deleting:
                continue
            label = f"{read.kind} {read.namespace}/{read.name}"
            try:
                with audit.acting_for(audit.Actor(replication=label, component="watcher")):
                    if lost and self._fail_lost_run(read, remote):
                        report.runs_lost.append(label)
                    if self._sync_now(read, desired, unresolved):
                        report.triggered.append(label)
                    self._tell_clusters(read, clusters[_key(read)])
                    if self._write_status(read, remote, matched[_key(read)], clusters[_key(read)]):
                        report.status_written.append(label)
                        if read.model is None:
                            self._post_invalid(read)
            except ApiError as exc:
                report.errors.append(f"{label}: {exc}")
            except Exception as exc:  # a send to Redis failed; the annotation stays for the next try
                report.errors.append(f"{label}: {type(exc).__name__}: {exc}")
        self._check_remote_cluster_specs(report)
        for error in report.errors:
            log.warning("reconcile: %s", error)
        invalid = self._log_invalid(reads)
        self._export_states(reads, todo, matched, full)
        self._handled = {
            _key(r): self._written.get(_key(r)) or str(r.metadata.get("resourceVersion")) for r in reads
        }
        self._written.clear()
        self._matched_last = matched
        self._clusters_last = {k: v for k, v in clusters.items() if v}
        metrics.RECONCILES.inc()
        metrics.RECONCILE_ERRORS.inc(len(report.errors) + invalid)
        metrics.ENTRIES.set(len(desired.entries))
        self.reconciles += 1
        self.last_report = report
        self._full_due = bool(report.errors)
        return report

    def _read(
        self,
        obj: Mapping[str, Any],
        remote: Mapping[str, RemoteCluster],
        existing: set[str],
        remote_version: int,
    ) -> tuple[ReplicationRead, tuple[ClusterProblem, ...]]:
        """The object parsed, and the RemoteClusters it names that cannot be used (`existing`: every
        RemoteCluster's `namespace/name`, `remote` the valid ones); the last ones are reused while its
        uid, generation (which the API server moves on every spec change) and the RemoteClusters are
        what they were."""
        meta = obj.get("metadata") or {}
        key = (str(obj.get("kind") or ""), str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        generation = meta.get("generation")
        version = (
            str(meta.get("uid") or ""),
            generation if isinstance(generation, int) else -1,
            remote_version,
        )
        cached = self._parsed.get(key)
        if cached is not None and cached[0] == version and version[1] >= 0:
            return ReplicationRead(obj, cached[1].model, cached[1].errors), cached[2]
        read = read_replication(obj, remote)
        problems = cluster_problems(read.model, existing, remote) if read.model is not None else ()
        self._parsed[key] = (version, read, problems)
        return read, problems

    def _export_states(
        self,
        reads: list[ReplicationRead],
        looked_at: list[ReplicationRead],
        matched: Mapping[ReadKey, bool | None],
        full: bool,
    ) -> None:
        """The per-Replication gauges: all of them on a full reconcile, else those looked at (and the
        gauges of objects gone removed)."""
        now = self._clock()
        live = [r for r in reads if not r.deleting]
        if full:
            metrics.export_replications(
                {
                    f"{r.namespace}/{r.name}": self._states.state(_key(r), r, now, matched[_key(r)])
                    for r in live
                }
            )
        else:
            labels = {f"{r.namespace}/{r.name}" for r in live}
            for read in looked_at:
                label = f"{read.namespace}/{read.name}"
                if not read.deleting:
                    metrics.export_replication(
                        label, self._states.state(_key(read), read, now, matched[_key(read)])
                    )
                elif label not in labels:
                    metrics.drop_replication(label)
            for _, namespace, name in self._handled.keys() - {_key(r) for r in reads}:
                if f"{namespace}/{name}" not in labels:
                    metrics.drop_replication(f"{namespace}/{name}")
        for key in self._parsed.keys() - {_key(r) for r in reads}:
            del self._parsed[key]
        self._states.forget(_key(r) for r in reads)
        with self._status_lock:
            self._status_seen.clear()

    def _refresh_states(self) -> None:
        """The gauges of Replications whose status alone changed since the last look (a worker wrote
        a run's outcome): one object each, with the parse of the last reconcile."""
        with self._status_lock:
            seen, self._status_seen = self._status_seen, set()
        if not seen:
            return
        now = self._clock()
        for kind, namespace, name in seen:
            resource = NAMESPACE_MAPPINGS if kind == keys.KIND_NAMESPACE_MAPPING else REPLICATIONS
            informer = self._informers.get(resource)
            obj = informer.get((namespace, name)) if informer is not None else None
            cached = self._parsed.get((kind, namespace, name))
            if obj is None or cached is None or (obj.get("metadata") or {}).get("deletionTimestamp"):
                continue  # gone or new: the reconcile its event asked for exports it
            read = ReplicationRead(obj, cached[1].model, cached[1].errors)
            key = (kind, namespace, name)
            metrics.export_replication(
                f"{namespace}/{name}", self._states.state(key, read, now, self._matched_last.get(key))
            )

    def _check_remote_cluster_specs(self, report: Report) -> None:
        """`InvalidSpec` (condition and Warning Event) on each RemoteCluster whose spec cannot be used,
        cleared once fixed. Decided on the informer's copy, so an unchanged cluster costs no request."""
        ref = self._refs.get(REMOTE_CLUSTERS)
        if ref is None:  # the CRD is not served yet
            return
        for obj in self._objects(REMOTE_CLUSTERS):
            errors = remote_cluster_spec.spec_errors(obj)
            if remote_cluster_spec.spec_patch(obj, errors, self._clock()) is None:
                continue
            meta = obj.get("metadata") or {}
            namespace, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
            label = f"RemoteCluster {namespace}/{name}"
            try:
                with audit.acting_for(audit.Actor(component="watcher")):
                    written = patch_status(
                        self.controller,
                        ref,
                        namespace,
                        name,
                        lambda current: remote_cluster_spec.spec_patch(
                            current, remote_cluster_spec.spec_errors(current), self._clock()
                        ),
                        uid=meta.get("uid"),
                    )
                    if written is None or not errors:
                        continue
                    log.warning("%s: invalid spec: %s", label, "; ".join(errors))
                    involved = {
                        "apiVersion": keys.API_VERSION,
                        "kind": "RemoteCluster",
                        "namespace": namespace,
                        "name": name,
                        "uid": meta.get("uid"),
                    }
                    post_event(
                        self.controller,
                        events.event(
                            involved,
                            events.REASON_INVALID_SPEC,
                            remote_cluster_spec.message_of(errors),
                            type_="Warning",
                            now=self._clock(),
                            component=events.WATCHER_COMPONENT,
                        ),
                    )
            except ApiError as exc:
                report.errors.append(f"{label}: {exc}")

    def _log_invalid(self, reads: Iterable[ReplicationRead]) -> int:
        """One WARNING line per spec error not logged before (an unchanged invalid object says nothing
        at the next reconcile); returns how many were new."""
        seen: dict[tuple[str, str, str], frozenset[str]] = {}
        new = 0
        for read in reads:
            if read.model is not None or read.deleting:
                continue
            key = (read.kind, read.namespace, read.name)
            seen[key] = frozenset(read.errors)
            for error in read.errors:
                if error not in self._invalid.get(key, frozenset()):
                    log.warning(
                        "%s %s/%s: invalid spec, not scheduled: %s",
                        read.kind,
                        read.namespace,
                        read.name,
                        error,
                    )
                    new += 1
        for key in self._invalid.keys() - seen.keys():
            log.info("%s %s/%s: spec valid again (or deleted)", *key)
        self._invalid = seen
        return new

    def _tell_dropped(self, reads: Iterable[ReplicationRead], desired: Plan, unresolved: set[str]) -> None:
        """A Warning Event (and a log line) when source namespaces a `namespaceSelector` selected are
        no longer selected (deleted, or relabelled): their copies stay in the destinations as they
        are, no longer kept in step, and nothing else would say so (the run's status only counts the
        namespaces it synced)."""
        selected: dict[ReadKey, frozenset[str]] = {}
        for read in reads:
            model, key = read.model, _key(read)
            if model is None or read.deleting or model.namespace_selector is None:
                continue
            if entry_name(read.kind, read.namespace, read.name, "") in unresolved:
                if key in self._selected_last:  # not known this time: nothing is said, the last is kept
                    selected[key] = self._selected_last[key]
                continue
            jobs = desired.jobs.get((read.kind, read.namespace, read.name), [])
            now_selected = frozenset(job.source_namespace for job in jobs)
            selected[key] = now_selected
            gone = sorted(self._selected_last.get(key, now_selected) - now_selected)
            if gone:
                self._post_dropped(read, gone)
        self._selected_last = selected

    def _post_dropped(self, read: ReplicationRead, gone: list[str]) -> None:
        assert read.model is not None
        destinations = ", ".join(read.model.destinations()) or "its destinations"
        label = f"{read.kind} {read.namespace}/{read.name}"
        message = (
            f"source namespace(s) {', '.join(gone)} no longer selected by spec.namespaceSelector "
            f"(deleted, or their labels changed): their copies in {destinations} stay as they are and "
            "are no longer kept in step; delete them there if they are not wanted"
        )
        log.warning("%s: %s", label, message)
        self._warn(read, events.REASON_NAMESPACES_DROPPED, message)

    def _tell_clusters(self, read: ReplicationRead, problems: tuple[ClusterProblem, ...]) -> None:
        """A Warning Event and a log line for each RemoteCluster the Replication names that cannot be
        used and was not told at the last reconcile (its `RemoteClustersFound` condition says it
        for as long as it lasts); a log line when they are all there again."""
        before = self._clusters_last.get(_key(read), ())
        label = f"{read.kind} {read.namespace}/{read.name}"
        for problem in problems:
            if problem not in before:
                log.warning("%s: %s", label, problem.message)
                self._warn(read, problem.reason, problem.message)
        if before and not problems:
            log.info("%s: every RemoteCluster it names is there now", label)

    def _post_invalid(self, read: ReplicationRead) -> None:
        """A Warning Event with every spec error, when the watcher has just written InvalidSpec."""
        message = "spec is invalid, nothing is scheduled until it is fixed: " + "; ".join(read.errors)
        self._warn(read, events.REASON_INVALID_SPEC, message)

    def _warn(self, read: ReplicationRead, reason: str, message: str) -> None:
        """Post a Warning Event from the watcher on the Replication (or NamespaceMapping) `read`."""
        involved = {
            "apiVersion": read.obj.get("apiVersion") or keys.API_VERSION,
            "kind": read.kind,
            "namespace": read.namespace,
            "name": read.name,
            "uid": read.metadata.get("uid"),
        }
        post_event(
            self.controller,
            events.event(
                involved,
                reason,
                message,
                type_="Warning",
                now=self._clock(),
                component=events.WATCHER_COMPONENT,
            ),
        )

    def _followed(
        self, reads: Iterable[ReplicationRead], remote: Mapping[str, RemoteCluster], desired: Plan
    ) -> list[Followed]:
        """The jobs of valid, running Continuous Replications, with what to watch for each."""
        out = []
        for read in reads:
            model = read.model
            if (
                model is None
                or read.deleting
                or read.paused
                or model.spec.replication_mode is not ReplicationMode.CONTINUOUS
            ):
                continue
            source = remote.get(source_key(model))
            if source is None:
                continue
            types = tuple(model.resource_types(source))
            out += [
                Followed(job, source, types)
                for job in desired.jobs.get((read.kind, read.namespace, read.name), [])
            ]
        return out

    def _unresolved(self, reads: Iterable[ReplicationRead], namespaces: Mapping[str, Any]) -> set[str]:
        """Entry-name prefixes of Replications whose selector namespaces are not known yet; their
        existing entries are kept rather than removed and added back later."""
        out = set()
        for read in reads:
            model = read.model
            if (
                model is not None
                and model.namespace_selector is not None
                and source_key(model) not in namespaces
                and not read.deleting
            ):
                out.add(entry_name(read.kind, read.namespace, read.name, ""))
        return out

    def _ref_for(self, read: ReplicationRead) -> ResourceRef:
        return self._refs[NAMESPACE_MAPPINGS if read.kind == keys.KIND_NAMESPACE_MAPPING else REPLICATIONS]

    def _informer_for(self, read: ReplicationRead) -> Informer | None:
        return self._informers.get(
            NAMESPACE_MAPPINGS if read.kind == keys.KIND_NAMESPACE_MAPPING else REPLICATIONS
        )

    def _patch(
        self,
        read: ReplicationRead,
        remote: Mapping[str, RemoteCluster],
        build: Callable[[ReplicationRead], dict[str, Any] | None],
        *,
        subresource: str | None = None,
    ) -> bool:
        """Merge-patch the object with what `build` makes of it, conditional on its resourceVersion;
        on 409 read it again and rebuild (`retry_on_conflict`, policy `CR_PATCHES`). False when
        there was nothing to write or the object is gone."""
        ref = self._ref_for(read)
        current: list[ReplicationRead | None] = [read]  # None: the last patch conflicted, read again

        def read_modify_write() -> bool:
            latest = current[0]
            if latest is None:
                fresh = self.controller.get(ref, read.namespace, read.name)
                if fresh is None:
                    return False
                latest = read_replication(fresh, remote)
            body = build(latest)
            if body is None:
                return False
            if subresource == "status":  # its messages quote errors, which may quote a credential
                body = redact_all(body)
            body.setdefault("metadata", {})["resourceVersion"] = latest.metadata.get("resourceVersion")
            try:
                written = self.controller.patch(
                    ref, latest.namespace, latest.name, body, subresource=subresource
                )
            except NotFound:
                return False
            except Conflict:
                current[0] = None
                raise
            # `read` is what this reconcile acted on; a re-read after a conflict may hold more
            self._note_written(read, written)
            return True

        return retry_on_conflict(read_modify_write, CR_PATCHES, sleep=self.controller.sleep)

    @staticmethod
    def _matched(read: ReplicationRead, desired: Plan, unresolved: set[str]) -> bool | None:
        """Whether the Replication selects any source namespace; None while its selector's are unknown."""
        if read.model is None or entry_name(read.kind, read.namespace, read.name, "") in unresolved:
            return None
        return bool(desired.jobs.get((read.kind, read.namespace, read.name)))

    def _write_status(
        self,
        read: ReplicationRead,
        remote: Mapping[str, RemoteCluster],
        matched: bool | None = None,
        clusters: tuple[ClusterProblem, ...] = (),
    ) -> bool:
        def build(current: ReplicationRead) -> dict[str, Any] | None:
            status = status_patch(current, self._clock(), matched, clusters)
            return None if status is None else {"status": status}

        return self._patch(read, remote, build, subresource="status")

    def _fail_lost_run(self, read: ReplicationRead, remote: Mapping[str, RemoteCluster]) -> bool:
        def build(current: ReplicationRead) -> dict[str, Any] | None:
            status = lost_run_patch(current, self._clock())
            return None if status is None else {"status": status}

        if self._patch(read, remote, build, subresource="status"):
            log.warning(
                "%s %s/%s: its run was lost with Redis's data; marked Failed",
                read.kind,
                read.namespace,
                read.name,
            )
            return True
        return False

    def _sync_finalizer(self, read: ReplicationRead, remote: Mapping[str, RemoteCluster]) -> None:
        """`cleanupOnDelete: Delete` needs the finalizer so the cleanup runs before the object goes."""
        if read.model is None:
            return  # an invalid spec says nothing about the policy; leave the finalizers as they are
        want = read.wants_finalizer
        has = keys.FINALIZER_CLEANUP in read.finalizers
        if want == has:
            return

        def build(current: ReplicationRead) -> dict[str, Any] | None:
            if current.model is None or current.deleting:
                return None
            finalizers = [f for f in current.finalizers if f != keys.FINALIZER_CLEANUP]
            if current.wants_finalizer:
                finalizers.append(keys.FINALIZER_CLEANUP)
            if finalizers == current.finalizers:
                return None
            return {"metadata": {"finalizers": finalizers}}

        self._patch(read, remote, build)

    def _finish_deletion(
        self, read: ReplicationRead, remote: Mapping[str, RemoteCluster], namespaces: Mapping[str, Any]
    ) -> bool:
        """Send the cleanup tasks of a deleted `cleanupOnDelete: Delete` Replication, then let it go."""
        if keys.FINALIZER_CLEANUP not in read.finalizers:
            return False
        if read.model is not None and read.wants_finalizer:
            if source_key(read.model) not in namespaces and read.model.namespace_selector is not None:
                log.warning(
                    "%s %s/%s: source namespaces unknown; cleaning up the explicitly named ones only",
                    read.kind,
                    read.namespace,
                    read.name,
                )
            jobs = jobs_for(read.model, remote, namespaces)
            send_now(self.app, jobs, Trigger.CLEANUP)
            log.info(
                "%s %s/%s deleted: sent %d cleanup task(s)", read.kind, read.namespace, read.name, len(jobs)
            )

        def build(current: ReplicationRead) -> dict[str, Any] | None:
            if keys.FINALIZER_CLEANUP not in current.finalizers:
                return None
            kept = [f for f in current.finalizers if f != keys.FINALIZER_CLEANUP]
            return {"metadata": {"finalizers": kept}}

        return self._patch(read, remote, build)

    def _sync_now(self, read: ReplicationRead, desired: Plan, unresolved: set[str]) -> bool:
        """The trigger annotation: send every job of the Replication now, then remove the annotation.
        Kept while the spec is invalid or paused, so it fires once that is fixed."""
        annotation = read.sync_now_key
        if annotation is None or read.model is None or read.paused:
            return False
        if entry_name(read.kind, read.namespace, read.name, "") in unresolved:
            return False  # its selector's namespaces are not known yet; the next reconcile sends it
        jobs = desired.jobs.get((read.kind, read.namespace, read.name), [])
        if not jobs:
            log.warning(
                "%s %s/%s: %s set but no source namespace matches",
                read.kind,
                read.namespace,
                read.name,
                annotation,
            )
        request = str((read.metadata.get("annotations") or {}).get(annotation) or "")
        send_now(self.app, jobs, Trigger.SYNC_NOW, request)
        log.info(
            "%s %s/%s: sent %d task(s) for %s", read.kind, read.namespace, read.name, len(jobs), annotation
        )
        ref = self._ref_for(read)
        # the patch names only the annotation, so it needs no resourceVersion and cannot conflict
        written = self.controller.patch(
            ref, read.namespace, read.name, {"metadata": {"annotations": {annotation: None}}}
        )
        self._note_written(read, written)
        return True

    def _note_written(self, read: ReplicationRead, written: dict[str, Any]) -> None:
        """Keep what this watcher just wrote: in the informer's copy (so the next reconcile does not
        act on the older one) and as handled (so it does not look at the object again for it).

        `read` is the copy this reconcile acted on. A write's answer also carries what others
        changed since then: a status patch retried after a 409 builds on a fresh read, and a patch
        without a resourceVersion lands on whatever is there. When that is more than this watcher's
        own work (a sync-now annotation, a spec edit), the object is left unhandled and the next
        reconcile acts on it, rather than only the full one minutes later."""
        informer = self._informer_for(read)
        if informer is not None:
            informer.put(written)
        if _changed_by_others(read, written):
            self._dirty.set()
            return
        self._written[_key(read)] = str((written.get("metadata") or {}).get("resourceVersion"))
