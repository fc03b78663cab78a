"""Ownership marks and the source hash written on every copy."""

from __future__ import annotations

import copy
from typing import Any

from drsyncer.api import keys
from drsyncer.sync.hashing import source_hash, stamp
from drsyncer.sync.ownership import destination_namespace, is_managed, is_owned_by, mark, owner_of
from drsyncer.sync.transform import for_destination
from tests.unit.sync.factories import DEST_NS, REPLICATION, SOURCE_NS, configmap, deployment, rules


def _marked() -> dict[str, Any]:
    source = configmap()
    body = mark(for_destination(source, rules(), destination_namespace=DEST_NS), rules(), source)
    stamp(body)
    return body


def test_every_copy_carries_the_ownership_marks() -> None:
    meta = _marked()["metadata"]
    assert meta["labels"][keys.LABEL_MANAGED_BY] == keys.MANAGED_BY_VALUE
    annotations = meta["annotations"]
    assert annotations[keys.ANNOTATION_REPLICATION] == REPLICATION
    assert annotations[keys.ANNOTATION_SOURCE_CLUSTER] == "prod"
    assert annotations[keys.ANNOTATION_SOURCE_NAMESPACE] == SOURCE_NS
    assert annotations[keys.ANNOTATION_SOURCE_UID] == "uid-configmap-settings"
    assert len(annotations[keys.ANNOTATION_SOURCE_HASH]) == 64


def test_is_owned_by_needs_the_label_and_the_replication_annotation() -> None:
    body = _marked()
    assert is_managed(body) and is_owned_by(body, REPLICATION) and owner_of(body) == REPLICATION
    assert not is_owned_by(body, "dr-system/other")
    no_label = copy.deepcopy(body)
    del no_label["metadata"]["labels"][keys.LABEL_MANAGED_BY]
    assert not is_owned_by(no_label, REPLICATION) and owner_of(no_label) is None
    no_annotation = copy.deepcopy(body)
    del no_annotation["metadata"]["annotations"][keys.ANNOTATION_REPLICATION]
    assert not is_owned_by(no_annotation, REPLICATION)
    assert not is_owned_by(configmap(), REPLICATION)


def test_hash_ignores_itself_and_key_order() -> None:
    body = _marked()
    digest = body["metadata"]["annotations"][keys.ANNOTATION_SOURCE_HASH]
    assert source_hash(body) == digest
    reordered = {k: body[k] for k in reversed(list(body))}
    reordered["data"] = dict(reversed(list(body["data"].items())))
    assert source_hash(reordered) == digest


def test_hash_changes_with_content_and_rules() -> None:
    source = deployment()
    changed = copy.deepcopy(source)
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "new"
    digests = set()
    for o, r in ((source, rules()), (source, rules(scaleToZero=False)), (changed, rules())):
        digests.add(source_hash(mark(for_destination(o, r, destination_namespace=DEST_NS), r, o)))
    assert len(digests) == 3


def test_hash_does_not_depend_on_source_server_metadata() -> None:
    a, b = configmap(), configmap()
    b["metadata"]["resourceVersion"] = "99999"
    b["metadata"]["managedFields"] = []
    digests = {source_hash(for_destination(o, rules(), destination_namespace=DEST_NS)) for o in (a, b)}
    assert len(digests) == 1


def test_a_created_destination_namespace_names_its_source() -> None:
    ns = destination_namespace(DEST_NS, source_namespace=SOURCE_NS, rules=rules())
    assert ns["metadata"]["name"] == DEST_NS
    assert ns["metadata"]["labels"] == {
        keys.LABEL_MANAGED_BY: keys.MANAGED_BY_VALUE,
        keys.LABEL_SOURCE_NAMESPACE: SOURCE_NS,
    }
    assert is_owned_by(ns, REPLICATION)
