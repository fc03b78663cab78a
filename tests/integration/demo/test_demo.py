"""`drsyncer demo` end to end: child processes, a first sync, a summary that matches the DR clusters,
and a shutdown that leaves nothing running. The `--once` run with redis-server, its summary against
docs/demo.md and a second run in the same work directory are checked on the README's install-and-demo
command (test_readme.py), which runs that same demo."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from drsyncer.demo import sample
from drsyncer.demo.redis_choice import EMBEDDED, REAL, plan_redis
from drsyncer.kube.discovery import offline_ref
from tests.fixtures.children import popen
from tests.integration.demo.conftest import (
    alive,
    demo_argv,
    demo_env,
    descendants,
    dr_client,
    parse_summary,
    run_demo,
)

pytestmark = pytest.mark.slow

DEPLOYMENTS = offline_ref("deployments")


def _check_summary_against_clusters(output: str, kubeconfig: Path) -> None:
    """The summary's counts and scale-downs are what the DR clusters hold."""
    summary = parse_summary(output)
    assert set(summary) == set(sample.DESTINATIONS), output
    app = sample.application()
    for cluster in sample.DESTINATIONS:
        row = summary[cluster]
        assert row.failed == 0 and row.check == "ok"
        client = dr_client(kubeconfig, cluster)
        try:
            copies = 0
            for name in sample.RESOURCE_TYPES:
                ref = client.resolve(name)
                copies += sum(
                    1
                    for o in client.list(ref, label_selector="dr-syncer.io/managed-by=drsyncer")
                    if o["metadata"].get("namespace") in sample.NAMESPACES
                )
            assert copies == row.found == len(app)
            # one CRD write per target namespace on top of the copies
            assert row.created + row.updated + row.unchanged == copies + len(sample.NAMESPACES)
            for obj in app:
                if obj["kind"] != "Deployment":
                    continue
                there = client.get(DEPLOYMENTS, obj["metadata"]["namespace"], obj["metadata"]["name"])
                assert there is not None and there["spec"]["replicas"] == 0
                key = f"{obj['metadata']['namespace']}/{obj['metadata']['name']}"
                assert row.scaled[key] == obj["spec"]["replicas"]
        finally:
            client.close()


def test_demo_with_the_embedded_redis_summary_matches_the_dr_clusters_and_ctrl_c_stops_everything(
    tmp_path: Path,
) -> None:
    workdir = tmp_path / "work"
    # PATH without redis-server: the demo has to fall back to the embedded one by itself
    path = str(tmp_path / "empty-path")
    os.mkdir(path)
    proc = popen(
        demo_argv("--workdir", str(workdir), "--no-flower", "--workers", "1"),
        death_signal=signal.SIGTERM,  # the demo stops the processes it started before it exits
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=demo_env(tmp_path, path),
        stdin=subprocess.DEVNULL,
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 240
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("running;") or time.monotonic() > deadline:
                break
        output = "".join(lines)
        assert "running;" in output, output
        assert "embedded pure-Python Redis" in output
        _check_summary_against_clusters(output, workdir / "kubeconfig")
        # the operator commands against the running pipeline: a sync-now run is followed to its end
        flags = ["--kubeconfig", str(workdir / "kubeconfig"), "--context", "controller", "-n", "dr-system"]
        now = subprocess.run(
            [sys.executable, "-m", "drsyncer.cli", "sync-now", *flags, "shop", "--wait", "--timeout", "90"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert now.returncode == 0, now.stdout + now.stderr
        assert "phase           Completed" in now.stdout
        below = descendants(proc.pid)
        assert len(below) >= 5  # sim, redis, watcher, beat, worker (and its pool)
        # nothing of the demo is reachable from another machine: metrics and probes on loopback too
        listening = {
            (conn.laddr.ip, conn.laddr.port)
            for pid in below
            if alive(pid)
            for conn in psutil.Process(pid).net_connections(kind="inet")
            if conn.status == psutil.CONN_LISTEN
        }
        assert len(listening) >= 4, listening  # the clusters, Redis, the watcher's and worker's ports
        assert {ip for ip, _ in listening} == {"127.0.0.1"}, listening
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            rest, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            rest, _ = proc.communicate()
    assert proc.returncode == 0, "".join(lines) + rest
    assert "stopping" in rest and "had to kill" not in rest
    assert not [pid for pid in below if alive(pid)], "processes left running after the demo stopped"


def test_demo_once_fails_with_the_log_of_a_child_that_dies_at_start(tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    env = demo_env(tmp_path)
    # a setting every component refuses: whichever is noticed first (watcher, beat, a worker) is reported
    env["DRSYNCER_TASK_TIME_LIMIT"] = "2h"

    result = subprocess.run(
        demo_argv("--once", "--workdir", str(workdir), "--no-flower"),
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        stdin=subprocess.DEVNULL,
    )

    assert result.returncode == 1
    err = result.stderr
    assert re.match(r"drsyncer demo: (watcher|beat|worker-\d) \(pid \d+\) exited with status 1", err), err
    assert "DRSYNCER_TASK_TIME_LIMIT" in err  # the end of its log
    assert "Traceback" not in err.split("last lines of")[0]


def test_demo_refuses_a_work_directory_it_cannot_use(tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    (workdir / "kubeconfig").mkdir(parents=True)
    (workdir / "kubeconfig" / "keep").write_text("a directory where the kubeconfig should go")

    result = run_demo(tmp_path, "--once", "--workdir", str(workdir), timeout_s=60)

    assert result.returncode == 1
    assert result.stderr.startswith(f"drsyncer demo: cannot use {workdir / 'kubeconfig'}")


def test_redis_choice_falls_back_to_the_embedded_server_without_redis_server(tmp_path: Path) -> None:
    assert plan_redis("auto", 6400, tmp_path, which="").kind == EMBEDDED
    assert plan_redis("auto", 6400, tmp_path, which="/usr/bin/redis-server").kind == REAL
    assert plan_redis("embedded", 6400, tmp_path, which="/usr/bin/redis-server").kind == EMBEDDED
    real = plan_redis("server", 6400, tmp_path, which="/usr/bin/redis-server")
    assert "noeviction" in real.argv and real.url == "redis://127.0.0.1:6400/0"
    # the user hears why only when the demo chose the slower Redis for them
    assert "no redis-server on PATH" in (plan_redis("auto", 6400, tmp_path, which="").note or "")
    assert plan_redis("embedded", 6400, tmp_path, which="/usr/bin/redis-server").note is None
    assert plan_redis("embedded", 6400, tmp_path, which="").note is None
    assert real.note is None
