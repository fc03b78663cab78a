"""Reading a Replication spec into Rules: defaults, normalisation, and field-named errors."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from drsyncer.api.parse import parse_remote_cluster, parse_replication
from drsyncer.api.resource_types import find_builtin
from drsyncer.errors import CategorisedError, Category
from drsyncer.sync.rules import DEFAULT_RESOURCE_TYPES, ImmutableHandling, LabelSelector, Rules
from tests.unit.api.builders import remote_cluster_dict, replication_dict


def _rules(spec: dict[str, Any]) -> Rules:
    return Rules.from_spec(spec, replication="dr-system/shop", source_cluster="prod")


def test_empty_spec_gets_the_documented_defaults() -> None:
    r = _rules({})
    assert r.replication == "dr-system/shop" and r.source_cluster == "prod"
    assert r.resource_types == DEFAULT_RESOURCE_TYPES
    assert r.scale_to_zero is True
    assert r.keep_node_ports is False
    assert r.prune_deleted is False and r.dry_run is False and r.sync_crds is False
    assert r.default_immutable_handling == ImmutableHandling.NO_CHANGE
    assert r.storage_class_mappings == () and r.access_mode_mappings == ()
    assert r.label_selector is None and r.exclude == frozenset()


def test_every_spec_field_is_read() -> None:
    r = _rules(
        {
            "resourceTypes": ["configmaps"],
            "namespaceScopedResources": ["widgets.example.com", "configmaps"],
            "syncCRDs": True,
            "scaleToZero": False,
            "pvcConfig": {
                "storageClassMappings": [{"from": "a", "to": "b"}],
                "accessModeMappings": [{"from": "ReadWriteOnce", "to": "ReadWriteMany"}],
                "preserveVolumeAttributes": True,
                "syncPersistentVolumes": True,
            },
            "immutableResourceConfig": {
                "defaultHandling": "Recreate",
                "resourceOverrides": {"pvc": "NoChange"},
            },
            "excludeResources": [{"kind": "Secret", "name": "x"}],
            "labelSelector": {"matchLabels": {"a": "b"}},
            "pruneDeleted": True,
            "dryRun": True,
        }
    )
    assert r.resource_types == ("configmaps", "widgets.example.com")
    assert r.sync_crds and not r.scale_to_zero and r.prune_deleted and r.dry_run
    assert r.storage_class_mappings == (("a", "b"),)
    assert r.access_mode_mappings == (("ReadWriteOnce", "ReadWriteMany"),)
    assert r.preserve_volume_attributes and r.sync_persistent_volumes
    assert r.default_immutable_handling == ImmutableHandling.RECREATE
    assert r.override_for("", "PersistentVolumeClaim") == ImmutableHandling.NO_CHANGE
    assert r.exclude == frozenset({("", "secret", "x")})
    assert r.label_selector == LabelSelector(match_labels={"a": "b"})


OVERRIDE_KEYS = [
    ("deployments.apps", "apps", "Deployment"),
    ("Deployment.apps", "apps", "Deployment"),
    ("deployment.apps", "apps", "Deployment"),
    ("secrets", "", "Secret"),
    ("Secret", "", "Secret"),
    ("widgets.example.com", "example.com", "Widget"),
    ("Widget.example.com", "example.com", "Widget"),
    ("policies.example.com", "example.com", "Policy"),
]


@pytest.mark.parametrize(("name", "group", "kind"), OVERRIDE_KEYS)
def test_resource_overrides_match_kind_or_resource_names(name: str, group: str, kind: str) -> None:
    r = _rules({"immutableResourceConfig": {"resourceOverrides": {name: "ForceUpdate"}}})
    assert r.override_for(group, kind) == ImmutableHandling.FORCE_UPDATE
    assert r.override_for("other.example.com", kind) is None


INVALID = [
    (
        {"immutableResourceConfig": {"defaultHandling": "Sometimes"}},
        "spec.immutableResourceConfig.defaultHandling",
    ),
    (
        {"immutableResourceConfig": {"resourceOverrides": {"pvc": "x"}}},
        "spec.immutableResourceConfig.resourceOverrides[pvc]",
    ),
    (
        {"pvcConfig": {"storageClassMappings": [{"from": "a", "to": "b"}, {"from": "a"}]}},
        "spec.pvcConfig.storageClassMappings[1]",
    ),
    (
        {"labelSelector": {"matchExpressions": [{"key": "a", "operator": "Near"}]}},
        "spec.labelSelector.matchExpressions[0].operator",
    ),
    (
        {"labelSelector": {"matchExpressions": [{"key": "a", "operator": "In"}]}},
        "spec.labelSelector.matchExpressions[0].values",
    ),
    (
        {"labelSelector": {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}},
        "spec.labelSelector.matchExpressions[0].values",
    ),
]


@pytest.mark.parametrize(("spec", "path"), INVALID)
def test_unusable_values_raise_a_non_retryable_error_naming_the_field(
    spec: dict[str, Any], path: str
) -> None:
    with pytest.raises(CategorisedError) as caught:
        _rules(spec)
    assert caught.value.category == Category.NON_RETRYABLE
    assert str(caught.value).startswith(f"NonRetryable: {path}:")


def test_handling_accepts_the_label_spelling_in_the_spec_too() -> None:
    r = _rules({"immutableResourceConfig": {"defaultHandling": "recreate-with-drain"}})
    assert r.default_immutable_handling == ImmutableHandling.RECREATE_WITH_POD_DRAIN


def test_rules_are_hashable_and_comparable() -> None:
    spec = {"immutableResourceConfig": {"resourceOverrides": {"pvc": "Recreate"}}}
    assert _rules(spec) == _rules(spec)
    assert hash(_rules(spec)) == hash(_rules(spec))


def test_preserve_node_ports_in_the_spec_keeps_node_ports() -> None:
    assert _rules({"preserveNodePorts": True}).keep_node_ports
    assert not _rules({}).keep_node_ports


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({}, ()),
        ({"sourceNamespace": "shop"}, ()),
        ({"sourceNamespace": "shop", "destinationNamespace": "shop"}, ()),
        ({"sourceNamespace": "shop", "destinationNamespace": "shop-dr"}, (("shop", "shop-dr"),)),
        (
            {
                "sourceNamespace": "shop",
                "destinationNamespace": "shop-dr",
                "namespaceMappings": [{"source": "billing", "destination": "billing-dr"}, {"source": "ops"}],
            },
            (("billing", "billing-dr"), ("shop", "shop-dr")),
        ),
        # copied under two names: no one name to rewrite references from other namespaces to
        (
            {
                "namespaceMappings": [
                    {"source": "billing", "destination": "b1"},
                    {"source": "billing", "destination": "b2"},
                ]
            },
            (),
        ),
    ],
)
def test_namespace_mappings_that_rename_are_read(
    spec: dict[str, Any], expected: tuple[tuple[str, str], ...]
) -> None:
    assert Rules.from_spec(spec, replication="ns/r", source_cluster="prod").namespace_mappings == expected


def _from_model(**spec: Any) -> Rules:
    rules = Rules.from_replication(parse_replication(replication_dict("shop", "dr-system", **spec)))
    # the model stores types in canonical spelling (`deployments.apps`); from_spec keeps what it was given
    return replace(rules, resource_types=tuple(_canonical(t) for t in rules.resource_types))


def _canonical(name: str) -> str:
    found = find_builtin(name)
    return found.plural if found else name


def test_rules_of_a_replication_with_no_optional_fields_are_the_rules_defaults() -> None:
    # the CLI's rules (from_spec of a few flags) and a CR's must not drift apart in their defaults
    assert _from_model() == _rules({"sourceNamespace": "web"})


def test_rules_of_a_replication_read_every_field_from_the_typed_model() -> None:
    spec = {
        "resourceTypes": ["configmaps"],
        "namespaceScopedResources": ["widgets.example.com", "configmaps"],
        "syncCRDs": True,
        "scaleToZero": False,
        "preserveNodePorts": True,
        "pvcConfig": {
            "storageClassMappings": [{"from": "a", "to": "b"}],
            "accessModeMappings": [{"from": "ReadWriteOnce", "to": "ReadWriteMany"}],
            "preserveVolumeAttributes": True,
            "syncPersistentVolumes": True,
        },
        "immutableResourceConfig": {"defaultHandling": "Recreate", "resourceOverrides": {"pvc": "NoChange"}},
        "excludeResources": [{"kind": "Secret", "name": "x"}],
        "labelSelector": {"matchExpressions": [{"key": "a", "operator": "In", "values": ["b"]}]},
        "pruneDeleted": True,
        "dryRun": True,
        "sourceNamespace": "web",
        "destinationNamespace": "web-dr",
        "namespaceMappings": [{"source": "billing", "destination": "billing-dr"}],
    }
    assert _from_model(**spec) == _rules(spec)
    assert _from_model(**spec).namespace_mappings == (("billing", "billing-dr"), ("web", "web-dr"))


def test_rules_of_a_replication_take_the_source_clusters_default_types() -> None:
    source = parse_remote_cluster(remote_cluster_dict(defaultResourceTypes=["svc", "cm"]))
    rules = Rules.from_replication(parse_replication(replication_dict()), source)
    assert rules.resource_types == ("services", "configmaps")
    assert rules.replication == "dr-system/web" and rules.source_cluster == "prod"
