"""`drsyncer failback --copy-back-to`: an Ingress changed in the DR cluster goes back to the source
without the default IngressClass the DR cluster's admission gave it, which the source may not have;
a class chosen in the DR cluster goes back like any change. On the simulator and a real API server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client as k8s

from drsyncer.cli import main
from tests.fixtures.backends import World
from tests.fixtures.ingress_classes import default_ingress_class
from tests.integration.cases.sync_driver import drsyncer_sync
from tests.integration.sync.test_standby_and_references import POD, _create


def _ingress(name: str) -> dict[str, Any]:
    backend = {"service": {"name": name, "port": {"number": 80}}}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name},
        "spec": {
            "rules": [
                {
                    "host": f"{name}.example.com",
                    "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]},
                }
            ]
        },
    }


def _deployment() -> dict[str, Any]:
    labels = {"app": "web"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": POD},
        },
    }


@pytest.fixture
def clusters(kube: Any) -> Iterator[tuple[World, str]]:
    """src and dst, and the name of dst's default IngressClass, which its admission gives an Ingress
    naming none (on the simulator, the test sets it on the copies as that admission would)."""
    world: World = kube(["src", "dst"])
    with default_ingress_class(world.api("dst"), admitted=world.backend == "real") as name:
        yield world, name


def test_failback_copies_an_ingress_back_without_the_dr_clusters_default_class(
    clusters: tuple[World, str],
) -> None:
    world, default_class = clusters
    namespace = f"fb-ing-{uuid.uuid4().hex[:6]}"
    _create(world, namespace, [_deployment(), _ingress("web"), _ingress("api")])
    dst = k8s.NetworkingV1Api(world.api("dst"))
    drsyncer_sync(world, "--namespace", namespace, "--types", "deployments,ingresses")
    if world.backend != "real":  # what dst's DefaultIngressClass admission did on create
        for name in ("web", "api"):
            dst.patch_namespaced_ingress(name, namespace, {"spec": {"ingressClassName": default_class}})
    assert dst.read_namespaced_ingress("web", namespace).spec.ingress_class_name == default_class
    command = ["--kubeconfig", str(world.kubeconfig), "-n", namespace]
    assert main(["failover", "--to", "dst", *command]) == 0

    # while dst serves: a label on web, another class chosen for api
    dst.patch_namespaced_ingress("web", namespace, {"metadata": {"labels": {"changed": "in-dr"}}})
    dst.patch_namespaced_ingress(
        "api",
        namespace,
        {"metadata": {"labels": {"changed": "in-dr"}}, "spec": {"ingressClassName": "special"}},
    )
    assert main(["failback", "--from", "dst", "--copy-back-to", "src", *command]) == 0

    src = k8s.NetworkingV1Api(world.api("src"))
    web, api = (src.read_namespaced_ingress(n, namespace) for n in ("web", "api"))
    assert web.metadata.labels == {"changed": "in-dr"} and api.metadata.labels == {"changed": "in-dr"}
    assert web.spec.ingress_class_name is None  # the source keeps relying on its own default
    assert api.spec.ingress_class_name == "special"
