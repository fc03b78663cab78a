"""The KEDA trigger of the chart counts the Redis list Celery really uses for the sync queue: a
real `drsyncer worker` declares the queue, a task sent to it waits in that list while no worker
runs, and a worker started again takes it from there."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from scheduler.celery_app import make_app
from tests.fixtures.children import popen
from tests.fixtures.helm import Release
from tests.fixtures.polling import eventually


@pytest.fixture
def start_worker(redis_url: str, tmp_path: Path) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """`drsyncer worker` on the queue `sync` only, as the chart runs it with healthWorkers on."""
    started: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DRSYNCER_", "PROMETHEUS_"))}
        env.update(
            {
                "DRSYNCER_REDIS_URL": redis_url,
                "DRSYNCER_QUEUES": "sync",
                "DRSYNCER_CONCURRENCY": "1",
                "DRSYNCER_METRICS_PORT": "0",
                "DRSYNCER_HEARTBEAT_FILE": str(tmp_path / "heartbeat"),
                "DRSYNCER_METRICS_DIR": str(tmp_path / "metrics"),
                "PYTHONUNBUFFERED": "1",
            }
        )
        log = (tmp_path / f"worker-{len(started)}.log").open("ab")
        proc = popen(
            [sys.executable, "-m", "drsyncer.cli", "worker"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM; a worker still stopping 2 s later (in Celery's soft shutdown, a fixed wait whenever a
    task was running at the signal) gets SIGQUIT, which ends it at once; SIGKILL as the last resort."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(2)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGQUIT)
            try:
                proc.wait(18)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
    with contextlib.suppress(ProcessLookupError):  # pool processes left behind
        os.killpg(proc.pid, signal.SIGKILL)


def _trigger(release: Release) -> dict[str, str]:
    triggers = release.one("ScaledObject")["spec"]["triggers"]
    assert [t["type"] for t in triggers] == ["redis"]
    metadata: dict[str, str] = triggers[0]["metadata"]
    return metadata


Starter = Callable[[], subprocess.Popen[bytes]]


def test_keda_counts_the_redis_list_a_real_worker_consumes(
    releases: dict[str, Release], redis_url: str, start_worker: Starter
) -> None:
    trigger = _trigger(releases["everything"])
    list_name = trigger["listName"]
    client = redis.Redis.from_url(redis_url)
    # the bundled Redis URL names the database KEDA reads
    assert trigger["databaseIndex"] == redis_url.rsplit("/", 1)[1] == "0"
    assert trigger["address"] == "dr-drsyncer-redis.drsyncer.svc:6379"

    worker = start_worker()
    bindings = eventually(
        lambda: client.smembers(f"_kombu.binding.{list_name}"),
        timeout_s=60,
        what="the worker to declare its queue",
    )
    # kombu's binding entry: routing key, pattern, queue, separated by \x06\x16
    assert any(entry.split(b"\x06\x16")[-1] == list_name.encode() for entry in bindings)
    stop(worker)

    sender = make_app(redis_url)
    try:
        sender.send_task("drsyncer.sync_namespace", kwargs={"source_namespace": "web"}, queue="sync")
    finally:
        sender.close()
    assert client.type(list_name) == b"list"
    assert client.llen(list_name) == 1
    # no other list holds it: what KEDA counts is the whole backlog of the queue
    lists = [key for key in client.keys("*") if client.type(key) == b"list"]
    assert lists == [list_name.encode()]

    start_worker()
    eventually(
        lambda: client.llen(list_name) == 0, timeout_s=60, what="the restarted worker to take the task"
    )
