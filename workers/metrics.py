"""The workers' Prometheus metrics (prefix `dr_syncer_`), documented in docs/metrics.md.

Worker processes are forked by Celery's prefork pool, so these are multiprocess metrics: the
entry point sets `PROMETHEUS_MULTIPROC_DIR` before this module is imported, each process writes its
own files there, and the one HTTP server in the parent process adds them up (`serve`).
"""

from __future__ import annotations

import glob
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import redis
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from drsyncer.kube import RequestCounters
from drsyncer.redis_target import client_from_url
from drsyncer.sync.result import Outcome, TargetResult

log = logging.getLogger(__name__)

OBJECTS = Counter(
    "dr_syncer_objects",
    "Objects handled by namespace syncs, by destination cluster, kind and "
    "outcome (created, updated, unchanged, pruned, skipped, failed)",
    ["cluster", "kind", "outcome"],
)
SYNC_DURATION = Histogram(
    "dr_syncer_sync_duration_seconds",
    "Duration of one namespace sync task (all its destinations)",
    ["replication"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800),
)
RUNS = Counter(
    "dr_syncer_sync_runs",
    "Finished runs of a Replication (every namespace reported), by phase",
    ["replication", "phase"],
)
API_REQUESTS = Counter(
    "dr_syncer_api_requests", "Kubernetes API requests sent by workers, by cluster", ["cluster"]
)
API_THROTTLED = Counter(
    "dr_syncer_api_throttled", "Kubernetes API answers 429 Too Many Requests, by cluster", ["cluster"]
)
LAST_SUCCESS = Gauge(
    "dr_syncer_last_success_timestamp_seconds",
    "UNIX time of the end of the last run of a Replication that completed without failures",
    ["replication"],
    multiprocess_mode="max",
)
WEBHOOK_DELIVERIES = Counter(
    "dr_syncer_webhook_deliveries",
    "Webhook delivery attempts, by outcome (delivered; retry: no answer, "
    "408, 425, 429 or 5xx, tried again later; failed: refused, or out of retries; error: the endpoint's "
    "Secret could not be used)",
    ["outcome"],
)
TASKS_DROPPED = Counter(
    "dr_syncer_tasks_dropped",
    "Sync tasks dropped without syncing, by reason (deleted, stale, paused, invalid, busy, superseded)",
    ["reason"],
)
QUEUE_METRIC = "dr_syncer_tasks_queued"


def record_targets(results: Iterable[TargetResult]) -> None:
    for target in results:
        for kind, counts in target.counts.items():
            for outcome in Outcome:
                n = getattr(counts, outcome.value)
                if n:
                    OBJECTS.labels(target.destination_cluster, kind, outcome.value).inc(n)


def observe_requests(counters: RequestCounters) -> None:
    """Count every API request of the clients sharing `counters`."""

    # each cluster's child, looked up once: labels() takes the metric's lock and builds its key
    requests: dict[str, Any] = {}

    def observe(cluster: str, _verb: str, status: int) -> None:
        child = requests.get(cluster)
        if child is None:
            child = requests[cluster] = API_REQUESTS.labels(cluster)
        child.inc()
        if status == 429:
            API_THROTTLED.labels(cluster).inc()

    counters.observers.append(observe)


def show_clusters(names: Iterable[str]) -> None:
    """Start the request and 429 counters of these clusters at 0 in this process, so they are
    served from a worker's start rather than from its first request: a counter that appears at 1
    loses that first increase to `rate()` and `increase()`, and an alert on 429s would miss the
    first ones (Prometheus' instrumentation practices: initialise the label sets known in advance)."""
    for name in names:
        API_REQUESTS.labels(name)
        API_THROTTLED.labels(name)


class QueueDepth(Collector):
    """`dr_syncer_tasks_queued{queue}`: tasks waiting in each Celery queue (a Redis list), read when
    scraped. Tasks taken by a worker but not finished are not counted."""

    def __init__(self, redis_url: str, queues: Sequence[str]) -> None:
        self.client = client_from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        self.queues = tuple(queues)

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(QUEUE_METRIC, "Tasks waiting in a Celery queue", labels=["queue"])
        for queue in self.queues:
            try:
                family.add_metric([queue], float(self.client.llen(queue)))
            except redis.RedisError as exc:  # a scrape while Redis is away shows no value, not an error
                log.debug("reading the length of queue %s failed: %s", queue, exc)
        yield family


class ProcessFiles(multiprocess.MultiProcessCollector):
    """Every process's multiprocess files (`<type>_<pid>.db` under `path`), added up, leaving out a
    file its process has not sized yet.

    prometheus-client creates a process's file empty and sizes it a moment later; a scrape that
    reads it in between fails whole (`struct.error`, every metric lost to a 500), and a pool process
    killed in that moment leaves the empty file behind for good (prometheus/client_python#1199, open
    in 0.26). A file only grows, so one found at least a header long (8 bytes) reads whole."""

    def __init__(self, registry: CollectorRegistry | None, path: str) -> None:
        super().__init__(registry, path=path)
        self.path = path

    def collect(self) -> Iterable[Metric]:
        sized = []
        for name in glob.glob(os.path.join(self.path, "*.db")):
            try:
                if os.path.getsize(name) >= 8:
                    sized.append(name)
            except FileNotFoundError:  # a live gauge's file, dropped as its process ended
                continue
        metrics: Iterable[Metric] = self.merge(sized, accumulate=True)
        return metrics


def serve(port: int, redis_url: str, queues: Sequence[str], files: str, address: str = "0.0.0.0") -> None:
    """Serve `/metrics` on `address`:`port` from this (parent) process: every process's
    multiprocess files (in the directory `files`), plus the queue depths."""
    registry = CollectorRegistry()
    ProcessFiles(registry, files)
    registry.register(QueueDepth(redis_url, queues))
    start_http_server(port, addr=address, registry=registry)


def process_exited(pid: int | None = None) -> None:
    """Drop the live-gauge files of a pool process that ended."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid or os.getpid())
