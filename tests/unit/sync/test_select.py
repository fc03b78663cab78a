"""Which source objects are copied, and the reason given for each one that is not."""

from __future__ import annotations

from typing import Any

import pytest

from drsyncer.api import keys
from drsyncer.sync.select import skip_reason
from tests.unit.sync.factories import configmap, deployment, obj, rules, secret


def _owned_by(kind: str, api_version: str, make: Any = configmap, controller: bool = True) -> dict[str, Any]:
    o: dict[str, Any] = make()
    o["metadata"]["ownerReferences"] = [
        {"apiVersion": api_version, "kind": kind, "name": "parent", "uid": "p", "controller": controller}
    ]
    return o


def _replicaset() -> dict[str, Any]:
    rs = obj("apps/v1", "ReplicaSet", "web-5d4f", spec={})
    rs["metadata"]["ownerReferences"] = [
        {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "d", "controller": True}
    ]
    return rs


def _being_deleted() -> dict[str, Any]:
    o = configmap()
    o["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return o


SKIPPED = [
    # (case, object, spec, words expected in the reason)
    ("ignore label", configmap(labels={keys.LABEL_IGNORE: "true"}), {}, keys.LABEL_IGNORE),
    ("ignore label on a Deployment", deployment(labels={keys.LABEL_IGNORE: "true"}), {}, keys.LABEL_IGNORE),
    ("kube-root-ca.crt", configmap(keys.ROOT_CA_CONFIGMAP), {}, keys.ROOT_CA_CONFIGMAP),
    ("service-account token Secret", secret("default-token-x", type=keys.SECRET_TYPE_SA_TOKEN), {}, "token"),
    ("excludeResources by kind and name", configmap("settings"),
     {"excludeResources": [{"kind": "configmap", "name": "settings"}]}, "excludeResources"),
    ("labelSelector matchLabels", configmap(labels={"tier": "cache"}),
     {"labelSelector": {"matchLabels": {"tier": "web"}}}, "labelSelector"),
    ("labelSelector In", configmap(labels={"tier": "cache"}),
     {"labelSelector": {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web"]}]}},
     "labelSelector"),
    ("labelSelector NotIn", configmap(labels={"tier": "web"}),
     {"labelSelector": {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["web"]}]}},
     "labelSelector"),
    ("labelSelector Exists", configmap(),
     {"labelSelector": {"matchExpressions": [{"key": "tier", "operator": "Exists"}]}}, "labelSelector"),
    ("labelSelector DoesNotExist", configmap(labels={"tier": "web"}),
     {"labelSelector": {"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}}, "labelSelector"),
    ("being deleted", _being_deleted(), {}, "deleted"),
    ("ReplicaSet owned by a Deployment", _replicaset(), {}, "Deployment web"),
    ("Job owned by a CronJob", _owned_by("CronJob", "batch/v1"), {}, "CronJob parent"),
    ("Pod owned by a StatefulSet", _owned_by("StatefulSet", "apps/v1"), {}, "StatefulSet parent"),
]


@pytest.mark.parametrize(("source", "spec", "words"), [c[1:] for c in SKIPPED], ids=[c[0] for c in SKIPPED])
def test_skipped_objects_say_why(source: dict[str, Any], spec: dict[str, Any], words: str) -> None:
    reason = skip_reason(source, rules(**spec))
    assert reason is not None and words in reason


COPIED = [
    ("plain ConfigMap", configmap(), {}),
    ("ignore label other than exactly true", configmap(labels={keys.LABEL_IGNORE: "True"}), {}),
    ("ignore label false", configmap(labels={keys.LABEL_IGNORE: "false"}), {}),
    ("a Secret named like a token but of another type", secret("default-token-x"), {}),
    ("a ConfigMap of another name", configmap("kube-root-ca"), {}),
    ("excludeResources kind matched case-insensitively, other name",
     configmap("other"), {"excludeResources": [{"kind": "ConfigMap", "name": "settings"}]}),
    ("excludeResources of a custom resource in another group",
     obj("other.example.com/v1", "Widget", "w1"),
     {"excludeResources": [{"kind": "widgets.example.com", "name": "w1"}]}),
    ("excludeResources of another kind", configmap("settings"),
     {"excludeResources": [{"kind": "Secret", "name": "settings"}]}),
    ("labelSelector matched", configmap(labels={"tier": "web", "x": "y"}),
     {"labelSelector": {"matchLabels": {"tier": "web"},
                        "matchExpressions": [{"key": "x", "operator": "In", "values": ["y", "z"]},
                                             {"key": "gone", "operator": "NotIn", "values": ["a"]},
                                             {"key": "gone", "operator": "DoesNotExist"}]}}),
    ("owned, but not by a controller", _owned_by("Deployment", "apps/v1", controller=False), {}),
    ("controlled by a custom resource", _owned_by("Widget", "example.com/v1"), {}),
]


@pytest.mark.parametrize(("source", "spec"), [c[1:] for c in COPIED], ids=[c[0] for c in COPIED])
def test_selected_objects(source: dict[str, Any], spec: dict[str, Any]) -> None:
    assert skip_reason(source, rules(**spec)) is None


WIDGET = obj("example.com/v1", "Widget", "settings")
EXCLUDE_SPELLINGS = [
    ("kind", "ConfigMap", configmap("settings")),
    ("kind in upper case", "CONFIGMAP", configmap("settings")),
    ("resource name", "configmaps", configmap("settings")),
    ("short name", "cm", configmap("settings")),
    ("resource.group of a built-in", "deployments.apps", deployment("settings")),
    ("resource.group of a custom resource", "widgets.example.com", WIDGET),
    ("Kind.group of a custom resource", "Widget.example.com", WIDGET),
]


@pytest.mark.parametrize(
    ("kind", "source"), [c[1:] for c in EXCLUDE_SPELLINGS], ids=[c[0] for c in EXCLUDE_SPELLINGS]
)
def test_exclude_accepts_every_resource_type_spelling(kind: str, source: dict[str, Any]) -> None:
    r = rules(excludeResources=[{"kind": kind, "name": "settings"}])
    assert skip_reason(source, r) == "listed in excludeResources"
