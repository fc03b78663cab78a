"""The labels and annotations of a source namespace that its destination namespaces carry too.

Pure: which keys are selected (`select`), and the merge patch that brings a destination namespace in
step (`patch_for`). The keys that decide how Pods run are always selected (Pod Security admission
levels, Istio and Linkerd sidecar injection: drsyncer.api.keys.NAMESPACE_LABELS_COPIED and
NAMESPACE_ANNOTATIONS_COPIED), plus what a Replication's `namespaceMetadata` names; keys a cluster
sets for itself or drsyncer's own are never copied (keys.NAMESPACE_KEYS_NEVER_COPIED).

The destination namespace records the keys drsyncer copied (keys.ANNOTATION_NAMESPACE_METADATA), so
a key the source no longer has is removed only when drsyncer put it there; keys set in the
destination by anyone else are left alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from drsyncer.api import keys
from drsyncer.sync.rules import Rules


@dataclass(frozen=True)
class NamespaceMetadata:
    """The selected labels and annotations of one source namespace (key → value)."""

    labels: Mapping[str, str]
    annotations: Mapping[str, str]

    def record(self) -> str:
        """The value of keys.ANNOTATION_NAMESPACE_METADATA: the copied keys, as sorted JSON."""
        return json.dumps(
            {"labels": sorted(self.labels), "annotations": sorted(self.annotations)}, separators=(",", ":")
        )


def matches(key: str, patterns: Iterable[str]) -> bool:
    """`key` is one of `patterns`: an exact key, or a prefix when the pattern ends in "/" or "*"."""
    for pattern in patterns:
        if pattern.endswith("*"):
            if key.startswith(pattern[:-1]):
                return True
        elif pattern.endswith("/"):
            if key.startswith(pattern):
                return True
        elif key == pattern:
            return True
    return False


def select(namespace: Mapping[str, Any] | None, rules: Rules) -> NamespaceMetadata | None:
    """The labels and annotations of the source `namespace` (a Namespace object) to copy; None when the
    namespace could not be read (its metadata is then left alone in the destinations)."""
    if namespace is None:
        return None
    meta = namespace.get("metadata") or {}
    label_patterns = (*keys.NAMESPACE_LABELS_COPIED, *rules.namespace_labels)
    annotation_patterns = (*keys.NAMESPACE_ANNOTATIONS_COPIED, *rules.namespace_annotations)
    return NamespaceMetadata(
        labels=_chosen(meta.get("labels") or {}, label_patterns),
        annotations=_chosen(meta.get("annotations") or {}, annotation_patterns),
    )


def _chosen(values: Mapping[str, str], patterns: tuple[str, ...]) -> dict[str, str]:
    return {
        k: v
        for k, v in values.items()
        if matches(k, patterns) and not matches(k, keys.NAMESPACE_KEYS_NEVER_COPIED)
    }


def creation_metadata(wanted: NamespaceMetadata) -> tuple[dict[str, str], dict[str, str]]:
    """(labels, annotations) to add to a destination namespace drsyncer creates, the record included."""
    return dict(wanted.labels), {**wanted.annotations, keys.ANNOTATION_NAMESPACE_METADATA: wanted.record()}


def patch_for(existing: Mapping[str, Any], wanted: NamespaceMetadata) -> dict[str, Any] | None:
    """The JSON merge patch (RFC 7386) that brings the destination Namespace `existing` in step with
    `wanted`, or None when it is: selected keys set to the source's values, keys drsyncer copied
    earlier (its record) that the source no longer has removed, and the record updated."""
    meta = existing.get("metadata") or {}
    labels: Mapping[str, str] = meta.get("labels") or {}
    annotations: Mapping[str, str] = meta.get("annotations") or {}
    copied_labels, copied_annotations = _recorded(annotations.get(keys.ANNOTATION_NAMESPACE_METADATA))
    label_patch = _diff(labels, wanted.labels, copied_labels)
    annotation_patch = _diff(annotations, wanted.annotations, copied_annotations)
    record, current = wanted.record(), annotations.get(keys.ANNOTATION_NAMESPACE_METADATA)
    # no record and nothing to copy: a namespace drsyncer never copied into needs none
    if current != record and (current is not None or wanted.labels or wanted.annotations):
        annotation_patch[keys.ANNOTATION_NAMESPACE_METADATA] = record
    if not label_patch and not annotation_patch:
        return None
    body: dict[str, Any] = {}
    if label_patch:
        body["labels"] = label_patch
    if annotation_patch:
        body["annotations"] = annotation_patch
    return {"metadata": body}


def _diff(current: Mapping[str, str], wanted: Mapping[str, str], copied: set[str]) -> dict[str, str | None]:
    change: dict[str, str | None] = {k: v for k, v in wanted.items() if current.get(k) != v}
    # a merge patch removes a key given as null
    change.update({k: None for k in copied if k not in wanted and k in current})
    return change


def _recorded(value: str | None) -> tuple[set[str], set[str]]:
    """The keys a record names; none when it is absent or unreadable (then nothing is removed)."""
    if not value:
        return set(), set()
    try:
        data = json.loads(value)
        return {str(k) for k in data.get("labels") or ()}, {str(k) for k in data.get("annotations") or ()}
    except (ValueError, AttributeError, TypeError):
        return set(), set()
