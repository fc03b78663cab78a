"""Beat started while Redis is not reachable yet (starting beside it, restarting) waits for it, as it
does while it runs, instead of ending with a traceback, alive to its liveness probe; once Redis
answers it starts and ticks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.fixtures.children import popen
from tests.fixtures.polling import eventually
from tests.fixtures.probes import run_probe
from tests.fixtures.redis_server import restart_redis, start_redis, stop_redis


def test_beat_waits_for_redis_at_its_start_and_starts_once_it_answers(tmp_path: Path) -> None:
    server = start_redis()
    stop_redis(server)  # its port is now free: nothing answers there until it is started again
    log_path = tmp_path / "beat.log"
    heartbeat = tmp_path / "beat.heartbeat"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRSYNCER_")}
    env.update(
        {
            "DRSYNCER_REDIS_URL": f"redis://:s3cret-pw@{server.host}:{server.port}/0",
            "DRSYNCER_HEARTBEAT_FILE": str(heartbeat),
            "DRSYNCER_BEAT_MAX_INTERVAL": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    with log_path.open("wb") as log:
        beat = popen(
            [sys.executable, "-m", "drsyncer.cli", "beat"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        eventually(
            lambda: "beat: Redis unreachable (" in log_path.read_text(),
            timeout_s=60,
            what="beat to say it waits",
        )
        assert beat.poll() is None, log_path.read_text()
        # waiting is being alive: the liveness probe must not restart a beat that a restart cannot help
        eventually(heartbeat.exists, what="the heartbeat file touched while beat waits")
        probe = run_probe("beat", heartbeat)
        assert probe.returncode == 0, probe.stdout + probe.stderr

        restart_redis(server)  # an empty redis-server on the same port
        # RedBeat's lock taken (beat started), then the heartbeat touched by a tick, not a wait
        eventually(lambda: server.client().exists("redbeat::lock"), timeout_s=60, what="beat to start")
        started = time.time()
        eventually(lambda: heartbeat.stat().st_mtime > started, timeout_s=30, what="beat to tick")
        text = log_path.read_text()
        assert "beat: Redis is back; starting" in text
        assert text.count("Redis unreachable") == 1  # said once, not once a second
        assert "Traceback" not in text and "s3cret-pw" not in text
        assert beat.poll() is None
    finally:
        beat.send_signal(signal.SIGTERM)
        try:
            beat.wait(timeout=20)
        except subprocess.TimeoutExpired:
            beat.kill()
            beat.wait()
        stop_redis(server)
