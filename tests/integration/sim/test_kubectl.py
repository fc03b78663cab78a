"""kubectl v1.27+ against a simulated cluster: apply, get (printer columns), server-side apply, delete,
watch and wait. Skipped where kubectl is not on PATH."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from drsyncer.sim import SimCluster
from tests.fixtures.children import popen
from tests.fixtures.polling import eventually

KUBECTL = shutil.which("kubectl")
pytestmark = [
    pytest.mark.kubectl,
    pytest.mark.skipif(
        KUBECTL is None, reason="kubectl is not on PATH; these tests drive the real kubectl binary"
    ),
]

CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Color, type: string, jsonPath: .spec.color}
    - {name: Size, type: integer, jsonPath: .spec.size}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
"""

WIDGET = """
apiVersion: example.com/v1
kind: Widget
metadata: {name: blue-one, namespace: default}
spec: {color: blue, size: 3}
"""

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: main, image: "IMAGE", ports: [{containerPort: 80}]}]
"""

Kubectl = Callable[..., subprocess.CompletedProcess[str]]


def kubectl_for(kubeconfig: Path, context: str, tmp_path: Path) -> Kubectl:
    def run(*args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        assert KUBECTL is not None
        cmd = [
            KUBECTL,
            "--kubeconfig",
            str(kubeconfig),
            "--context",
            context,
            "--cache-dir",
            str(tmp_path / "kube-cache"),
            *args,
        ]
        result = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=30)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({result.returncode}): {result.stderr}")
        return result

    return run


@pytest.fixture
def kubectl(sim_cluster: SimCluster, tmp_path: Path) -> Kubectl:
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(sim_cluster.kubeconfig_dict()))
    return kubectl_for(path, sim_cluster.name, tmp_path)


def test_kubectl_reports_the_server_version(kubectl: Kubectl) -> None:
    assert "Server Version: v1.34" in kubectl("version").stdout


def test_kubectl_applies_a_crd_then_a_custom_resource_and_prints_its_columns(kubectl: Kubectl) -> None:
    assert "widgets.example.com created" in kubectl("apply", "-f", "-", stdin=CRD).stdout
    # as with kube-apiserver, a CRD is served once established, a moment after its create: wait as
    # the Kubernetes docs say to before creating its objects
    wait = ("wait", "--for=condition=Established", "--timeout=30s", "crd/widgets.example.com")
    assert "condition met" in kubectl(*wait).stdout
    assert "widget.example.com/blue-one created" in kubectl("apply", "-f", "-", stdin=WIDGET).stdout
    table = kubectl("get", "widgets").stdout.splitlines()
    assert table[0].split() == ["NAME", "COLOR", "SIZE", "AGE"]
    assert table[1].split()[:3] == ["blue-one", "blue", "3"]
    assert kubectl("get", "wd", "blue-one", "-o", "jsonpath={.spec.color}").stdout == "blue"
    assert "unchanged" in kubectl("apply", "-f", "-", stdin=WIDGET).stdout


def test_kubectl_client_side_apply_changes_a_deployment_by_strategic_merge(kubectl: Kubectl) -> None:
    kubectl("apply", "-f", "-", stdin=DEPLOYMENT.replace("IMAGE", "nginx:1"))
    result = kubectl("apply", "-f", "-", stdin=DEPLOYMENT.replace("IMAGE", "nginx:2"))
    assert "deployment.apps/web configured" in result.stdout
    assert "warning" not in result.stderr
    out = kubectl(
        "get",
        "deploy",
        "web",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].image} {.metadata.generation}",
    ).stdout
    assert out == "nginx:2 2"
    assert kubectl("get", "deploy").stdout.split()[:5] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]


def test_kubectl_server_side_apply_twice_leaves_the_object_alone(
    kubectl: Kubectl, sim_cluster: SimCluster
) -> None:
    manifest = DEPLOYMENT.replace("IMAGE", "nginx:1")
    assert "serverside-applied" in kubectl("apply", "--server-side", "-f", "-", stdin=manifest).stdout
    rt = sim_cluster.store.registry.lookup("apps", "v1", "deployments")
    assert rt is not None
    first = sim_cluster.store.get(rt, "default", "web")
    kubectl("apply", "--server-side", "-f", "-", stdin=manifest)
    again = sim_cluster.store.get(rt, "default", "web")
    assert again["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    assert [m["manager"] for m in again["metadata"]["managedFields"]] == ["kubectl"]


def test_kubectl_server_side_apply_conflicts_then_force_takes_ownership(kubectl: Kubectl) -> None:
    kubectl("apply", "--server-side", "-f", "-", stdin=DEPLOYMENT.replace("IMAGE", "nginx:1"))
    other = DEPLOYMENT.replace("IMAGE", "nginx:2")
    refused = kubectl(
        "apply", "--server-side", "--field-manager", "other", "-f", "-", stdin=other, check=False
    )
    assert refused.returncode != 0 and "conflict" in refused.stderr.lower()
    kubectl("apply", "--server-side", "--field-manager", "other", "--force-conflicts", "-f", "-", stdin=other)
    image = kubectl("get", "deploy", "web", "-o", "jsonpath={.spec.template.spec.containers[0].image}").stdout
    assert image == "nginx:2"


def test_kubectl_delete_removes_the_object(kubectl: Kubectl) -> None:
    kubectl("create", "-f", "-", stdin="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: gone}\n")
    assert 'configmap "gone" deleted' in kubectl("delete", "configmap", "gone").stdout
    missing = kubectl("get", "configmap", "gone", check=False)
    assert missing.returncode != 0 and 'configmaps "gone" not found' in missing.stderr


def test_kubectl_get_watch_prints_changes_until_the_request_timeout(
    kubectl: Kubectl, sim_cluster: SimCluster, tmp_path: Path
) -> None:
    assert KUBECTL is not None
    kubeconfig = tmp_path / "kubeconfig"
    cmd = [
        KUBECTL,
        "--kubeconfig",
        str(kubeconfig),
        "--context",
        sim_cluster.name,
        "get",
        "configmaps",
        "-w",
        "--request-timeout=3s",
    ]
    started = time.monotonic()
    with popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        eventually(lambda: "watch" in sim_cluster.counters(), what="kubectl to start watching")
        sim_cluster.store.put(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "seen", "namespace": "default"},
                "data": {"a": "b"},
            }
        )
        out, err = proc.communicate(timeout=15)
    assert time.monotonic() - started < 12
    assert "seen" in out, err


def test_kubectl_wait_returns_when_the_condition_is_met(kubectl: Kubectl, sim_cluster: SimCluster) -> None:
    kubectl("apply", "-f", "-", stdin=CRD)
    kubectl("wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=10s")
    kubectl("create", "-f", "-", stdin="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n")
    assert "condition met" in kubectl("wait", "--for=jsonpath={.data.a}=b", "cm/c", "--timeout=10s").stdout


def test_kubectl_imperative_create_of_namespace_configmap_secret_and_serviceaccount(kubectl: Kubectl) -> None:
    kubectl("create", "namespace", "demo")
    kubectl("-n", "demo", "create", "configmap", "settings", "--from-literal=mode=dr")
    kubectl("-n", "demo", "create", "secret", "generic", "creds", "--from-literal=password=hunter2")
    kubectl("-n", "demo", "create", "serviceaccount", "syncer")
    assert kubectl("-n", "demo", "get", "cm", "settings", "-o", "jsonpath={.data.mode}").stdout == "dr"
    assert (
        kubectl("-n", "demo", "get", "secret", "creds", "-o", "jsonpath={.data.password}").stdout
        == "aHVudGVyMg=="
    )
    assert (
        kubectl("-n", "demo", "get", "sa", "syncer", "-o", "name").stdout.strip() == "serviceaccount/syncer"
    )
    refused = kubectl("-n", "demo", "create", "deployment", "web", "--image=nginx", check=False)
    assert refused.returncode != 0 and "application/json" in refused.stderr
