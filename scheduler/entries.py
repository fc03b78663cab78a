"""The schedule the watcher wants: one job per (Replication, source namespace). Pure: objects in,
jobs out; nothing here reads a cluster or Redis.

A job becomes a redbeat entry when it is periodic (Scheduled, or Continuous with its background
interval), and a task sent at once for the sync-now annotation or a cleanup. The task's keyword
arguments (`Job.task_kwargs`) are the contract with the workers, documented in docs/architecture.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from drsyncer.api import keys
from drsyncer.api.durations import format_duration
from drsyncer.api.namespacemapping import parse_namespace_mapping
from drsyncer.api.parse import InvalidSpec, object_ref, parse_remote_cluster, parse_replication
from drsyncer.api.plugins import problems_as_written
from drsyncer.api.remotecluster import RemoteCluster
from drsyncer.api.replication import CleanupPolicy, Replication, ReplicationMode
from drsyncer.plugins.chain import problems, settings_of
from drsyncer.plugins.registry import Registry, installed
from drsyncer.task_contract import (
    ENTRY_PREFIX,
    SYNC_QUEUE,
    ReplicationRef,
    SyncJob,
    Target,
    Trigger,
    entry_name,
)
from scheduler.schedules import celery_schedule

# a source cluster's namespaces: name → labels
Namespaces = Mapping[str, Mapping[str, str]]


def entry_scope(namespace: str | None) -> str:
    """The name prefix of every entry of one namespace (every drsyncer entry when None)."""
    return f"{ENTRY_PREFIX}{namespace}/" if namespace else ENTRY_PREFIX


@dataclass(frozen=True)
class Job:
    """Syncing one source namespace of a Replication to all its destinations."""

    replication: ReplicationRef
    source_cluster: str
    source_namespace: str
    targets: tuple[Target, ...]
    mode: str
    schedule: str | None  # None: run only when asked (Manual mode)
    trigger: Trigger = Trigger.SCHEDULE  # what starts it when periodic

    @property
    def name(self) -> str:
        ref = self.replication
        return entry_name(ref.kind, ref.namespace, ref.name, self.source_namespace)

    def task_job(
        self, trigger: Trigger | None = None, run_id: str | None = None, request: str = ""
    ) -> SyncJob:
        """The task contract of this job. `run_id` None: the task uses its own task id; `request`:
        the sync-now annotation's value the run answers."""
        return SyncJob(
            self.replication,
            self.source_cluster,
            self.source_namespace,
            self.targets,
            self.mode,
            run_id,
            (trigger or self.trigger).value,
            request=request,
        )

    def task_kwargs(
        self, trigger: Trigger | None = None, run_id: str | None = None, request: str = ""
    ) -> dict[str, Any]:
        """The task's keyword arguments (JSON). `run_id` None: the task uses its own task id."""
        return self.task_job(trigger, run_id, request).to_kwargs()

    def task_options(self, trigger: Trigger | None = None) -> dict[str, Any]:
        """Options sent with the task: its queue, and its arguments as Flower and logs show them."""
        return {"queue": SYNC_QUEUE, "kwargsrepr": self.task_job(trigger).kwargsrepr()}


@dataclass(frozen=True)
class ReplicationRead:
    """A Replication or NamespaceMapping as read from the API: the raw object and either its model
    or the field errors that make it invalid."""

    obj: Mapping[str, Any]
    model: Replication | None
    errors: tuple[str, ...] = ()

    @property
    def metadata(self) -> Mapping[str, Any]:
        meta = self.obj.get("metadata")
        return meta if isinstance(meta, Mapping) else {}

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind") or keys.KIND_REPLICATION)

    @property
    def namespace(self) -> str:
        return str(self.metadata.get("namespace") or "default")

    @property
    def name(self) -> str:
        return str(self.metadata.get("name") or "")

    @property
    def generation(self) -> int:
        return int(self.metadata.get("generation") or 0)

    @property
    def deleting(self) -> bool:
        return bool(self.metadata.get("deletionTimestamp"))

    @property
    def finalizers(self) -> list[str]:
        return list(self.metadata.get("finalizers") or [])

    @property
    def annotations(self) -> Mapping[str, str]:
        return self.metadata.get("annotations") or {}

    @property
    def sync_now_key(self) -> str | None:
        """The trigger annotation set on the object, if any (the legacy key is honoured too)."""
        return next(
            (k for k in (keys.ANNOTATION_SYNC_NOW, keys.ANNOTATION_SYNC_NOW_LEGACY) if k in self.annotations),
            None,
        )

    @property
    def paused(self) -> bool:
        return self.model is not None and self.model.spec.paused

    @property
    def wants_finalizer(self) -> bool:
        return self.model is not None and self.model.spec.cleanup_on_delete is CleanupPolicy.DELETE


