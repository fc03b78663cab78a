"""Case 01: Services whose node ports (and health-check node port) are already held in the DR cluster.

Restoring a NodePort or LoadBalancer(externalTrafficPolicy: Local) Service with the source's ports
fails with "provided port is already allocated" (velero-io/velero#3419, also #2308 and #6376). The
copies must leave node ports to the DR cluster, and the simulator must refuse a held port as
kube-apiserver does.
"""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes import utils
from kubernetes.client.rest import ApiException

from tests.integration.cases.sync_driver import (
    await_namespaces_free,
    drsyncer_sync,
    load,
    seed,
    writes_nothing,
)

CASE = "01-nodeport-healthcheck"
SOURCE_PORTS = {30080, 30081, 30082}


def _seed_destination(world: Any) -> None:
    docs = load(CASE, "dest-pre.yaml")
    await_namespaces_free(world, "dst", docs)
    utils.create_from_yaml(world.api("dst"), yaml_objects=docs)


def test_copies_get_node_ports_of_the_dr_cluster_where_the_source_s_are_taken(kube: Any) -> None:
    world = kube(["src", "dst"])
    seed(world, CASE)
    _seed_destination(world)

    drsyncer_sync(world, "--namespace", "c01", "--types", "services")

    core = k8s.CoreV1Api(world.api("dst"))
    node_port = core.read_namespaced_service("gateway-np", "c01")
    balancer = core.read_namespaced_service("gateway-lb", "c01")
    assert node_port.spec.type == "NodePort" and balancer.spec.type == "LoadBalancer"
    chosen = {
        node_port.spec.ports[0].node_port,
        balancer.spec.ports[0].node_port,
        balancer.spec.health_check_node_port,
    }
    assert None not in chosen and not chosen & SOURCE_PORTS
    assert balancer.spec.external_traffic_policy == "Local"
    source = k8s.CoreV1Api(world.api("src")).read_namespaced_service("gateway-np", "c01")
    assert node_port.spec.cluster_ip != source.spec.cluster_ip or world.backend == "sim"

    with writes_nothing(world, "c01"):
        drsyncer_sync(world, "--namespace", "c01", "--types", "services")

    # what drsyncer avoids is what the API server refuses, on the simulator as on kube-apiserver
    duplicate = {
        "metadata": {"name": "dup-port"},
        "spec": {"type": "NodePort", "selector": {"app": "x"}, "ports": [{"port": 80, "nodePort": 30080}]},
    }
    with pytest.raises(ApiException) as err:
        core.create_namespaced_service("c01-squat", duplicate)
    assert err.value.status == 422 and "provided port is already allocated" in err.value.body
    local = {
        "metadata": {"name": "lb-local"},
        "spec": {
            "type": "LoadBalancer",
            "externalTrafficPolicy": "Local",
            "selector": {"app": "x"},
            "ports": [{"port": 80}],
        },
    }
    assert core.create_namespaced_service("c01-squat", local).spec.health_check_node_port
