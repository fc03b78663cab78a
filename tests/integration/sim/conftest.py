"""Conformance: clients of the stock `kubernetes` package pointed at the simulator and at a real API server.

Every test here runs as `[sim]` and `[real]` (see tests/fixtures/backends.py): the real control plane
is the reference the simulator is held to. A test that also takes `sim_cluster` reads or drives the
simulator's internals (its store, its fault injection); it runs on the simulator only.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client, dynamic
from kubernetes.client.rest import ApiException

from tests.fixtures.backends import World
from tests.fixtures.polling import eventually


@pytest.fixture
def world(kube: Callable[..., World], backend: str, request: pytest.FixtureRequest) -> World:
    """One cluster of this test's backend, named "src" (on the simulator, the test's `sim_cluster`)."""
    if backend == "real" and "sim_cluster" in request.fixturenames:
        pytest.skip("reads or drives the simulator's internals")
    return kube(["src"])


@pytest.fixture
def api(world: World, request: pytest.FixtureRequest) -> Iterator[client.ApiClient]:
    if world.backend == "sim" and "sim_cluster" in request.fixturenames:
        # the test inspects this very cluster's store or faults
        with request.getfixturevalue("sim_cluster").api_client() as api_client:
            yield api_client
        return
    with world["src"].api_client() as api_client:
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
def ns(core: client.CoreV1Api, world: World) -> str:
    """A namespace of the test's own (the real clusters are shared by the whole session)."""
    name = f"app-{secrets.token_hex(3)}"
    core.create_namespace({"metadata": {"name": name}})

    def published() -> bool:
        try:
            core.read_namespaced_config_map(ROOT_CA, name)
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise
        return True

    # kube-controller-manager publishes it a moment after the namespace appears (the simulator within
    # the create): wait, so no test sees it arrive in the middle of a watch or a list
    if world.backend == "real":
        eventually(published, what=f"{ROOT_CA} in {name}")
    return name


# kube-controller-manager publishes this ConfigMap into every namespace (the simulator does the same)
ROOT_CA = "kube-root-ca.crt"


def names(items: Any) -> list[str]:
    """Names of listed objects, without the ConfigMap every namespace is given."""
    return [i.metadata.name for i in items if i.metadata.name != ROOT_CA]


def auth_headers(api: client.ApiClient) -> dict[str, str]:
    """The credentials headers of `api`, for requests sent around its generated methods."""
    return {auth["key"]: auth["value"] for auth in api.configuration.auth_settings().values()}


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
