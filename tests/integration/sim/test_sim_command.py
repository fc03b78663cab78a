"""`drsyncer sim` as a process: its kubeconfig works for the Python client and for kubectl."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from kubernetes import client, config

from tests.fixtures.sim import start_sim_command, stop_sim_command


def _start(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen[str], Path]:
    kubeconfig = tmp_path / "fleet.kubeconfig"
    return start_sim_command(
        kubeconfig, "--clusters", "controller,source,dr1", *extra, timeout_s=20
    ), kubeconfig


def test_sim_command_serves_every_context_to_the_python_client(tmp_path: Path) -> None:
    proc, kubeconfig = _start(tmp_path, "--tls", "--token")
    try:
        contexts, _ = config.list_kube_config_contexts(str(kubeconfig))
        assert [c["name"] for c in contexts] == ["controller", "source", "dr1"]
        for name in ("controller", "source", "dr1"):
            api = config.new_client_from_config(str(kubeconfig), context=name)
            names = [n.metadata.name for n in client.CoreV1Api(api).list_namespace().items]
            assert "default" in names
            assert api.configuration.host.startswith("https://127.0.0.1:")
    finally:
        assert stop_sim_command(proc) == 0


@pytest.mark.kubectl
@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH")
def test_sim_command_kubeconfig_works_with_kubectl(tmp_path: Path) -> None:
    proc, kubeconfig = _start(tmp_path, "--tls", "--token")
    try:
        for context in ("source", "dr1"):
            result = subprocess.run(
                [
                    "kubectl",
                    "--kubeconfig",
                    str(kubeconfig),
                    "--context",
                    context,
                    "get",
                    "namespaces",
                    "-o",
                    "name",
                ],
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert result.returncode == 0, result.stderr
            assert "namespace/default" in result.stdout.split()
    finally:
        assert stop_sim_command(proc) == 0
