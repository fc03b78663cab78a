"""Ownership marks: how drsyncer recognises the destination objects one Replication wrote.

Every object drsyncer writes carries the label `dr-syncer.io/managed-by=drsyncer` and annotations
naming the Replication, the source cluster, namespace and uid, and the source hash. Prune and
cleanup act only on objects whose marks name the Replication doing it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drsyncer.api import keys
from drsyncer.sync.objects import Obj, annotations_of, labels_of
from drsyncer.sync.rules import Rules


def mark(body: Obj, rules: Rules, source: Mapping[str, Any]) -> Obj:
    """Add the ownership marks (all but the hash) to `body` in place and return it.

    `body` must own its metadata label and annotation maps, as `transform` output does.
    """
    meta = body.setdefault("metadata", {})
    source_meta = source.get("metadata") or {}
    labels = meta.get("labels")
    if labels is None:
        labels = meta["labels"] = {}
    annotations = meta.get("annotations")
    if annotations is None:
        annotations = meta["annotations"] = {}
    labels[keys.LABEL_MANAGED_BY] = keys.MANAGED_BY_VALUE
    annotations[keys.ANNOTATION_REPLICATION] = rules.replication
    annotations[keys.ANNOTATION_SOURCE_CLUSTER] = rules.source_cluster
    annotations[keys.ANNOTATION_SOURCE_NAMESPACE] = source_meta.get("namespace") or ""
    annotations[keys.ANNOTATION_SOURCE_UID] = source_meta.get("uid") or ""
    return body


def is_managed(obj: Mapping[str, Any]) -> bool:
    """Written by drsyncer (any Replication)."""
    return labels_of(obj).get(keys.LABEL_MANAGED_BY) == keys.MANAGED_BY_VALUE


def owner_of(obj: Mapping[str, Any]) -> str | None:
    """The Replication ("<namespace>/<name>") whose marks the object carries, or None if unmarked."""
    if not is_managed(obj):
        return None
    return annotations_of(obj).get(keys.ANNOTATION_REPLICATION)


def is_owned_by(obj: Mapping[str, Any], replication: str) -> bool:
    """True only when both the managed-by label and the replication annotation name `replication`."""
    return owner_of(obj) == replication


def source_namespace_of(obj: Mapping[str, Any]) -> str | None:
    return annotations_of(obj).get(keys.ANNOTATION_SOURCE_NAMESPACE)


def source_hash_of(obj: Mapping[str, Any]) -> str | None:
    return annotations_of(obj).get(keys.ANNOTATION_SOURCE_HASH)


def destination_namespace(name: str, *, source_namespace: str, rules: Rules) -> Obj:
    """The Namespace object to create in a destination when it is missing.

    Labelled like the Go dr-syncer's (`dr-syncer.io/source-namespace`) plus managed-by. Namespaces
    are never pruned or cleaned up: other tools may keep objects in them.
    """
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "labels": {
                keys.LABEL_MANAGED_BY: keys.MANAGED_BY_VALUE,
                keys.LABEL_SOURCE_NAMESPACE: source_namespace,
            },
            "annotations": {
                keys.ANNOTATION_REPLICATION: rules.replication,
                keys.ANNOTATION_SOURCE_CLUSTER: rules.source_cluster,
            },
        },
    }
