"""Continuous mode: a change to a selected object in a source namespace sends a sync of that
namespace, debounced so that a burst of changes (a `kubectl apply` of many objects) makes one run.

One list + watch per (source cluster, resource type) over all namespaces, filtered to the
namespaces of Continuous jobs. Only watch events count as changes: a (re)list is not one, and what
a gap in watching missed is caught by the Replication's background resync entry.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from celery import Celery

from drsyncer.api.remotecluster import RemoteCluster
from drsyncer.errors import DrsyncerError
from drsyncer.kube.client import ClusterClient
from drsyncer.kube.discovery import ResourceRef
from drsyncer.kube.errors import ApiError
from drsyncer.kube.informer import Informer
from drsyncer.kube.remote_clusters import ClusterClients
from drsyncer.task_contract import Trigger
from scheduler.entries import Job
from scheduler.trigger import send_now

log = logging.getLogger(__name__)

DEFAULT_DEBOUNCE_S = 2.0


@dataclass(frozen=True)
class Followed:
    """A Continuous job and what to watch for it."""

    job: Job
    source: RemoteCluster
    resource_types: tuple[str, ...]

    @property
    def cluster_key(self) -> str:
        return f"{self.source.namespace}/{self.source.name}"


class ChangeTrigger:
    """`update(followed)` after each reconcile; `run(stop)` in a thread sends what is due."""

    def __init__(
        self,
        app: Celery,
        clients: ClusterClients,
        *,
        debounce_s: float = DEFAULT_DEBOUNCE_S,
        watch_timeout_s: int = 30,
        relist_s: float = 300.0,
        leading: Callable[[], bool] = lambda: True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.clients = clients
        self.debounce_s = debounce_s
        self.watch_timeout_s = watch_timeout_s
        self.relist_s = relist_s
        self._clock = clock
        self._leading = leading
        self._lock = threading.Lock()
        self._jobs: dict[tuple[str, str], list[Job]] = {}  # (cluster key, namespace) → jobs
        self._informers: dict[tuple[str, ResourceRef], Informer] = {}
        self._pending: dict[str, tuple[Job, float]] = {}  # job name → (job, when to send)
        self._wake = threading.Event()
        self.sent = 0

    def update(self, followed: Iterable[Followed]) -> None:
        jobs: dict[tuple[str, str], list[Job]] = {}
        wanted: dict[tuple[str, ResourceRef], RemoteCluster] = {}
        for item in followed:
            jobs.setdefault((item.cluster_key, item.job.source_namespace), []).append(item.job)
            for ref in self._resolve(item):
                wanted[(item.cluster_key, ref)] = item.source
        with self._lock:
            self._jobs = jobs
            names = {job.name for group in jobs.values() for job in group}
            self._pending = {n: p for n, p in self._pending.items() if n in names}
        for key in list(self._informers):
            if key not in wanted:
                self._informers.pop(key).stop()
        for key, source in wanted.items():
            if key not in self._informers:
                cluster_key, ref = key
                informer = Informer(
                    self._client_of(source),
                    ref,
                    None,
                    lambda: None,
                    name=f"{ref.group_resource} of {cluster_key}",
                    watch_timeout_s=self.watch_timeout_s,
                    relist_s=self.relist_s,
                    on_event=self._on_event_of(cluster_key),
                    cache=False,
                )
                self._informers[key] = informer.start()

    def _client_of(self, source: RemoteCluster) -> Callable[[], ClusterClient]:
        return lambda: self.clients.get(source)

    def _resolve(self, item: Followed) -> list[ResourceRef]:
        try:
            return self.clients.get(item.source).discovery.resolve_many(item.resource_types)
        except (ApiError, DrsyncerError) as exc:
            # the background resync still runs; the next reconcile tries again
            log.warning(
                "Continuous %s: cannot watch %s on %s: %s",
                item.job.replication.name,
                ", ".join(item.resource_types),
                item.cluster_key,
                exc,
            )
            return []

    def _on_event_of(self, cluster_key: str) -> Callable[[str, Mapping[str, Any]], None]:
        def on_event(_kind: str, obj: Mapping[str, Any]) -> None:
            namespace = str((obj.get("metadata") or {}).get("namespace") or "")
            with self._lock:
                jobs = self._jobs.get((cluster_key, namespace), [])
                due = self._clock() + self.debounce_s
                for job in jobs:
                    # the first change of a burst sets the time; later ones ride along
                    self._pending.setdefault(job.name, (job, due))
            if jobs:
                self._wake.set()

        return on_event

    def send_due(self) -> list[Job]:
        if not self._leading():
            return []
        now = self._clock()
        with self._lock:
            due = [job for job, at in self._pending.values() if at <= now]
            for job in due:
                del self._pending[job.name]
        for job in due:
            try:
                send_now(self.app, [job], Trigger.CHANGE)
                self.sent += 1
            except Exception as exc:  # Redis away: the background resync catches up
                log.warning(
                    "Continuous %s/%s: sending the sync failed: %s",
                    job.replication.namespace,
                    job.replication.name,
                    exc,
                )
        return due

    def run(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                self.send_due()
                with self._lock:
                    next_at = min((at for _, at in self._pending.values()), default=None)
                wait = 1.0 if next_at is None else max(0.0, min(1.0, next_at - self._clock()))
                self._wake.wait(wait)
                self._wake.clear()
        finally:
            self.stop_informers()

    def watching(self) -> list[str]:
        """`<resource> of <cluster>` for every watch that has listed once (for tests and logs)."""
        return sorted(i.name for i in self._informers.values() if i.synced.is_set())

    def stop_informers(self) -> None:
        for informer in self._informers.values():
            informer.stop()
        self._informers.clear()
