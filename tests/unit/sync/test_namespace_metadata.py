"""Which labels and annotations of a source namespace its destination namespaces carry, and the merge
patch that keeps them in step."""

from __future__ import annotations

import json
from typing import Any

import pytest

from drsyncer.api import keys
from drsyncer.sync.namespace_metadata import NamespaceMetadata, creation_metadata, patch_for, select
from tests.unit.sync.factories import rules

RECORD = keys.ANNOTATION_NAMESPACE_METADATA


def namespace(
    labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "shop", "labels": labels or {}, "annotations": annotations or {}},
    }


SOURCE = namespace(
    labels={
        "kubernetes.io/metadata.name": "shop",
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "v1.34",
        "pod-security.kubernetes.io/warn": "baseline",
        "istio-injection": "enabled",
        "istio.io/rev": "1-22",
        "team": "payments",
        "example.com/cost-center": "42",
        keys.LABEL_MANAGED_BY: "drsyncer",
    },
    annotations={
        "linkerd.io/inject": "enabled",
        "kubectl.kubernetes.io/last-applied-configuration": "{}",
        "owner": "alice",
        "scheduler.alpha.kubernetes.io/node-selector": "zone=a",
    },
)

SELECTED = [
    # (case, namespaceMetadata spec, labels expected, annotations expected)
    (
        "by default: Pod Security and sidecar injection only",
        {},
        {
            "pod-security.kubernetes.io/enforce": "restricted",
            "pod-security.kubernetes.io/enforce-version": "v1.34",
            "pod-security.kubernetes.io/warn": "baseline",
            "istio-injection": "enabled",
            "istio.io/rev": "1-22",
        },
        {"linkerd.io/inject": "enabled"},
    ),
    (
        "exact keys and prefixes a rule names",
        {"labels": ["team", "example.com/"], "annotations": ["own*"]},
        {"team": "payments", "example.com/cost-center": "42"},
        {"owner": "alice"},
    ),
    (
        "cluster-specific and drsyncer's own keys are never copied, whatever a rule says",
        {"labels": ["kubernetes.io/", "dr-syncer.io/*"], "annotations": ["kubectl.kubernetes.io/"]},
        {},
        {},
    ),
]


@pytest.mark.parametrize(
    ("spec", "labels", "annotations"), [c[1:] for c in SELECTED], ids=[c[0] for c in SELECTED]
)
def test_selected_namespace_metadata(
    spec: dict[str, Any], labels: dict[str, str], annotations: dict[str, str]
) -> None:
    chosen = select(SOURCE, rules(namespaceMetadata=spec))
    assert chosen is not None
    default = SELECTED[0]
    if spec:  # the defaults are always there too
        labels = {**default[2], **labels}
        annotations = {**default[3], **annotations}
    assert dict(chosen.labels) == labels
    assert dict(chosen.annotations) == annotations


def test_an_unreadable_source_namespace_leaves_the_metadata_alone() -> None:
    assert select(None, rules()) is None


WANTED = NamespaceMetadata(
    {"pod-security.kubernetes.io/enforce": "restricted"}, {"linkerd.io/inject": "enabled"}
)


def _created(wanted: NamespaceMetadata = WANTED, **extra_labels: str) -> dict[str, Any]:
    labels, annotations = creation_metadata(wanted)
    return namespace({**labels, **extra_labels}, annotations)


def test_a_namespace_created_with_the_metadata_needs_no_patch() -> None:
    created = _created()
    assert json.loads(created["metadata"]["annotations"][RECORD]) == {
        "labels": ["pod-security.kubernetes.io/enforce"],
        "annotations": ["linkerd.io/inject"],
    }
    assert patch_for(created, WANTED) is None


def test_a_changed_level_is_patched_alone() -> None:
    moved = NamespaceMetadata(
        {"pod-security.kubernetes.io/enforce": "baseline"}, {"linkerd.io/inject": "enabled"}
    )
    assert patch_for(_created(team="x"), moved) == {
        "metadata": {"labels": {"pod-security.kubernetes.io/enforce": "baseline"}}
    }


def test_a_key_the_source_dropped_is_removed_only_when_drsyncer_copied_it() -> None:
    existing = _created(
        **{"pod-security.kubernetes.io/audit": "restricted"}
    )  # set in the destination by hand
    dropped = NamespaceMetadata({}, {"linkerd.io/inject": "enabled"})
    assert patch_for(existing, dropped) == {
        "metadata": {
            "labels": {"pod-security.kubernetes.io/enforce": None},
            "annotations": {
                RECORD: json.dumps(
                    {"labels": [], "annotations": ["linkerd.io/inject"]}, separators=(",", ":")
                )
            },
        }
    }


def test_a_namespace_drsyncer_never_copied_into_and_nothing_selected_is_not_written() -> None:
    assert patch_for(namespace({"team": "x"}), NamespaceMetadata({}, {})) is None


def test_an_existing_namespace_gets_the_selected_keys_and_the_record() -> None:
    body = patch_for(namespace({"team": "x"}), WANTED)
    assert body is not None
    assert body["metadata"]["labels"] == {"pod-security.kubernetes.io/enforce": "restricted"}
    assert set(body["metadata"]["annotations"]) == {"linkerd.io/inject", RECORD}


def test_an_unreadable_record_removes_nothing() -> None:
    existing = namespace({"pod-security.kubernetes.io/enforce": "restricted"}, {RECORD: "not json"})
    body = patch_for(existing, NamespaceMetadata({}, {}))
    assert body == {"metadata": {"annotations": {RECORD: '{"labels":[],"annotations":[]}'}}}
