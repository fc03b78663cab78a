"""Local kubeconfig files (the CLI's --kubeconfig): file references and exec plugins work there."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from drsyncer.kube import ApiError, KubeconfigError, client_from_kubeconfig_file
from drsyncer.sim import SimCluster


@pytest.fixture
def sim() -> Iterator[SimCluster]:
    with SimCluster("dr1", tls=True, token="file-token") as cluster:
        yield cluster


def test_a_kubeconfig_file_may_point_at_files_next_to_it(tmp_path: Path, sim: SimCluster) -> None:
    assert sim.ca_pem is not None
    (tmp_path / "ca.crt").write_bytes(sim.ca_pem)
    (tmp_path / "token").write_text("file-token\n")
    config = sim.kubeconfig_dict()
    config["clusters"][0]["cluster"] = {"server": sim.url, "certificate-authority": "ca.crt"}
    config["users"][0]["user"] = {"tokenFile": "token"}
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(config))
    with client_from_kubeconfig_file(path, context="dr1") as client:
        assert client.name == "dr1"
        assert client.server_version()


def test_a_kubeconfig_file_may_use_an_exec_credential_plugin(tmp_path: Path, sim: SimCluster) -> None:
    credential = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "status": {"token": "file-token"},
    }
    config = sim.kubeconfig_dict()
    config["users"][0]["user"] = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": sys.executable,
            "args": ["-c", f"print({json.dumps(json.dumps(credential))})"],
            "interactiveMode": "Never",
        }
    }
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(config))
    with client_from_kubeconfig_file(path) as client:
        assert client.server_version()


def test_a_wrong_token_in_a_file_is_unauthorized(tmp_path: Path, sim: SimCluster) -> None:
    config = sim.kubeconfig_dict()
    config["users"][0]["user"] = {"token": "nope"}
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(config))
    with client_from_kubeconfig_file(path) as client, pytest.raises(ApiError) as raised:
        client.server_version()
    assert raised.value.status == 401 and f"kubeconfig {path}" in str(raised.value)


def test_a_missing_file_is_a_kubeconfig_error(tmp_path: Path) -> None:
    with pytest.raises(KubeconfigError, match="cannot read"):
        client_from_kubeconfig_file(tmp_path / "absent")
