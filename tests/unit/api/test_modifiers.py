"""spec.modifiers validation: a malformed rule is an InvalidSpec naming the rule index and field."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.api.builders import DROP, replication_dict, replication_errors

LABEL = {"labels": {"set": {"site": "dr"}}}

# (a rule, the error it gets); the rule is modifiers[1], after a valid one
BAD_RULES: list[tuple[str, dict[str, Any], str]] = [
    (
        "bad JSON Pointer",
        {"jsonPatch": [{"op": "add", "path": "spec/x", "value": 1}]},
        "spec.modifiers[1].jsonPatch[0].path: invalid JSON Pointer 'spec/x'",
    ),
    (
        "bad escape in a JSON Pointer",
        {"fieldMatches": [{"path": "/metadata/labels/a~2b", "value": "x"}], **LABEL},
        "spec.modifiers[1].fieldMatches[0].path: invalid JSON Pointer",
    ),
    (
        "unknown op",
        {"jsonPatch": [{"op": "merge", "path": "/spec"}]},
        "spec.modifiers[1].jsonPatch[0].op: must be one of add, remove, replace, copy, move or test",
    ),
    (
        "op without its value",
        {"jsonPatch": [{"op": "replace", "path": "/a"}]},
        "spec.modifiers[1].jsonPatch[0].value: op replace needs a value",
    ),
    (
        "move without from",
        {"jsonPatch": [{"op": "move", "path": "/a"}]},
        "spec.modifiers[1].jsonPatch[0].from: op move needs from",
    ),
    (
        "invalid name regex",
        {"nameRegex": "a(b", **LABEL},
        "spec.modifiers[1].nameRegex: invalid regular expression 'a(b'",
    ),
    (
        "invalid field regex",
        {"fieldMatches": [{"path": "/spec/a", "regex": "*"}], **LABEL},
        "spec.modifiers[1].fieldMatches[0].regex: invalid regular expression '*'",
    ),
    (
        "field match with both value and regex",
        {"fieldMatches": [{"path": "/spec/a", "value": 1, "regex": "1"}], **LABEL},
        "spec.modifiers[1].fieldMatches[0].value: set exactly one of value and regex",
    ),
    (
        "strategicMergePatch on a custom resource",
        {"resources": ["virtualservices.networking.istio.io"], "strategicMergePatch": {"spec": {}}},
        'spec.modifiers[1].resources[0]: strategicMergePatch applies to built-in kinds only, not "virtualservices.networking.istio.io"',
    ),
    (
        "strategicMergePatch without resources",
        {"strategicMergePatch": {"spec": {}}},
        "spec.modifiers[1].strategicMergePatch: needs resources naming built-in kinds",
    ),
    (
        "image rule with nothing to change",
        {"image": {"matchRegistry": "docker.io"}},
        "spec.modifiers[1].image.registry: set registry, repository or tag",
    ),
    ("rule without an operation", {"names": ["web"]}, "spec.modifiers[1]: sets no operation"),
    ("unknown field in a rule", {"jsonPath": [], **LABEL}, "spec.modifiers[1].jsonPath: unknown field"),
    ("unknown resource type", {"resources": ["deploymnets"], **LABEL}, 'did you mean "deployments"?'),
    (
        "embedded without a patch",
        {"embedded": [{"field": "/data/a"}]},
        "spec.modifiers[1].embedded[0].jsonPatch: set jsonPatch or mergePatch",
    ),
    (
        "embedded format unknown",
        {"embedded": [{"field": "/data/a", "format": "toml", "mergePatch": {"a": 1}}]},
        "spec.modifiers[1].embedded[0].format",
    ),
    ("label key invalid", {"labels": {"set": {"a b": "c"}}}, "spec.modifiers[1].labels.set[a b]: label key"),
    (
        "annotation key with an invalid prefix",
        {"annotations": {"remove": ["Bad_Prefix/zone"]}},
        'spec.modifiers[1].annotations.remove[0]: annotation key "Bad_Prefix/zone" has an invalid prefix',
    ),
    (
        "annotation key invalid",
        {"annotations": {"set": {"a b": "c"}}},
        'spec.modifiers[1].annotations.set[a b]: annotation key "a b" is invalid',
    ),
    (
        "cluster that is not a destination",
        {"clusters": ["dr9"], **LABEL},
        'spec.modifiers[1].clusters[0]: "dr9" is not a destination of this Replication',
    ),
]


@pytest.mark.parametrize(("rule", "message"), [c[1:] for c in BAD_RULES], ids=[c[0] for c in BAD_RULES])
def test_malformed_modifier_is_rejected_naming_rule_and_field(rule: dict[str, Any], message: str) -> None:
    errors = replication_errors(replication_dict(modifiers=[LABEL, rule]))
    assert any(message in e for e in errors), errors


def test_well_formed_modifiers_are_accepted() -> None:
    rules = [
        {
            "resources": ["ingresses.networking.k8s.io", "Ingress"],
            "names": ["web"],
            "nameRegex": "^w",
            "namespaces": ["web"],
            "labelSelector": {"matchLabels": {"app": "web"}},
            "fieldMatches": [
                {"path": "/spec/rules/0/host", "regex": "example"},
                {"path": "/spec/x", "value": None},
            ],
            "clusters": ["dr1"],
            "jsonPatch": [
                {"op": "test", "path": "/spec/rules/0/host", "value": "a"},
                {"op": "copy", "from": "/spec/a", "path": "/spec/b"},
                {"op": "remove", "path": "/spec/tls"},
            ],
            "mergePatch": {"spec": {"ingressClassName": None}},
        },
        {"resources": ["deployments"], "strategicMergePatch": {"spec": {}}, "image": {"registry": "m.io"}},
        {"annotations": {"remove": ["a.example.com/b"]}, "labels": {"set": {"a": "b"}, "remove": ["c"]}},
        {
            "embedded": [
                {
                    "field": "/data/app.json",
                    "format": "json",
                    "jsonPatch": [{"op": "add", "path": "/a", "value": {}}],
                }
            ]
        },
    ]
    assert replication_errors(replication_dict(modifiers=rules)) == []


def test_unknown_cluster_of_a_rule_is_reported_together_with_other_errors() -> None:
    rule = {"clusters": ["dr9"], "labels": {"set": {"bad key!": "x"}}}
    errors = replication_errors(replication_dict(sourceCluster=DROP, modifiers=[LABEL, rule]))
    assert "spec.sourceCluster: required" in errors, errors
    assert any(e.startswith("spec.modifiers[1].labels.set[bad key!]: label key") for e in errors), errors
    assert 'spec.modifiers[1].clusters[0]: "dr9" is not a destination of this Replication' in errors, errors


def test_unknown_cluster_of_a_valid_spec_is_reported_once() -> None:
    errors = replication_errors(replication_dict(modifiers=[{"clusters": ["dr9", "dr1"], **LABEL}]))
    assert errors == ['spec.modifiers[0].clusters[0]: "dr9" is not a destination of this Replication']
