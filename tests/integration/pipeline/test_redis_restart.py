"""Redis without persistence killed and started again on the same port, under the whole pipeline:
beat, the watcher and the workers ride it out without a restart, the watcher writes the schedule
back within 30 s, and a run in flight ends (redelivered, or Failed with reason RunLost), never
Running forever.

The module has a redis-server of its own (it is killed), and its watcher resyncs only every five
minutes, so the schedule can only come back through the watcher noticing that Redis lost it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures import reliability
from tests.fixtures.ports import free_port
from tests.fixtures.probes import run_probe
from tests.fixtures.redis_server import RedisServer, restart_redis, start_redis, stop_redis
from tests.integration.pipeline.conftest import Pipeline, eventually

SCHEDULE_BACK_S = 30.0

# kombu pauses 2 s, 4 s, ... up to 30 s between a worker's tries to reach the broker: the default limit
# of 100 tries takes about 46 minutes. In the worker started with this as its `sitecustomize`, the
# pauses are hundredths of a second, so more tries than that fit in a test; nothing else changes.
SHORT_RECONNECT_PAUSES = """
import kombu.connection

_ensure_connection = kombu.connection.Connection._ensure_connection


def _short_pauses(self, errback=None, max_retries=None, *_intervals, **kwargs):
    return _ensure_connection(self, errback, max_retries, 0.01, 0.01, 0.05, **kwargs)


