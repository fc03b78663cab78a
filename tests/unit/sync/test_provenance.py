"""The synced-from record: a copy made by the planner is settled against its source's metadata until
the source, the copy's marks or the rules that shape copies change."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable

import pytest

from drsyncer.api import keys
from drsyncer.sync import provenance
from drsyncer.sync.decide import decide
from drsyncer.sync.plan import Op, create_action
from drsyncer.sync.rules import Rules
from tests.unit.sync.factories import DEST_NS, SOURCE_NS, Obj, configmap, deployment, obj, rules, secret


def _metadata_only(full: Obj) -> Obj:
    """What a PartialObjectMetadataList item gives, with the type's apiVersion and kind."""
    return {
        "apiVersion": full["apiVersion"],
        "kind": full["kind"],
        "metadata": copy.deepcopy(full["metadata"]),
    }


def _copy_of(source: Obj, sync_rules: Rules) -> Obj:
    """The copy as the destination holds it after the planner's create (server fields added)."""
    body = copy.deepcopy(create_action(source, sync_rules, destination_namespace=DEST_NS).desired)
    assert body is not None
    body["metadata"].update(uid="uid-of-the-copy", resourceVersion="77")
    return body


def _settled(source: Obj, copy_: Obj, sync_rules: Rules) -> bool:
    digest = provenance.rules_digest(sync_rules, DEST_NS)
    return provenance.settled(_metadata_only(source), _metadata_only(copy_), digest, sync_rules, SOURCE_NS)


def _configmap() -> Obj:
    cm = configmap(labels={"app": "shop"})
    del cm["metadata"]["generation"]  # as kube-apiserver serves ConfigMaps: no generation
    return cm


def test_a_copy_is_settled_against_the_metadata_of_the_source_it_was_made_from() -> None:
    source = _configmap()
    sync_rules = rules()
    made = _copy_of(source, sync_rules)
    record = made["metadata"]["annotations"][keys.ANNOTATION_SYNCED_FROM]
    assert record.startswith(f"{source['metadata']['uid']}/rv{source['metadata']['resourceVersion']}/")
    assert _settled(source, made, sync_rules)


def _moved_version(o: Obj) -> None:
    o["metadata"]["resourceVersion"] = "1300"


def _new_uid(o: Obj) -> None:
    o["metadata"]["uid"] = "uid-recreated"


def _new_label(o: Obj) -> None:
    o["metadata"]["labels"]["tier"] = "gold"


@pytest.mark.parametrize(
    "change", [_moved_version, _new_uid, _new_label], ids=["version moved", "recreated", "label added"]
)
def test_a_source_that_moved_is_not_settled(change: Callable[[Obj], None]) -> None:
    source = _configmap()
    sync_rules = rules()
    made = _copy_of(source, sync_rules)
    change(source)
    assert not _settled(source, made, sync_rules)


def test_a_status_change_of_a_kind_with_generation_leaves_its_copies_settled_but_a_spec_change_does_not() -> (
    None
):
    # ingresses count spec changes in metadata.generation; their status moves only resourceVersion
    source = obj("networking.k8s.io/v1", "Ingress", "web", spec={"rules": []})
    sync_rules = rules()
    made = _copy_of(source, sync_rules)
    source["metadata"]["resourceVersion"] = "1300"
    assert _settled(source, made, sync_rules)
    source["metadata"]["generation"] = 4
    assert not _settled(source, made, sync_rules)


def _hash_edited(o: Obj) -> None:
    o["metadata"]["annotations"][keys.ANNOTATION_SOURCE_HASH] = "edited-by-hand"


def _record_spaced(o: Obj) -> None:
    # the marks are held as one string split at the first space (provenance.copy_marks)
    annotations = o["metadata"]["annotations"]
    annotations[keys.ANNOTATION_SYNCED_FROM] += f" {annotations[keys.ANNOTATION_SOURCE_HASH]}"


def _hash_spaced(o: Obj) -> None:
    o["metadata"]["annotations"][keys.ANNOTATION_SOURCE_HASH] = "edited by hand"


def _record_removed(o: Obj) -> None:
    del o["metadata"]["annotations"][keys.ANNOTATION_SYNCED_FROM]


def _other_replication(o: Obj) -> None:
    o["metadata"]["annotations"][keys.ANNOTATION_REPLICATION] = "dr-system/other"


def _failed_over(o: Obj) -> None:
    o["metadata"]["annotations"][keys.ANNOTATION_FAILOVER_STANDBY] = "{}"


def _being_deleted(o: Obj) -> None:
    o["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"


@pytest.mark.parametrize(
    "drift",
    [
        _hash_edited,
        _hash_spaced,
        _record_spaced,
        _record_removed,
        _other_replication,
        _failed_over,
        _being_deleted,
    ],
    ids=[
        "hash edited",
        "hash edited with a space",
        "record with a space",
        "record removed",
        "re-owned",
        "failed over",
        "being deleted",
    ],
)
def test_a_copy_whose_marks_changed_is_not_settled(drift: Callable[[Obj], None]) -> None:
    source = _configmap()
    sync_rules = rules()
    made = _copy_of(source, sync_rules)
    drift(made)
    assert not _settled(source, made, sync_rules)


def test_rules_that_shape_copies_unsettle_them_and_rules_that_only_select_do_not() -> None:
    source = _configmap()
    sync_rules = rules()
    made = _copy_of(source, sync_rules)
    assert not _settled(source, made, dataclasses.replace(sync_rules, scale_to_zero=False))
    assert not _settled(source, made, dataclasses.replace(sync_rules, keep_node_ports=True))
    selecting = rules(labelSelector={"matchLabels": {"app": "shop"}}, pruneDeleted=True)
    assert _settled(source, made, selecting)


def test_the_destination_namespace_is_part_of_the_rules_digest() -> None:
    sync_rules = rules()
    assert provenance.rules_digest(sync_rules, "a") != provenance.rules_digest(sync_rules, "b")


def test_a_rules_field_the_digest_cannot_serialise_is_refused_rather_than_left_out() -> None:
    odd = dataclasses.replace(rules(), storage_class_mappings=((object(), "x"),))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="storage_class_mappings"):
        provenance.rules_digest(odd, DEST_NS)


