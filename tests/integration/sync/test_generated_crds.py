"""The generated dr-syncer.io CRDs are accepted by the simulator and by a real kube-apiserver (which
validates their schemas strictly), and by `kubectl apply` where kubectl is on PATH (issue 3, acceptance 4)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

from drsyncer.api import keys
from drsyncer.api.crds import all_crds
from tests.fixtures.backends import World
from tests.fixtures.polling import eventually

KUBECTL = shutil.which("kubectl")

REPLICATION = {
    "apiVersion": keys.API_VERSION, "kind": keys.KIND_REPLICATION,
    "metadata": {"name": "shop", "namespace": "dr-system"},
    "spec": {"sourceCluster": "prod", "destinationClusters": ["dr1", "dr2"], "sourceNamespace": "shop"},
}


def test_generated_crds_are_established_and_serve_their_kinds(kube: Callable[..., World]) -> None:
    world = kube(["controller"])
    api = world.api("controller")
    extensions = k8s.ApiextensionsV1Api(api)
    for crd in all_crds():
        extensions.create_custom_resource_definition(crd)

    def established(name: str) -> bool:
        conditions = extensions.read_custom_resource_definition(name).status.conditions or ()
        return any(c.type == "Established" and c.status == "True" for c in conditions)

    for crd in all_crds():
        name = crd["metadata"]["name"]
        eventually(lambda n=name: established(n), timeout_s=30, what=f"{name} Established")
    namespace = f"dr-system-{uuid.uuid4().hex[:8]}"
    k8s.CoreV1Api(api).create_namespace({"metadata": {"name": namespace}})
    custom = k8s.CustomObjectsApi(api)
    where = (keys.GROUP, keys.VERSION, namespace, "replications")
    body = {**REPLICATION, "metadata": {"name": "shop", "namespace": namespace}}
    eventually(lambda: custom.create_namespaced_custom_object(*where, body), timeout_s=30,
               what="the first Replication accepted", tolerate=(ApiException,))
    got = custom.get_namespaced_custom_object(*where, "shop")
    assert got["spec"]["destinationClusters"] == ["dr1", "dr2"]


@pytest.mark.kubectl
@pytest.mark.skipif(KUBECTL is None,
                    reason="kubectl is not on PATH; this test drives the real kubectl binary")
def test_kubectl_applies_the_output_of_drsyncer_crds(kube: Callable[..., World], tmp_path: Path) -> None:
    assert KUBECTL is not None
    world = kube(["controller"])
    kubectl = [KUBECTL, "--kubeconfig", str(world.kubeconfig), "--cache-dir", str(tmp_path / "cache")]
    crds = subprocess.run([sys.executable, "-m", "drsyncer.cli", "crds"], capture_output=True, text=True,
                          check=True, timeout=60).stdout

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*kubectl, *args], input=stdin, capture_output=True, text=True, timeout=60)

    applied = run("apply", "-f", "-", stdin=crds)

    assert applied.returncode == 0, applied.stderr
    for crd in all_crds():
        name = crd["metadata"]["name"]
        assert f"customresourcedefinition.apiextensions.k8s.io/{name} created" in applied.stdout
    again = run("apply", "-f", "-", stdin=crds)
    assert again.returncode == 0 and "unchanged" in again.stdout, again.stderr
    # a real server serves the kinds a moment after the CRDs are created
    eventually(lambda: run("get", "repl", "-A").returncode == 0, timeout_s=30, what="kubectl get repl")
