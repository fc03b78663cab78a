"""Several watcher replicas: one leads through the Lease, a standby takes over when it goes."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.children import popen
from tests.fixtures.ports import free_port
from tests.integration.scheduler.conftest import LEASES, NS, RunningWatcher, World, eventually, replication

StartWatcher = Callable[..., RunningWatcher]
LEASE = "drsyncer-watcher"
LEASE_S = 3.0
RENEW_S = LEASE_S / 3
TAKE_SLACK_S = 0.5


def _holder(world: World) -> str:
    lease = world.controller.get(LEASES, NS, LEASE) or {}
    return str((lease.get("spec") or {}).get("holderIdentity") or "")


def test_two_watchers_elect_one_leader_and_a_stopped_leader_hands_over(
    world: World, start_watcher: StartWatcher
) -> None:
    replicas = {
        r.service.settings.identity: r
        for r in (start_watcher(identity="watcher-a"), start_watcher(identity="watcher-b"))
    }
    leader_id = eventually(lambda: _holder(world), what="a Lease holder")
    eventually(
        lambda: sum(r.service.is_leader for r in replicas.values()) == 1, what="exactly one active watcher"
    )
    leader = replicas[leader_id].service
    standby = next(r.service for i, r in replicas.items() if i != leader_id)
    assert leader.is_leader and leader.watcher is not None and standby.watcher is None
    eventually(
        lambda: standby.ready() == (True, f"standby (leader: {leader_id})"),
        what="the standby to be ready and know the leader",
    )

    world.apply(replication("web"))
    eventually(lambda: world.entries() == {f"drsyncer:{NS}/web:web"}, what="the entry from the leader")

    # a clean shutdown releases the Lease, so the standby takes over at its next step instead of
    # after a whole lease duration without renewal
    replicas[leader_id].stop()
    stopped_at = time.monotonic()
    eventually(lambda: standby.is_leader, timeout_s=LEASE_S, what="the standby to take over")
    assert time.monotonic() - stopped_at < LEASE_S
    assert _holder(world) == standby.settings.identity

    world.patch("web", {"spec": {"schedule": "@every 1m"}})
    eventually(
        lambda: world.entry(f"drsyncer:{NS}/web:web").schedule.run_every.total_seconds() == 60,
        what="the new leader to update the entry",
    )


# -- separate processes ------------------------------------------------------------------------------


class WatcherProcess:
    def __init__(self, identity: str, kubeconfig: Path, redis_url: str, log: Path) -> None:
        self.identity = identity
        self.probe_port = free_port()
        self.metrics_port = free_port()
        self.log = log
        command = [
            sys.executable,
            "-m",
            "drsyncer.cli",
            "watcher",
            "--kubeconfig",
            str(kubeconfig),
            "--kube-context",
            "controller",
            "--redis-url",
            redis_url,
            "--watch-namespace",
            NS,
            "--identity",
            identity,
            "--lease-duration",
            str(int(LEASE_S)),
            "--resync-interval",
            "5",
            "--health-check-interval",
            "1h",
            "--metrics-port",
            str(self.metrics_port),
            "--probe-port",
            str(self.probe_port),
            "--log-format",
            "json",
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("DRSYNCER_")}
        self._out = log.open("wb")
        self.process = popen(command, stdout=self._out, stderr=subprocess.STDOUT, env=env)

    def probe(self, path: str) -> tuple[int, dict[str, Any]]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.probe_port}{path}", timeout=2) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())
        except OSError:
            return 0, {}

    def metric(self, name: str) -> float | None:
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                text = response.read().decode()
        except OSError:
            return None
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return None

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._out.close()


@pytest.fixture
def watcher_processes(world: World, tmp_path: Path) -> Iterator[Callable[[str], WatcherProcess]]:
    kubeconfig = world.fleet.write_kubeconfig(tmp_path / "kubeconfig")
    started: list[WatcherProcess] = []

    def start(identity: str) -> WatcherProcess:
        process = WatcherProcess(identity, kubeconfig, world.redis_url, tmp_path / f"{identity}.log")
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def test_killed_leader_process_is_replaced_within_the_lease_duration(
    world: World, watcher_processes: Callable[[str], WatcherProcess]
) -> None:
    processes = {p.identity: p for p in (watcher_processes("proc-a"), watcher_processes("proc-b"))}
    leader_id = eventually(lambda: _holder(world), timeout_s=20, what="a Lease holder")
    for process in processes.values():
        eventually(
            lambda p=process: p.probe("/readyz")[0] == 200,
            timeout_s=20,  # type: ignore[misc]
            what=f"{process.identity} to be ready",
        )
        assert process.probe("/healthz")[0] == 200
    standby_id = next(i for i in processes if i != leader_id)
    assert processes[standby_id].probe("/readyz")[1]["message"].startswith("standby")
    eventually(
        lambda: processes[leader_id].metric("dr_syncer_watcher_leader") == 1.0, what="the leader's metric"
    )
    assert processes[standby_id].metric("dr_syncer_watcher_leader") == 0.0

    world.apply(replication("web"))
    eventually(lambda: world.entries() == {f"drsyncer:{NS}/web:web"}, what="the entry from the leader")

    processes[leader_id].kill()
    killed_at = time.monotonic()
    # the Lease runs out a lease duration after its last renewal, which came before the kill; the
    # standby steps at that moment (TAKE_SLACK_S: one election round trip and process scheduling)
    eventually(
        lambda: _holder(world) == standby_id,
        timeout_s=LEASE_S + TAKE_SLACK_S,
        what="the standby to take the Lease",
    )
    took = time.monotonic() - killed_at
    assert took <= LEASE_S + TAKE_SLACK_S, f"took over {took:.2f}s after the kill"

    world.patch("web", {"spec": {"paused": True}})
    eventually(lambda: world.entries() == set(), what="the new leader to follow the change")
    status, body = processes[standby_id].probe("/readyz")
    assert status == 200 and body["message"] == "leader"


def test_a_leader_that_cannot_renew_steps_down_and_writes_nothing_until_it_can(
    world: World, start_watcher: StartWatcher, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="scheduler.leader")
    service = start_watcher(identity="watcher-a").service
    eventually(lambda: service.is_leader, what="the only replica to lead")
    world.fleet["controller"].faults.set(error_rates={"get/leases": {503: 1.0}})
    # is_leader turns False two thirds of a duration after the last renewal; the watcher stops at the
    # election loop's next step
    eventually(
        lambda: not service.is_leader and service.watcher is None,
        timeout_s=LEASE_S + RENEW_S,
        what="the leader to step down before its Lease expires for the others",
    )

    # once the Lease it last read has run out, the replica asks the API server once per renew
    # interval, as before it: it asked (and logged) every 10 ms for as long as the server was away
    def steps() -> int:
        return len([r for r in caplog.records if "leader election" in r.getMessage()])

    eventually(
        lambda: service.elector.seconds_to_expiry() is None,
        timeout_s=LEASE_S + RENEW_S,
        what="the Lease it last read to run out",
    )
    before, started = steps(), time.monotonic()
    eventually(lambda: steps() >= before + 3, timeout_s=5 * RENEW_S, what="three more election steps")
    took = time.monotonic() - started
    assert took >= 1.5 * RENEW_S, f"three failed election steps in {took:.2f} s"

    world.apply(replication("web"))
    world.fleet["controller"].faults.clear()
    eventually(lambda: service.is_leader, timeout_s=2 * LEASE_S, what="leading again")
    eventually(lambda: world.entries() == {f"drsyncer:{NS}/web:web"}, what="the entry once leading again")


def test_lease_writes_are_audited_as_the_watchers_and_renewals_at_debug(
    world: World, start_watcher: StartWatcher, caplog: pytest.LogCaptureFixture
) -> None:
    # a leader renews every RENEW_S all day: at INFO the audit log would be mostly renewals
    caplog.set_level("DEBUG", logger="drsyncer.audit")
    start_watcher(identity="watcher-a")
    eventually(lambda: _holder(world) == "watcher-a", what="the Lease taken")

    def lease_writes() -> list[tuple[int, dict[str, Any]]]:
        return [
            (r.levelno, json.loads(r.getMessage()))
            for r in caplog.records
            if r.name == "drsyncer.audit" and '"resource":"leases' in r.getMessage()
        ]

    writes = eventually(lambda: (w := lease_writes()) and len(w) >= 3 and w, what="the take and two renewals")
    levels = [level for level, _ in writes]
    assert levels[0] == logging.INFO and writes[0][1]["verb"] == "create", writes  # the take
    assert set(levels[1:]) == {logging.DEBUG}, writes  # the renewals
    assert all(line["outcome"] == "success" for _, line in writes)
    assert all(line["actor"]["component"] == "watcher" for _, line in writes), writes