@pytest.mark.parametrize(
    ("source", "needed"),
    [
        (deployment(), True),  # its replica decision is reported on every run
        (obj("v1", "ServiceAccount", "builder"), True),
        (secret(annotations={keys.ANNOTATION_SA_NAME: "builder"}), True),
        (secret(), False),
        (configmap(), False),
    ],
    ids=["Deployment", "ServiceAccount", "token Secret", "Secret", "ConfigMap"],
)
def test_which_objects_are_always_read_in_full(source: Obj, needed: bool) -> None:
    assert provenance.needs_body(_metadata_only(source)) is needed


def test_a_copy_with_the_same_hash_under_a_stale_record_is_updated_to_record_it() -> None:
    source = _configmap()
    sync_rules = rules()
    made = _copy_of(source, sync_rules)
    made["metadata"]["annotations"][keys.ANNOTATION_SYNCED_FROM] = "uid-x/rv1/0000000000000000"
    wanted = create_action(source, sync_rules, destination_namespace=DEST_NS)
    decided = decide(wanted, made, sync_rules, source_namespace=SOURCE_NS, server_version=None)
    assert decided.op == Op.UPDATE
    assert decided.body is not None
    assert (
        decided.body["metadata"]["annotations"][keys.ANNOTATION_SYNCED_FROM]
        == (wanted.desired or {})["metadata"]["annotations"][keys.ANNOTATION_SYNCED_FROM]
    )


def test_the_modifiers_of_each_destination_cluster_enter_its_digest_and_no_others() -> None:
    dr1_rule = {"clusters": ["dr1"], "labels": {"set": {"site": "dr1"}}}
    every = {"labels": {"set": {"copy": "yes"}}}
    before = rules(modifiers=[dr1_rule, every])
    after = rules(modifiers=[{**dr1_rule, "labels": {"set": {"site": "eu"}}}, every])
    digest = provenance.rules_digest
    assert digest(before, DEST_NS, "dr1") != digest(after, DEST_NS, "dr1")
    assert digest(before, DEST_NS, "dr2") == digest(after, DEST_NS, "dr2")
    assert digest(before, DEST_NS, "dr2") != digest(rules(modifiers=[dr1_rule]), DEST_NS, "dr2")


def test_a_replication_with_plugins_never_decides_from_metadata() -> None:
    assert provenance.metadata_decides(rules())
    assert not provenance.metadata_decides(rules(plugins=[{"name": "example"}]))


def test_digests_kept_with_rules_follow_a_rules_change_and_match_fresh_rules() -> None:
    first = rules(modifiers=[{"clusters": ["dr1"], "labels": {"set": {"site": "dr1"}}}])
    kept = provenance.rules_digest(first, DEST_NS, "dr1")
    kept_run = provenance.run_digest(rules(), SOURCE_NS, DEST_NS, "dr1")
    # asked again, and asked of equal rules built anew: the same digest
    assert provenance.rules_digest(first, DEST_NS, "dr1") == kept
    fresh = rules(modifiers=[{"clusters": ["dr1"], "labels": {"set": {"site": "dr1"}}}])
    assert provenance.rules_digest(fresh, DEST_NS, "dr1") == kept
    assert provenance.run_digest(rules(), SOURCE_NS, DEST_NS, "dr1") == kept_run
    # a spec change makes new rules, whose digests are their own
    changed = dataclasses.replace(first, scale_to_zero=not first.scale_to_zero)
    assert provenance.rules_digest(changed, DEST_NS, "dr1") != kept
    assert provenance.rules_digest(first, DEST_NS, "dr2") != kept
    assert provenance.rules_digest(first, "other", "dr1") != kept
    plain = rules()
    assert provenance.run_digest(
        dataclasses.replace(plain, prune_deleted=not plain.prune_deleted), SOURCE_NS, DEST_NS, "dr1"
    ) != provenance.run_digest(plain, SOURCE_NS, DEST_NS, "dr1")


def test_the_run_digest_of_a_replication_with_modifiers_follows_its_modifiers() -> None:
    before = rules(modifiers=[{"clusters": ["dr1"], "labels": {"set": {"site": "dr1"}}}])
    after = rules(modifiers=[{"clusters": ["dr1"], "labels": {"set": {"site": "eu"}}}])
    digest = provenance.run_digest(before, SOURCE_NS, DEST_NS, "dr1")
    assert len(digest) == 64
    assert provenance.run_digest(after, SOURCE_NS, DEST_NS, "dr1") != digest
    assert provenance.run_digest(rules(), SOURCE_NS, DEST_NS, "dr1") != digest
