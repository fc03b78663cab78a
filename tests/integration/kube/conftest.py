"""Simulated clusters for the cluster-access tests, and a controller cluster holding kubeconfig Secrets."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from drsyncer.kube import ClusterClient, client_from_kubeconfig
from drsyncer.kube.discovery import offline_ref
from drsyncer.sim import SimCluster
from tests.fixtures import remote_clusters

SECRETS = offline_ref("secrets")
NAMESPACES = offline_ref("namespaces")
assert SECRETS and NAMESPACES

CONTROLLER_NAMESPACE = "dr-system"


@pytest.fixture
def controller() -> Iterator[ClusterClient]:
    """A client of the controller cluster, with the namespace the RemoteClusters live in."""
    with SimCluster("controller", tls=True, token=True) as cluster:
        client = client_from_kubeconfig(cluster.kubeconfig_dict(), name="controller")
        client.create(NAMESPACES, None, {"metadata": {"name": CONTROLLER_NAMESPACE}})
        yield client
        client.close()


@pytest.fixture
def dr1() -> Iterator[SimCluster]:
    with SimCluster("dr1", tls=True, token="t0k-dr1-secret") as cluster:
        yield cluster


def kubeconfig_text(config: dict[str, Any]) -> str:
    return yaml.safe_dump(config)


def put_secret(
    controller: ClusterClient, name: str, data: dict[str, str | bytes], namespace: str = CONTROLLER_NAMESPACE
) -> None:
    """Create or replace a Secret in the controller namespace."""
    encoded = {
        k: base64.b64encode(v if isinstance(v, bytes) else v.encode()).decode() for k, v in data.items()
    }
    body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "data": encoded}
    existing = controller.get(SECRETS, namespace, name)
    if existing is None:
        controller.create(SECRETS, namespace, body)
    else:
        body["metadata"]["resourceVersion"] = existing["metadata"]["resourceVersion"]
        controller.replace(SECRETS, namespace, body)


def remote_cluster(name: str, secret: str, key: str | None = None, **spec: Any) -> dict[str, Any]:
    """A RemoteCluster of the controller's namespace (tests.fixtures.remote_clusters) reading its
    kubeconfig from `secret`, under `key` when given."""
    obj = remote_clusters.remote_cluster(name, CONTROLLER_NAMESPACE, secret, **spec)
    if key is not None:
        obj["spec"]["kubeconfigSecretRef"]["key"] = key
    return obj
