"""Exec credential plugins on real `drsyncer worker` processes reading kubeconfig Secrets: dr1 accepts
only the token its plugin script issued last; a second cluster's plugin is not on the allow-list."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.fixtures.exec_plugins import Plugin
from tests.integration.pipeline.conftest import SECRETS, Pipeline, eventually


@pytest.fixture(scope="module")
def exec_plugins(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Plugin]:
    """`allowed` (tokens valid 4 s) and `failing` are on the workers' allow-list, `locked` is not."""
    where = tmp_path_factory.mktemp("plugins")
    return {
        "allowed": Plugin.create(where, "allowed", token="issued-1", ttl=4),
        "failing": Plugin.create(where, "failing", token="issued-3", mode="fail"),
        "locked": Plugin.create(where, "locked", token="issued-1"),
    }


@pytest.fixture(scope="module")
def pipeline_env(exec_plugins: dict[str, Plugin]) -> dict[str, str]:
    allowed = ["aws", exec_plugins["allowed"].command, exec_plugins["failing"].command]
    return {"DRSYNCER_EXEC_PLUGINS": ",".join(allowed), "DRSYNCER_EXEC_PLUGIN_TIMEOUT": "5s"}


@pytest.fixture(scope="module")
def plugins(pipeline: Pipeline, exec_plugins: dict[str, Plugin]) -> Iterator[dict[str, Plugin]]:
    """dr1's kubeconfig Secret runs the allowed plugin, and dr1 accepts only its tokens; RemoteClusters
    `locked` and `failing` (dr2 behind both) run the others."""
    dr1 = pipeline.sim("dr1")
    dr1.api.token = "issued-1"
    _put_exec_secret(pipeline, "dr1-kubeconfig", dr1.kubeconfig_dict(), exec_plugins["allowed"])
    for name in ("locked", "failing"):
        _put_exec_secret(
            pipeline, f"{name}-kubeconfig", pipeline.sim("dr2").kubeconfig_dict(), exec_plugins[name]
        )
        pipeline.controller.create(
            pipeline.resolve("remoteclusters.dr-syncer.io"),
            pipeline.ns,
            {
                "apiVersion": "dr-syncer.io/v1alpha1",
                "kind": "RemoteCluster",
                "metadata": {"name": name, "namespace": pipeline.ns},
                "spec": {"kubeconfigSecretRef": {"name": f"{name}-kubeconfig"}},
            },
        )
    yield exec_plugins
    for name in ("locked", "failing"):
        pipeline.controller.delete(pipeline.resolve("remoteclusters.dr-syncer.io"), pipeline.ns, name)
    dr1.api.token = None


def _put_exec_secret(pipeline: Pipeline, name: str, config: dict[str, Any], plugin: Plugin) -> None:
    config["users"][0]["user"] = plugin.exec_user()
    body = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name},
        "data": {"kubeconfig": base64.b64encode(yaml.safe_dump(config).encode()).decode()},
    }
    current = pipeline.controller.get(SECRETS, pipeline.ns, name)
    if current is None:
        pipeline.controller.create(SECRETS, pipeline.ns, body)
    else:
        body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        pipeline.controller.replace(SECRETS, pipeline.ns, body)


def _target(status: dict[str, Any], cluster: str) -> dict[str, Any]:
    return next((t for t in status.get("targets", []) if t["cluster"] == cluster), {})


def test_workers_sync_with_plugin_tokens_and_report_failing_and_forbidden_plugins(
    plugins: dict[str, Plugin], pipe: Pipeline
) -> None:
    pipeline = pipe
    pipeline.seed("exec-app", 3)
    pipeline.apply_replication(
        "exec-app",
        sourceNamespace="exec-app",
        schedule="@every 5s",
        destinationClusters=["dr1", "locked", "failing"],
    )
    status = eventually(
        lambda: (
            (s := pipeline.status("exec-app")).get("phase") == "PartiallyFailed"
            and _target(s, "locked")
            and _target(s, "failing")
            and s
        ),
        timeout_s=60,
        what="a run through the plugins",
    )
    assert _target(status, "dr1")["phase"] == "Completed"
    assert set(pipeline.configmaps("dr1", "exec-app")) == {f"cm-{i:05d}" for i in range(3)}
    locked = _target(status, "locked")["lastError"]
    assert locked["category"] == "NonRetryable"
    assert f"RemoteCluster {pipeline.ns}/locked" in locked["message"]
    assert "exec plugin 'plugin'" in locked["message"] and "not on the allow-list" in locked["message"]
    assert plugins["locked"].runs() == []
    failing = _target(status, "failing")["lastError"]
    assert failing["category"] == "Retryable"
    assert f"RemoteCluster {pipeline.ns}/failing" in failing["message"]
    assert "exec plugin 'plugin' failed with exit status 3" in failing["message"]
    # the health check writes the same reason on the RemoteCluster
    eventually(
        lambda: "not on the allow-list" in str(pipeline.remote_cluster("locked").get("status")),
        timeout_s=30,
        what="the RemoteCluster's status",
    )

    # dr1 revokes the token and the plugin hands out another: later runs still reach dr1
    plugins["allowed"].set(token="issued-2")
    pipeline.sim("dr1").api.token = "issued-2"
    pipeline.sim("source").store.put(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "data": {"v": "1"},
            "metadata": {"name": "after-rotation", "namespace": "exec-app"},
        }
    )
    eventually(
        lambda: "after-rotation" in pipeline.configmaps("dr1", "exec-app"),
        timeout_s=60,
        what="a run after the token was rotated",
    )
    assert len(plugins["allowed"].runs()) >= 2
    logs = "\n".join(proc.log_path.read_text(errors="replace") for proc in pipeline.procs.values())
    # neither the tokens nor what the failing plugin printed reach a log
    assert not any(token in logs for token in ("issued-1", "issued-2", "issued-3"))
