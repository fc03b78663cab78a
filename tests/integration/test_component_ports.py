"""Ports of the long-running components: distinct defaults, and a clash ends the process in one line
that names the setting, leaving nothing behind in the temporary directory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from drsyncer.config import WORKER_DEFAULTS, load_settings


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port some other process listens on."""
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def _run(command: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DRSYNCER_", "PROMETHEUS_"))}
    return subprocess.run(
        [sys.executable, "-m", "drsyncer.cli", command],
        env={**clean, "TMPDIR": str(tmp_path), "DRSYNCER_REDIS_URL": "redis://127.0.0.1:1/0", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_watcher_and_worker_default_to_different_metrics_ports() -> None:
    watcher = load_settings({}, in_cluster_namespace=lambda: None)
    worker = load_settings({}, defaults=WORKER_DEFAULTS, in_cluster_namespace=lambda: None)
    assert (watcher.metrics_port, worker.metrics_port) == (9090, 9091)
    # a port set explicitly wins over the component's default
    assert (
        load_settings(
            {"DRSYNCER_METRICS_PORT": "9300"}, defaults=WORKER_DEFAULTS, in_cluster_namespace=lambda: None
        ).metrics_port
        == 9300
    )


def test_worker_on_a_taken_metrics_port_says_which_setting_and_leaves_no_metrics_directory(
    tmp_path: Path, taken_port: int
) -> None:
    done = _run("worker", tmp_path, DRSYNCER_METRICS_PORT=str(taken_port))

    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        f"drsyncer worker: cannot listen on port {taken_port} (Address already in use): another process "
        "uses it; set DRSYNCER_METRICS_PORT (--metrics-port) to a free port"
    )
    assert "Traceback" not in done.stderr
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("drsyncer-metrics-")] == []


def test_watcher_on_a_taken_port_says_which_setting(tmp_path: Path, taken_port: int) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: c, cluster: {server: 'http://127.0.0.1:1'}}]\n"
        "users: [{name: u, user: {}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\n"
    )
    for setting, flag, other in (
        ("DRSYNCER_PROBE_PORT", "--probe-port", "DRSYNCER_METRICS_PORT"),
        ("DRSYNCER_METRICS_PORT", "--metrics-port", "DRSYNCER_PROBE_PORT"),
    ):
        ports = {setting: str(taken_port), other: "0"}
        done = _run("watcher", tmp_path, DRSYNCER_KUBECONFIG=str(kubeconfig), **ports)
        assert done.returncode == 1, done.stderr
        last = done.stderr.strip().splitlines()[-1]
        assert last.startswith(f"drsyncer watcher: cannot listen on port {taken_port}")
        assert last.endswith(f"set {setting} ({flag}) to a free port")
        assert "Traceback" not in done.stderr
