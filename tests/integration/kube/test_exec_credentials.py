"""Exec credential plugins in kubeconfig Secrets, against simulated clusters that accept only the token
the plugin script issued last; and token files read again when they change."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from drsyncer.errors import Category
from drsyncer.kube import ClusterClient, ClusterClients, KubeconfigError, client_from_kubeconfig_file
from drsyncer.kube.exec_credentials import ExecPolicy
from drsyncer.sim import SimCluster
from tests.fixtures.exec_plugins import Plugin
from tests.fixtures.polling import eventually
from tests.integration.kube.conftest import kubeconfig_text, put_secret, remote_cluster
from tests.integration.kube.test_client_certificates import _client_pair

V1 = "client.authentication.k8s.io/v1"
V1BETA1 = "client.authentication.k8s.io/v1beta1"


def _clients_for(
    controller: ClusterClient,
    dr1: SimCluster,
    plugin: Plugin,
    *,
    allowed: bool = True,
    timeout_s: float = 10.0,
    api_version: str = V1,
) -> tuple[ClusterClients, dict]:
    config = dr1.kubeconfig_dict()
    config["users"][0]["user"] = plugin.exec_user(api_version, provideClusterInfo=True)
    put_secret(controller, "dr1-exec", {"kubeconfig": kubeconfig_text(config)})
    policy = ExecPolicy.of([plugin.command] if allowed else ["aws"], timeout_s)
    return ClusterClients(controller, exec_policy=policy), remote_cluster("dr1", "dr1-exec")


@pytest.mark.parametrize("api_version", [V1, V1BETA1])
def test_a_plugin_on_the_allow_list_gives_the_token_the_cluster_accepts(
    controller: ClusterClient,
    dr1: SimCluster,
    tmp_path: Path,
    api_version: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dr1.api.token = "issued-1"
    plugin = Plugin.create(tmp_path, token="issued-1")
    monkeypatch.setenv("DRSYNCER_REDIS_URL", "redis://:not-for-plugins@localhost:6379/0")
    clients, rc = _clients_for(controller, dr1, plugin, api_version=api_version)
    client = clients.get(rc)
    assert client.server_version() and client.resolve("ns").kind == "Namespace"
    (run,) = plugin.runs()  # cached: one run serves every request
    assert run["info"]["apiVersion"] == api_version and run["info"]["spec"]["interactive"] is False
    assert run["info"]["spec"]["cluster"]["server"] == dr1.url  # provideClusterInfo
    assert (run["args"], run["env"], run["stdin"]) == (["--cluster", "dr1"], "hello", "closed")
    assert run["drsyncer_env"] == []  # drsyncer's own settings (the Redis password) stay with it
    clients.close()


def test_an_expiring_token_is_renewed_before_it_expires_and_a_rejected_one_at_once(
    controller: ClusterClient, dr1: SimCluster, tmp_path: Path
) -> None:
    dr1.api.token = "issued-1"
    plugin = Plugin.create(tmp_path, token="issued-1", ttl=1.5)
    clients, rc = _clients_for(controller, dr1, plugin)
    client = clients.get(rc)
    # requests keep succeeding while the plugin runs again shortly before each expiry
    eventually(
        lambda: client.server_version() and len(plugin.runs()) >= 2,
        timeout_s=15,
        what="the plugin to renew the token",
    )
    # the cluster revokes the token: the next request is rejected once, renewed, and sent again
    plugin.set(token="issued-2", ttl=3600)
    dr1.api.token = "issued-2"
    runs = len(plugin.runs())
    assert client.server_version()
    assert len(plugin.runs()) == runs + 1
    clients.close()


def test_a_plugin_not_on_the_allow_list_never_runs(
    controller: ClusterClient, dr1: SimCluster, tmp_path: Path
) -> None:
    plugin = Plugin.create(tmp_path, token="issued-1")
    clients, rc = _clients_for(controller, dr1, plugin, allowed=False)
    with pytest.raises(KubeconfigError) as raised:
        clients.get(rc)
    message = str(raised.value)
    assert raised.value.category is Category.NON_RETRYABLE and raised.value.condition == "KubeconfigValid"
    assert "RemoteCluster dr-system/dr1" in message and "exec plugin 'plugin'" in message
    assert "not on the allow-list" in message and "DRSYNCER_EXEC_PLUGINS" in message
    assert plugin.runs() == []


def test_a_failing_plugin_is_retryable_and_its_output_is_not_shown(
    controller: ClusterClient, dr1: SimCluster, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    plugin = Plugin.create(tmp_path, token="issued-1", mode="fail")
    clients, rc = _clients_for(controller, dr1, plugin)
    with pytest.raises(KubeconfigError) as raised:
        clients.get(rc)
    message = str(raised.value)
    assert raised.value.category is Category.RETRYABLE
    assert "RemoteCluster dr-system/dr1" in message and "'plugin' failed with exit status 3" in message
    assert "issued-1" not in message and "issued-1" not in caplog.text


def test_a_hanging_plugin_is_stopped_at_the_timeout(
    controller: ClusterClient, dr1: SimCluster, tmp_path: Path
) -> None:
    plugin = Plugin.create(tmp_path, mode="hang")
    clients, rc = _clients_for(controller, dr1, plugin, timeout_s=1)
    started = time.monotonic()
    with pytest.raises(KubeconfigError) as raised:
        clients.get(rc)
    assert time.monotonic() - started < 10
    assert raised.value.category is Category.RETRYABLE
    assert "'plugin' gave no credential within 1s and was stopped" in str(raised.value)


def test_a_plugin_may_answer_with_a_client_certificate(controller: ClusterClient, tmp_path: Path) -> None:
    cert, key = _client_pair()
    plugin = Plugin.create(tmp_path, mode="cert")
    plugin.set(cert=cert, key=key)
    with SimCluster("dr1", tls=True) as dr1:
        clients, rc = _clients_for(controller, dr1, plugin, api_version=V1BETA1)
        client = clients.get(rc)
        # the TLS layer loads the pair on connect: a bad pair would fail here
        assert client.server_version()
        assert Path(client.api_client.configuration.cert_file).read_bytes().strip() == cert.strip()
        clients.close()


def test_a_token_file_is_read_again_when_it_changes(dr1: SimCluster, tmp_path: Path) -> None:
    config = dr1.kubeconfig_dict()
    config["users"][0]["user"] = {"tokenFile": "token"}
    (tmp_path / "token").write_text(dr1.token or "")
    (tmp_path / "config").write_text(yaml.safe_dump(config))
    with client_from_kubeconfig_file(tmp_path / "config") as client:
        assert client.server_version()
        # a projected token rotated by the kubelet: a new file, a new token, the old one revoked
        (tmp_path / "token.new").write_text("rotated-token\n")
        (tmp_path / "token.new").replace(tmp_path / "token")
        dr1.api.token = "rotated-token"
        assert client.server_version()


def test_a_command_that_only_ends_in_an_allowed_name_is_refused(
    controller: ClusterClient, dr1: SimCluster
) -> None:
    # the allow-list compares the command as written, so a Secret cannot point at another file
    config = dr1.kubeconfig_dict()
    config["users"][0]["user"] = {
        "exec": {"apiVersion": V1, "command": "/tmp/evil/aws", "interactiveMode": "Never"}
    }
    put_secret(controller, "dr1-exec", {"kubeconfig": kubeconfig_text(config)})
    clients = ClusterClients(controller, exec_policy=ExecPolicy.of(["aws"]))
    with pytest.raises(KubeconfigError, match="exec plugin 'aws' is not on the allow-list"):
        clients.get(remote_cluster("dr1", "dr1-exec"))
