"""A worker told to stop (SIGTERM, as Kubernetes does) while Redis is unreachable exits within
`DRSYNCER_SHUTDOWN_TIMEOUT` of the signal (and a second for the exit itself): Redis frozen
(connections neither answered nor refused, as in a network partition) or gone (connections
refused)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures import reliability
from tests.fixtures.children import popen
from tests.fixtures.polling import eventually
from tests.fixtures.redis_server import RedisServer, start_redis, stop_redis

SHUTDOWN_TIMEOUT_S = 8
# the deadline counts from the signal; this is for the exit itself (killing the pool, the OS reaping)
SLACK_S = 1


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = start_redis()
    yield server
    if server.process.poll() is None:
        os.kill(server.process.pid, signal.SIGCONT)
    stop_redis(server)


def _start_worker(redis: RedisServer, workdir: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DRSYNCER_", "PROMETHEUS_"))}
    env.update(
        {
            "DRSYNCER_REDIS_URL": redis.url,
            "DRSYNCER_SHUTDOWN_TIMEOUT": str(SHUTDOWN_TIMEOUT_S),
            "DRSYNCER_HEARTBEAT_FILE": str(workdir / "worker.heartbeat"),
            "DRSYNCER_METRICS_PORT": "0",
            "DRSYNCER_METRICS_DIR": str(workdir / "metrics"),
            "DRSYNCER_CONCURRENCY": "2",
            "PYTHONUNBUFFERED": "1",
        }
    )
    with (workdir / "worker.log").open("ab") as log:
        proc = popen(
            [sys.executable, "-m", "drsyncer.cli", "worker"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    eventually(lambda: (workdir / "worker.heartbeat").exists(), 60, "the worker to start consuming")
    return proc


def _stopped_within(proc: subprocess.Popen[bytes], workdir: Path) -> float:
    started = time.monotonic()
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(SHUTDOWN_TIMEOUT_S + SLACK_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        pytest.fail(
            f"the worker was still running {SHUTDOWN_TIMEOUT_S + SLACK_S} s after SIGTERM:\n"
            + (workdir / "worker.log").read_text(errors="replace")[-3000:]
        )
    return time.monotonic() - started


@pytest.mark.parametrize("outage", ["frozen", "gone"])
def test_worker_sigterm_while_redis_is_unreachable_exits_within_the_shutdown_timeout(
    own_redis: RedisServer, tmp_path: Path, outage: str
) -> None:
    proc = _start_worker(own_redis, tmp_path)
    try:
        if outage == "frozen":
            os.kill(own_redis.process.pid, signal.SIGSTOP)
        else:
            own_redis.process.kill()
            own_redis.process.wait()
        took = _stopped_within(proc, tmp_path)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    assert took <= SHUTDOWN_TIMEOUT_S + SLACK_S
    reliability.record(
        f"worker SIGTERM with Redis {outage} (shutdown timeout {SHUTDOWN_TIMEOUT_S} s)",
        converged=True,
        recover_s=took,
    )
    # nothing of the worker (pool processes) is left behind
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)
