"""The generated dr-syncer.io CRDs are accepted by the simulator and by a real kube-apiserver (which
validates their schemas strictly), and by `kubectl apply` where kubectl is on PATH (issue 3, acceptance 4)."""

from __future__ import annotations

import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from kubernetes import client as k8s

from drsyncer.api import keys
from drsyncer.api.crds import all_crds
from tests.fixtures.backends import World
from tests.fixtures.polling import eventually
from tests.integration.sim.test_crds import await_established

KUBECTL = shutil.which("kubectl")

REPLICATION = {
    "apiVersion": keys.API_VERSION,
    "kind": keys.KIND_REPLICATION,
    "metadata": {"name": "shop", "namespace": "dr-system"},
    "spec": {"sourceCluster": "prod", "destinationClusters": ["dr1", "dr2"], "sourceNamespace": "shop"},
}


def test_generated_crds_are_accepted_established_and_serve_their_kinds(kube: Callable[..., World]) -> None:
    world = kube(["controller"])
    api = world.api("controller")
    extensions = k8s.ApiextensionsV1Api(api)
    existing = {c.metadata.name for c in extensions.list_custom_resource_definition().items}
    for crd in all_crds():
        if crd["metadata"]["name"] not in existing:  # the session's real cluster may hold them already
            extensions.create_custom_resource_definition(crd)
        established = await_established(api, crd["metadata"]["name"])
        conditions = {c["type"]: c["status"] for c in established["status"]["conditions"]}
        assert conditions["Established"] == "True", crd["metadata"]["name"]
    namespace = f"dr-system-{secrets.token_hex(3)}"
    k8s.CoreV1Api(api).create_namespace({"metadata": {"name": namespace}})
    custom = k8s.CustomObjectsApi(api)
    where = (keys.GROUP, keys.VERSION, namespace, "replications")
    custom.create_namespaced_custom_object(*where, {**REPLICATION, "metadata": {"name": "shop"}})
    got = custom.get_namespaced_custom_object(*where, "shop")
    assert got["spec"]["destinationClusters"] == ["dr1", "dr2"]


@pytest.mark.kubectl
@pytest.mark.skipif(
    KUBECTL is None, reason="kubectl is not on PATH; this test drives the real kubectl binary"
)
def test_kubectl_applies_the_output_of_drsyncer_crds(kube: Callable[..., World], tmp_path: Path) -> None:
    assert KUBECTL is not None
    world = kube(["controller"])
    kubectl = [KUBECTL, "--kubeconfig", str(world.kubeconfig), "--cache-dir", str(tmp_path / "cache")]
    crds = subprocess.run(
        [sys.executable, "-m", "drsyncer.cli", "crds"], capture_output=True, text=True, check=True, timeout=60
    ).stdout

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*kubectl, *args], input=stdin, capture_output=True, text=True, timeout=60)

    applied = run("apply", "-f", "-", stdin=crds)

    assert applied.returncode == 0, applied.stderr
    for crd in all_crds():
        name = crd["metadata"]["name"]
        # created, or left as it is where another test of the session installed it on a real cluster
        assert f"customresourcedefinition.apiextensions.k8s.io/{name} created" in applied.stdout or (
            world.backend == "real" and f"/{name} " in applied.stdout
        ), applied.stdout
    again = run("apply", "-f", "-", stdin=crds)
    assert again.returncode == 0 and "unchanged" in again.stdout, again.stderr
    # a real server serves the kinds a moment after the CRDs are created
    eventually(lambda: run("get", "repl", "-A").returncode == 0, timeout_s=30, what="kubectl get repl")
