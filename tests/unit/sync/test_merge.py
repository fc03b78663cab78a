"""Update bodies keep what the destination allocated or its controllers maintain."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from drsyncer.api import keys
from drsyncer.sync.immutable import parse_quantity
from drsyncer.sync.merge import changed_fields, dry_run_replacement, partial_body, update_body
from drsyncer.sync.transform import for_destination
from tests.unit.sync.factories import DEST_NS, deployment, job, obj, rules, service

Obj = dict[str, Any]


def _desired(source: Obj) -> Obj:
    return for_destination(source, rules(), destination_namespace=DEST_NS)


def _existing(body: Obj, **spec: Any) -> Obj:
    existing = {**body, "metadata": {**body["metadata"], "resourceVersion": "77", "uid": "dest-uid"}}
    existing["spec"] = {**body.get("spec", {}), **spec}
    return existing


def test_update_carries_resource_version_finalizers_and_controller_annotations() -> None:
    desired = _desired(deployment())
    existing = _existing(desired)
    existing["metadata"]["finalizers"] = ["example.com/guard"]
    existing["metadata"]["annotations"] = {keys.ANNOTATION_DEPLOYMENT_REVISION: "4", "stale": "x"}
    meta = update_body(desired, existing)["metadata"]
    assert meta["resourceVersion"] == "77"
    assert meta["finalizers"] == ["example.com/guard"]
    assert meta["annotations"][keys.ANNOTATION_DEPLOYMENT_REVISION] == "4"
    assert "stale" not in meta["annotations"]


def test_service_update_keeps_allocated_addresses_but_not_for_a_type_without_node_ports() -> None:
    lb = {
        "type": "LoadBalancer",
        "externalTrafficPolicy": "Local",
        "ports": [{"name": "http", "port": 80, "protocol": "TCP"}, {"port": 443, "protocol": "TCP"}],
    }
    desired = _desired(service(spec=lb))
    existing = _existing(
        desired,
        clusterIP="10.1.1.1",
        clusterIPs=["10.1.1.1"],
        ipFamilies=["IPv4"],
        healthCheckNodePort=32100,
        ports=[
            {"name": "http", "port": 80, "protocol": "TCP", "nodePort": 30001},
            {"port": 443, "protocol": "TCP", "nodePort": 30002},
        ],
    )
    spec = update_body(desired, existing)["spec"]
    assert (spec["clusterIP"], spec["clusterIPs"], spec["ipFamilies"]) == ("10.1.1.1", ["10.1.1.1"], ["IPv4"])
    assert [p["nodePort"] for p in spec["ports"]] == [30001, 30002]
    assert spec["healthCheckNodePort"] == 32100

    as_cluster_ip = _desired(service())
    spec = update_body(as_cluster_ip, existing)["spec"]
    assert spec["clusterIP"] == "10.1.1.1"
    assert all("nodePort" not in p for p in spec["ports"]) and "healthCheckNodePort" not in spec


def test_headless_destination_does_not_lend_its_none_to_a_non_headless_update() -> None:
    desired = _desired(service())
    spec = update_body(desired, _existing(desired, clusterIP="None", clusterIPs=["None"]))["spec"]
    assert "clusterIP" not in spec


def test_external_name_update_takes_no_cluster_ip() -> None:
    desired = _desired(service(spec={"type": "ExternalName", "externalName": "db.example.com"}))
    spec = update_body(desired, _existing(desired, clusterIP="10.1.1.1", clusterIPs=["10.1.1.1"]))["spec"]
    assert "clusterIP" not in spec and "clusterIPs" not in spec


def test_job_update_keeps_the_destination_generated_selector_and_labels() -> None:
    desired = _desired(job())
    generated = {"batch.kubernetes.io/controller-uid": "dest", "controller-uid": "dest"}
    existing = _existing(
        desired,
        selector={"matchLabels": {"batch.kubernetes.io/controller-uid": "dest"}},
        template={
            "metadata": {"labels": {**generated, "app": "migrate"}},
            "spec": desired["spec"]["template"]["spec"],
        },
    )
    spec = update_body(desired, existing)["spec"]
    assert spec["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": "dest"}}
    assert spec["template"]["metadata"]["labels"] == {"app": "migrate", **generated}


def test_partial_body_resets_only_the_named_fields() -> None:
    body = {"spec": {"selector": {"new": 1}, "replicas": 0, "template": {"x": 1}}, "data": {"a": "1"}}
    existing = {"spec": {"selector": {"old": 1}, "replicas": 5}}
    partial = partial_body(body, existing, ["spec.selector", "data"])
    assert partial == {"spec": {"selector": {"old": 1}, "replicas": 0, "template": {"x": 1}}}
    assert body["spec"]["selector"] == {"new": 1}  # the input is not modified


def test_custom_resources_are_replaced_whole() -> None:
    desired = _desired(obj("example.com/v1", "Widget", "w", spec={"size": 2}))
    assert update_body(desired, _existing(desired, size=1))["spec"] == {"size": 2}


QUANTITIES = [
    ("10Gi", 10 * 2**30),
    ("500M", 500 * 10**6),
    ("1e3", 1000),
    (2, 2),
    ("1.5Gi", 1.5 * 2**30),
    ("100m", Decimal("0.1")),
    ("1E", 10**18),
]


def test_storage_quantities_are_compared_as_numbers() -> None:
    for text, value in QUANTITIES:
        assert parse_quantity(text) == value, text
    assert parse_quantity("ten gigs") is None


def test_changed_fields_name_what_an_update_sets_differently_not_what_it_leaves_out() -> None:
    existing = {
        "spec": {
            "resources": {"requests": {"storage": "1Gi"}},
            "volumeName": "pv-1",
            "volumeMode": "Filesystem",
        }
    }
    body = {"spec": {"resources": {"requests": {"storage": "2Gi"}}, "accessModes": ["ReadWriteOnce"]}}
    assert set(changed_fields(body, existing)) == {"spec.resources.requests.storage", "spec.accessModes"}
    assert changed_fields(existing, existing) == ()
    many = {"spec": {f"k{i}": i for i in range(9)}}
    assert len(changed_fields(many, {"spec": {}}, limit=3)) == 3


def test_a_pod_update_keeps_the_node_and_priority_the_destination_assigned() -> None:
    desired = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c"}]},
    }
    existing = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "resourceVersion": "7"},
        "spec": {
            "containers": [{"name": "c"}],
            "nodeName": "dr-node",
            "priority": 50,
            "preemptionPolicy": "Never",
        },
    }
    spec = update_body(desired, existing)["spec"]
    assert (spec["nodeName"], spec["priority"], spec["preemptionPolicy"]) == ("dr-node", 50, "Never")
    assert "nodeName" not in desired["spec"]


def _ingress(class_name: str | None = None, annotations: dict[str, str] | None = None) -> Obj:
    spec: Obj = {"defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}
    if class_name is not None:
        spec["ingressClassName"] = class_name
    return obj("networking.k8s.io/v1", "Ingress", "web", annotations=annotations, spec=spec)


# (case, source Ingress, the copy's class in the destination, the class the update body states)
INGRESS_CLASSES: list[tuple[str, Obj, str | None, str | None]] = [
    ("no class: the destination's default is kept", _ingress(), "dr-nginx", "dr-nginx"),
    ("no class, and no default in the destination", _ingress(), None, None),
    ("a stated class wins", _ingress("nginx"), "dr-nginx", "nginx"),
    (
        "a class named by the older annotation takes no default",
        _ingress(annotations={"kubernetes.io/ingress.class": "nginx"}),
        "dr-nginx",
        None,
    ),
]


@pytest.mark.parametrize(
    ("source", "held", "sent"), [c[1:] for c in INGRESS_CLASSES], ids=[c[0] for c in INGRESS_CLASSES]
)
def test_an_ingress_update_keeps_the_default_class_the_destination_gave_it(
    source: Obj, held: str | None, sent: str | None
) -> None:
    desired = _desired(source)
    existing = _existing(desired, **({"ingressClassName": held} if held else {}))
    before = copy.deepcopy((desired, existing))

    spec = update_body(desired, existing)["spec"]

    assert spec.get("ingressClassName") == sent
    assert spec["defaultBackend"] == desired["spec"]["defaultBackend"]
    assert (desired, existing) == before  # pure


LOAD_BALANCER: Obj = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "lb"},
    "spec": {
        "type": "LoadBalancer",
        "externalTrafficPolicy": "Local",
        "clusterIP": "10.0.0.7",
        "clusterIPs": ["10.0.0.7"],
        "healthCheckNodePort": 31000,
        "ports": [
            {"name": "http", "port": 80, "nodePort": 30080},
            {"name": "https", "port": 443, "nodePort": 30443},
        ],
    },
}


@pytest.mark.parametrize(
    ("desired_spec", "dry_run_spec"),
    [
        # what the copy to be deleted holds is freed by its delete: not asked for in the dry run
        (
            LOAD_BALANCER["spec"],
            {
                "type": "LoadBalancer",
                "externalTrafficPolicy": "Local",
                "ports": [{"name": "http", "port": 80}, {"name": "https", "port": 443}],
            },
        ),
        # what it does not hold is asked for, so the dry run says whether the destination has it free
        (
            {
                **LOAD_BALANCER["spec"],
                "clusterIP": "10.0.0.9",
                "clusterIPs": ["10.0.0.9"],
                "healthCheckNodePort": 30080,  # the copy's http port: freed too
                "ports": [{"name": "http", "port": 80, "nodePort": 30081}],
            },
            {
                **LOAD_BALANCER["spec"],
                "clusterIP": "10.0.0.9",
                "clusterIPs": ["10.0.0.9"],
                "healthCheckNodePort": None,
                "ports": [{"name": "http", "port": 80, "nodePort": 30081}],
            },
        ),
        # headless is a choice, not an allocation
        ({"clusterIP": "None", "clusterIPs": ["None"]}, {"clusterIP": "None", "clusterIPs": ["None"]}),
    ],
    ids=["held", "not held", "headless"],
)
def test_a_recreates_dry_run_asks_for_no_address_or_node_port_the_old_copy_holds(
    desired_spec: Obj, dry_run_spec: Obj
) -> None:
    desired = {**LOAD_BALANCER, "spec": desired_spec}
    before = copy.deepcopy(desired)
    body = dry_run_replacement(desired, LOAD_BALANCER)
    assert desired == before  # not modified
    assert body["spec"] == {k: v for k, v in dry_run_spec.items() if v is not None}
    assert body["metadata"] == desired["metadata"]


def test_a_recreates_dry_run_of_other_kinds_is_the_desired_object() -> None:
    desired = _desired(deployment())
    assert dry_run_replacement(desired, _existing(desired)) == desired
    assert dry_run_replacement(LOAD_BALANCER, None) == LOAD_BALANCER
