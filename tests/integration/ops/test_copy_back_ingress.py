"""`drsyncer failback --copy-back-to`: an Ingress changed in the DR cluster goes back to the source
without the default IngressClass the DR cluster's admission gave it, which the source may not have;
a class chosen in the DR cluster goes back like any change. On the simulator and a real API server."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client as k8s

from drsyncer.api import keys
from drsyncer.cli import main
from tests.fixtures.backends import World
from tests.fixtures.polling import eventually
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
    net = k8s.NetworkingV1Api(world.api("dst"))
    name = f"dr-nginx-{secrets.token_hex(3)}"
    net.create_ingress_class(
        {
            "metadata": {"name": name, "annotations": {keys.ANNOTATION_DEFAULT_INGRESS_CLASS: "true"}},
            "spec": {"controller": "example.com/ingress"},
        }
    )
    try:
        yield world, name
    finally:
        net.delete_ingress_class(name)


def _admitted_with(world: World, namespace: str, default_class: str) -> bool:
    # the plugin reads classes from an informer: a dry-run create shows when it has the new one
    probe = k8s.NetworkingV1Api(world.api("dst")).create_namespaced_ingress(
        namespace, _ingress("probe"), dry_run="All"
    )
    return bool(probe.spec.ingress_class_name == default_class)


def test_failback_copies_an_ingress_back_without_the_dr_clusters_default_class(
    clusters: tuple[World, str],
) -> None:
    world, default_class = clusters
    namespace = f"fb-ing-{uuid.uuid4().hex[:6]}"
    _create(world, namespace, [_deployment(), _ingress("web"), _ingress("api")])
    dst = k8s.NetworkingV1Api(world.api("dst"))
    if world.backend == "real":
        k8s.CoreV1Api(world.api("dst")).create_namespace({"metadata": {"name": namespace}})
        eventually(
            lambda: _admitted_with(world, namespace, default_class), timeout_s=30, what="dst's default class"
        )
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