def read_replication(
    obj: Mapping[str, Any],
    remote_clusters: Mapping[str, RemoteCluster] | None = None,
    plugins: Registry | None = None,
) -> ReplicationRead:
    """Parse a Replication or NamespaceMapping; an invalid one carries its errors instead of a model.

    A schedule that passes the API's validation but that beat cannot run is an error here too, and
    so is one inherited from the source RemoteCluster's `defaultSchedule`; so is a plugin of
    `spec.plugins` that is not installed in `plugins` (default: this process's, the same image as the
    workers') or that rejects its parameters.
    """
    try:
        if obj.get("kind") == keys.KIND_NAMESPACE_MAPPING:
            model = parse_namespace_mapping(obj)
        else:
            model = parse_replication(obj)
    except InvalidSpec as exc:
        registry = (lambda: plugins) if plugins is not None else installed
        return ReplicationRead(obj, None, (*exc.errors, *problems_as_written(obj, registry)))
    if model.spec.plugins:
        unusable = problems(settings_of(model.spec.plugins), installed() if plugins is None else plugins)
        if unusable:
            return ReplicationRead(obj, None, tuple(unusable))
    source = (remote_clusters or {}).get(f"{model.namespace}/{model.spec.source_cluster}")
    schedule = model.schedule(source)
    if schedule is not None:
        try:
            celery_schedule(schedule)
        except ValueError as exc:
            inherited = model.spec.schedule is None
            path = (
                f"RemoteCluster {model.spec.source_cluster} spec.defaultSchedule"
                if inherited
                else "spec.schedule"
            )
            return ReplicationRead(obj, None, (f"{path}: {exc}",))
    return ReplicationRead(obj, model)


def read_remote_clusters(objs: Iterable[Mapping[str, Any]]) -> dict[str, RemoteCluster]:
    """The valid RemoteClusters by `namespace/name` (invalid ones are reported by their health check)."""
    out: dict[str, RemoteCluster] = {}
    for obj in objs:
        try:
            cluster = parse_remote_cluster(obj)
        except InvalidSpec:
            continue
        out[f"{cluster.namespace}/{cluster.name}"] = cluster
    return out


def source_key(model: Replication) -> str:
    """`namespace/name` of the Replication's source RemoteCluster."""
    return f"{model.namespace}/{model.spec.source_cluster}"


def jobs_for(
    model: Replication, remote_clusters: Mapping[str, RemoteCluster], namespaces: Mapping[str, Namespaces]
) -> list[Job]:
    """Every job of one valid Replication, periodic or not; `namespaces` holds the namespaces of the
    source clusters (by `source_key`) that are known, for `namespaceSelector`."""
    source_namespaces = namespaces.get(source_key(model))
    pairs = model.namespace_pairs(source_namespaces)
    ref = ReplicationRef(model.kind, model.namespace, model.name, model.metadata.uid or "", model.generation)
    mode = model.spec.replication_mode
    schedule = model.schedule(remote_clusters.get(source_key(model)))
    trigger = Trigger.SCHEDULE
    if mode is ReplicationMode.CONTINUOUS:
        interval = model.background_sync_interval()
        schedule = f"@every {format_duration(interval)}" if interval is not None else None
        trigger = Trigger.BACKGROUND
    destinations = model.destinations()
    # one job per source namespace: a namespace copied under two names is read once, written twice
    by_source: dict[str, list[Target]] = {}
    for source_ns, destination_ns in pairs:
        by_source.setdefault(source_ns, []).extend(Target(c, destination_ns) for c in destinations)
    return [
        Job(ref, model.spec.source_cluster, source_ns, tuple(targets), mode.value, schedule, trigger)
        for source_ns, targets in by_source.items()
    ]


@dataclass
class Plan:
    """What the schedule and the Replications should look like."""

    entries: dict[str, Job] = field(default_factory=dict)  # periodic jobs by entry name
    jobs: dict[tuple[str, str, str], list[Job]] = field(default_factory=dict)  # (kind, ns, name) → all jobs
    selector_sources: set[str] = field(default_factory=set)  # source clusters whose namespaces are needed


def plan(
    reads: Iterable[ReplicationRead],
    remote_clusters: Mapping[str, RemoteCluster],
    namespaces: Mapping[str, Namespaces],
) -> Plan:
    """The desired schedule: no entries for invalid, paused, deleted or Manual-mode objects."""
    out = Plan()
    for read in reads:
        model = read.model
        if model is None or read.deleting:
            continue
        if model.namespace_selector is not None:
            out.selector_sources.add(source_key(model))
        jobs = jobs_for(model, remote_clusters, namespaces)
        out.jobs[(read.kind, read.namespace, read.name)] = jobs
        if model.spec.paused:
            continue
        for job in jobs:
            if job.schedule is not None:
                out.entries[job.name] = job
    return out


def describe(read: ReplicationRead) -> str:
    return object_ref(read.obj)
