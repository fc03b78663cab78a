"""Namespace names inside objects follow the namespace mapping; names of unmapped namespaces stay."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from drsyncer.sync.namespace_refs import NAME_LABEL, namespace_map, service_dns_name
from drsyncer.sync.objects import Obj
from drsyncer.sync.rules import Rules
from drsyncer.sync.transform import for_destination
from tests.unit.sync.factories import obj

# the Replication copies shop → shop-dr and billing → billing-dr; tools is not copied
SPEC = {
    "sourceNamespace": "shop",
    "destinationNamespace": "shop-dr",
    "namespaceMappings": [{"source": "billing", "destination": "billing-dr"}],
}


def _copy(source: Obj, spec: dict[str, Any] | None = None) -> Obj:
    rules = Rules.from_spec(SPEC if spec is None else spec, replication="dr-system/r", source_cluster="prod")
    return for_destination(source, rules, destination_namespace="shop-dr")


def _rolebinding(*subjects: dict[str, str]) -> Obj:
    return obj(
        "rbac.authorization.k8s.io/v1",
        "RoleBinding",
        "rb",
        subjects=list(subjects),
        roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
    )


def _sa(name: str, namespace: str) -> dict[str, str]:
    return {"kind": "ServiceAccount", "name": name, "namespace": namespace}


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        (_sa("worker", "shop"), "shop-dr"),  # its own namespace
        (_sa("biller", "billing"), "billing-dr"),  # another namespace of the Replication
        (_sa("auditor", "tools"), "tools"),  # not copied: left alone
        ({"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"}, None),
    ],
)
def test_rolebinding_service_account_subjects_follow_the_mapping(
    subject: dict[str, str], expected: str | None
) -> None:
    source = _rolebinding(subject)
    out = _copy(source)
    assert out["subjects"][0].get("namespace") == expected
    assert source["subjects"][0] == subject  # the source object is untouched


@pytest.mark.parametrize(
    ("kind", "name", "expected"),
    [
        ("User", "system:serviceaccount:shop:worker", "system:serviceaccount:shop-dr:worker"),
        ("User", "system:serviceaccount:tools:auditor", "system:serviceaccount:tools:auditor"),
        ("User", "system:serviceaccount:shop", "system:serviceaccount:shop"),  # not an account's name
        ("User", "shop", "shop"),
        ("Group", "system:serviceaccounts:billing", "system:serviceaccounts:billing-dr"),
        ("Group", "system:serviceaccounts", "system:serviceaccounts"),  # every account of the cluster
        ("Group", "shop", "shop"),
    ],
)
def test_service_account_user_and_group_names_follow_the_mapping(kind: str, name: str, expected: str) -> None:
    subject = {"kind": kind, "name": name, "apiGroup": "rbac.authorization.k8s.io"}
    assert _copy(_rolebinding(subject))["subjects"][0]["name"] == expected


def test_claim_data_source_ref_namespace_follows_the_mapping() -> None:
    ref = {
        "apiGroup": "snapshot.storage.k8s.io",
        "kind": "VolumeSnapshot",
        "name": "n1",
        "namespace": "billing",
    }
    source = obj("v1", "PersistentVolumeClaim", "data", spec={"dataSourceRef": ref})
    spec = {**SPEC, "pvcConfig": {"preserveVolumeAttributes": True}}
    assert _copy(source, spec)["spec"]["dataSourceRef"]["namespace"] == "billing-dr"
    assert ref["namespace"] == "billing"


def test_without_a_mapping_nothing_is_rewritten() -> None:
    source = _rolebinding(_sa("worker", "shop"))
    rules = Rules.from_spec({"sourceNamespace": "shop"}, replication="dr-system/r", source_cluster="prod")
    out = for_destination(source, rules, destination_namespace="shop")
    assert out["subjects"] == source["subjects"]


def test_a_namespace_copied_under_two_names_is_not_rewritten_from_elsewhere() -> None:
    spec = {
        "namespaceMappings": [
            {"source": "billing", "destination": "b1"},
            {"source": "billing", "destination": "b2"},
        ]
    }
    out = _copy(_rolebinding(_sa("biller", "billing"), _sa("worker", "shop")), spec)
    assert [s["namespace"] for s in out["subjects"]] == ["billing", "shop-dr"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("db.shop.svc", "db.shop-dr.svc"),
        ("db.shop.svc.cluster.local", "db.shop-dr.svc.cluster.local"),
        ("db.billing.svc.cluster.local.", "db.billing-dr.svc.cluster.local."),
        ("db.tools.svc.cluster.local", "db.tools.svc.cluster.local"),
        ("db.shop", "db.shop"),  # could be any DNS name: not rewritten
        ("db.shop.example.com", "db.shop.example.com"),
        ("shop.svc", "shop.svc"),
    ],
)
def test_service_dns_names(name: str, expected: str) -> None:
    assert service_dns_name(name, {"shop": "shop-dr", "billing": "billing-dr"}) == expected


def test_external_name_service_follows_the_mapping() -> None:
    source = obj(
        "v1", "Service", "db", spec={"type": "ExternalName", "externalName": "db.billing.svc.cluster.local"}
    )
    assert _copy(source)["spec"]["externalName"] == "db.billing-dr.svc.cluster.local"


def _by_name(*names: str) -> dict[str, Any]:
    return {"matchExpressions": [{"key": NAME_LABEL, "operator": "In", "values": list(names)}]}


def test_network_policy_namespace_selectors_follow_the_mapping() -> None:
    source = obj(
        "networking.k8s.io/v1",
        "NetworkPolicy",
        "np",
        spec={
            "podSelector": {},
            "ingress": [
                {
                    "from": [
                        {"namespaceSelector": {"matchLabels": {NAME_LABEL: "billing"}}},
                        {"namespaceSelector": {"matchLabels": {"team": "billing"}}},
                        {"podSelector": {"matchLabels": {"app": "x"}}},
                    ]
                }
            ],
            "egress": [
                {"to": [{"namespaceSelector": _by_name("billing", "tools")}]},
                {"ports": [{"port": 53}]},
            ],
        },
    )
    before = copy.deepcopy(source)
    out = _copy(source)
    peers = out["spec"]["ingress"][0]["from"]
    assert peers[0]["namespaceSelector"]["matchLabels"] == {NAME_LABEL: "billing-dr"}
    assert peers[1:] == before["spec"]["ingress"][0]["from"][1:]  # other labels mean what they meant
    assert out["spec"]["egress"][0]["to"][0]["namespaceSelector"] == _by_name("billing-dr", "tools")
    assert out["spec"]["egress"][1] == {"ports": [{"port": 53}]}
    assert source == before


SEARCHES = ["billing.svc.cluster.local", "tools.svc.cluster.local", "example.com"]


@pytest.mark.parametrize(
    ("api_version", "kind", "path"),
    [
        ("apps/v1", "Deployment", ("spec", "template", "spec")),
        ("apps/v1", "StatefulSet", ("spec", "template", "spec")),
        ("apps/v1", "DaemonSet", ("spec", "template", "spec")),
        ("batch/v1", "Job", ("spec", "template", "spec")),
        ("batch/v1", "CronJob", ("spec", "jobTemplate", "spec", "template", "spec")),
        ("v1", "Pod", ("spec",)),
        ("v1", "ReplicationController", ("spec", "template", "spec")),
        ("v1", "PodTemplate", ("template", "spec")),
    ],
)
def test_pod_template_namespace_references_follow_the_mapping(
    api_version: str, kind: str, path: tuple[str, ...]
) -> None:
    term = {
        "labelSelector": {"matchLabels": {"app": "cache"}},
        "topologyKey": "zone",
        "namespaces": ["billing", "tools"],
        "namespaceSelector": _by_name("shop"),
    }
    pod: dict[str, Any] = {
        "containers": [],
        "dnsConfig": {"searches": SEARCHES},
        "affinity": {
            "podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]},
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1, "podAffinityTerm": term}]
            },
        },
    }
    fields: dict[str, Any] = pod
    for part in reversed(path):
        fields = {part: fields}
    source = obj(api_version, kind, "w", **fields)
    before = copy.deepcopy(source)
    out = _copy(source)
    for part in path:
        out = out[part]
    required = out["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
    preferred = out["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]
    for rewritten in (required, preferred["podAffinityTerm"]):
        assert rewritten["namespaces"] == ["billing-dr", "tools"]
        assert rewritten["namespaceSelector"] == _by_name("shop-dr")
    assert out["dnsConfig"]["searches"] == [
        "billing-dr.svc.cluster.local",
        "tools.svc.cluster.local",
        "example.com",
    ]
    assert source == before


def test_crd_conversion_webhook_service_follows_the_mapping() -> None:
    service = {"name": "conv", "namespace": "billing", "path": "/convert"}
    crd = obj(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        "widgets.example.com",
        namespace=None,
        spec={
            "group": "example.com",
            "conversion": {
                "strategy": "Webhook",
                "webhook": {"conversionReviewVersions": ["v1"], "clientConfig": {"service": service}},
            },
        },
    )
    out = _copy(crd)
    assert out["spec"]["conversion"]["webhook"]["clientConfig"]["service"]["namespace"] == "billing-dr"
    assert service["namespace"] == "billing"


def test_namespace_map_adds_the_objects_own_namespace() -> None:
    assert namespace_map((("billing", "billing-dr"),), "shop", "shop-dr") == {
        "billing": "billing-dr",
        "shop": "shop-dr",
    }
    assert namespace_map((), "shop", "shop") == {}
    assert namespace_map((("shop", "x"),), "shop", "shop") == {}  # this copy keeps the name