kombu.connection.Connection._ensure_connection = _short_pauses
"""
CELERY_DEFAULT_TRIES = 100


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    server = start_redis()
    yield server
    stop_redis(server)


@pytest.fixture(scope="module")
def slow_resync(pipeline: Pipeline) -> Pipeline:
    """The module's pipeline with a watcher that resyncs rarely (a full reconcile cannot mask a lost
    schedule)."""
    pipeline.procs["watcher"].stop()
    pipeline.start(
        "watcher",
        "watcher",
        DRSYNCER_METRICS_PORT=str(pipeline.metrics_ports["watcher"]),
        DRSYNCER_PROBE_PORT=str(free_port()),
        DRSYNCER_LEASE_DURATION="3",
        DRSYNCER_RESYNC_INTERVAL="300",
        DRSYNCER_HEALTH_CHECK_INTERVAL="300",
    )
    return pipeline


def _entries(pipe: Pipeline) -> set[str]:
    return {k.decode() for k in pipe.redis().zrange("redbeat::schedule", 0, -1)}


def test_redis_restarted_without_data_is_ridden_out_by_every_process(
    slow_resync: Pipeline, pipe: Pipeline, redis_server: RedisServer
) -> None:
    pipe.seed("rr-sched-a", 3)
    pipe.seed("rr-sched-b", 3)
    pipe.seed("rr-inflight", 800, data_size=64)
    mappings = [{"source": ns, "destination": ns} for ns in ("rr-sched-a", "rr-sched-b")]
    pipe.apply_replication("rr-sched", namespaceMappings=mappings, schedule="@every 10s")
    pipe.apply_replication("rr-inflight", sourceNamespace="rr-inflight", replicationMode="Manual")
    eventually(
        lambda: pipe.status("rr-sched").get("phase") == "Completed",
        timeout_s=60,
        what="the first scheduled run",
    )
    before = eventually(lambda: len(e := _entries(pipe)) == 2 and e, what="two schedule entries")
    eventually(lambda: pipe.status("rr-inflight").get("phase") == "Pending", what="the watcher to see it")
    for cluster in ("dr1", "dr2"):
        pipe.sim(cluster).faults.set(latency_ms=15)  # a run still in flight when Redis goes
    try:
        pipe.send_sync("rr-inflight", ["rr-inflight"])
        eventually(lambda: pipe.status("rr-inflight").get("phase") == "Running", what="the run to start")
        eventually(lambda: len(pipe.configmaps("dr1", "rr-inflight")) >= 50, what="the first writes")

        restart_redis(redis_server)
        restarted = time.monotonic()
        assert _entries(pipe) == set(), "the restarted Redis still holds the schedule"

        eventually(
            lambda: _entries(pipe) == before,
            timeout_s=SCHEDULE_BACK_S,
            what="the watcher to write the schedule back",
        )
        assert time.monotonic() - restarted <= SCHEDULE_BACK_S
        inflight = eventually(
            lambda: (s := pipe.status("rr-inflight")).get("phase") in ("Completed", "Failed") and s,
            timeout_s=90,
            what="the run in flight to end",
        )
    finally:
        for cluster in ("dr1", "dr2"):
            pipe.sim(cluster).faults.clear()
    if inflight["phase"] == "Failed":
        synced = pipe.condition("rr-inflight", "Synced")
        assert synced["status"] == "False" and synced["reason"] == "RunLost", synced
        assert "Redis" in synced["message"]

    # beat took its lock again and sends the scheduled runs; workers took them from the new Redis
    after_restart = pipe.status("rr-sched").get("lastSyncTime")
    eventually(
        lambda: (
            (s := pipe.status("rr-sched")).get("lastSyncTime") != after_restart
            and s.get("phase") == "Completed"
        ),
        timeout_s=60,
        what="a scheduled run after the restart",
    )
    assert pipe.redis().exists("redbeat::lock")
    for name in ("watcher", "beat", "worker-1", "worker-2"):
        assert pipe.procs[name].alive, f"{name} exited:\n{pipe.procs[name].tail()}"

    # a Manual run asked for after the restart completes too: nothing is left broken
    pipe.send_sync("rr-inflight", ["rr-inflight"])
    eventually(
        lambda: (
            pipe.status("rr-inflight").get("phase") == "Completed"
            and len(pipe.configmaps("dr2", "rr-inflight")) == 800
        ),
        timeout_s=120,
        what="a run of the Manual Replication after the restart",
    )
    reliability.record(
        "Redis without persistence SIGKILLed and restarted",
        converged=True,
        recover_s=time.monotonic() - restarted,
        objects=800,
    )


def test_worker_and_beat_keep_trying_while_redis_is_away_their_probes_say_alive_and_they_work_after(
    pipe: Pipeline, redis_server: RedisServer, tmp_path: Path
) -> None:
    (tmp_path / "sitecustomize.py").write_text(SHORT_RECONNECT_PAUSES)
    python_path = os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    namespace = pipe.unique("rr-patient")
    pipe.seed(namespace, 5)
    pipe.apply_replication(namespace, sourceNamespace=namespace, replicationMode="Manual")
    eventually(lambda: pipe.status(namespace).get("phase") == "Pending", what="the watcher to see it")
    for name in ("worker-1", "worker-2"):  # the run below can only be this worker's
        pipe.procs[name].stop()
    patient = pipe.start_worker("worker-patient", PYTHONPATH=python_path)
    heartbeats = {
        "worker": pipe.workdir / "worker-patient.heartbeat",
        "beat": pipe.workdir / "beat.heartbeat",
    }
    try:
        pipe.wait_workers_ready("worker-patient")

        def tries() -> int:
            return patient.log_path.read_text(errors="replace").count("consumer: Cannot connect")

        def touched_since(path: Path, since: float) -> bool:
            return path.exists() and path.stat().st_mtime > since

        def away_long_enough() -> None:
            went = time.time()
            eventually(
                lambda: (
                    not patient.alive
                    or (
                        tries() > CELERY_DEFAULT_TRIES + 20
                        and all(touched_since(path, went) for path in heartbeats.values())
                    )
                ),
                timeout_s=60,
                what="more tries to reach Redis than Celery makes by default, and both heartbeats touched",
            )
            assert patient.alive, f"the worker exited after {tries()} tries:\n{patient.tail(30)}"
            for role in heartbeats:
                result = run_probe(role, heartbeats[role])  # the chart's limit: the default
                assert result.returncode == 0, f"{role}: {result.stdout}{result.stderr}"

        restart_redis(redis_server, down_until=away_long_enough)

        pipe.send_sync(namespace, [namespace])
        eventually(
            lambda: (
                pipe.status(namespace).get("phase") == "Completed"
                and len(pipe.configmaps("dr1", namespace)) == 5
            ),
            timeout_s=60,
            what="the run, taken by the worker that waited for Redis",
        )
    finally:
        patient.stop()
