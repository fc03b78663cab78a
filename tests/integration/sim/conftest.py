"""Clients of the stock `kubernetes` package pointed at a fresh simulated cluster."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, dynamic
from kubernetes.client.rest import ApiException

from drsyncer.sim import SimCluster


@pytest.fixture
def api(sim_cluster: SimCluster) -> Iterator[client.ApiClient]:
    with sim_cluster.api_client() as api_client:
        yield api_client


@pytest.fixture
def core(api: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api)


@pytest.fixture
def apps(api: client.ApiClient) -> client.AppsV1Api:
    return client.AppsV1Api(api)


@pytest.fixture
def dyn(api: client.ApiClient) -> dynamic.DynamicClient:
    return dynamic.DynamicClient(api)


@pytest.fixture
def ns(core: client.CoreV1Api) -> str:
    core.create_namespace({"metadata": {"name": "app"}})
    return "app"


def status_of(exc: ApiException) -> dict[str, Any]:
    """The Kubernetes Status body of a failed call."""
    body: dict[str, Any] = json.loads(exc.body)
    assert body["kind"] == "Status" and body["status"] == "Failure"
    assert body["code"] == exc.status
    return body


def deployment(name: str, image: str = "nginx:1.25", replicas: int = 2) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [{"name": "main", "image": image, "env": [{"name": "A", "value": "1"}]}]
                },
            },
        },
    }
