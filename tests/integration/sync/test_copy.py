"""A namespace copied to two destinations, resynced, changed, pruned and dry-run (issue 3, acceptance 2)."""

from __future__ import annotations

import copy
from typing import Any

from drsyncer.api import keys
from drsyncer.sync.hashing import source_hash
from drsyncer.sync.ownership import mark
from drsyncer.sync.result import Phase
from drsyncer.sync.rules import Rules
from drsyncer.sync.transform import for_destination
from tests.fixtures.polling import eventually
from tests.integration.sync.conftest import (
    WIDGET_CRD,
    Obj,
    World,
    counts_of,
    create,
    delete,
    modify,
    read,
    recreate,
    rules,
    seed,
    source_objects,
)

OBJECTS_PER_COPY = 10  # nine objects of source_objects() plus the Widget CRD
# the cluster's own kube-root-ca.crt, in every namespace, is skipped
ROOT_CA_SKIPPED = {"skipped": 1}


def expected_copy(source: Obj, sync_rules: Rules, namespace: str) -> Obj:
    """What drsyncer must write: the transform's output plus the ownership marks."""
    body = copy.deepcopy(for_destination(source, sync_rules, destination_namespace=namespace))
    return mark(body, sync_rules, source)


def assert_contains(actual: Any, expected: Any, path: str = "") -> None:
    """Every field of `expected` is in `actual` with the same value; fields the destination's API server
    added (defaults, allocations, server metadata) are allowed."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: {actual!r} is not an object"
        for key, value in expected.items():
            assert key in actual, f"{path}.{key} is missing"
            assert_contains(actual[key], value, f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{path}: {actual!r} is not a list"
        assert len(actual) == len(expected), f"{path}: {actual!r} != {expected!r}"
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_contains(a, e, f"{path}[{i}]")
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"


def assert_copied(world: World, cluster: str, sync_rules: Rules) -> None:
    """Each source object has a copy in `cluster` equal to the expected transformed, marked object."""
    for template in [WIDGET_CRD, *source_objects()]:
        source = read(world, "source", template)
        copied = read(world, cluster, template)
        assert source is not None and copied is not None, f"{template['kind']} {template['metadata']['name']}"
        expected = expected_copy(source, sync_rules, world.ns)
        assert_contains(copied, expected)
        annotations = copied["metadata"]["annotations"]
        assert annotations[keys.ANNOTATION_SOURCE_HASH] == source_hash(expected)
        assert annotations[keys.ANNOTATION_SOURCE_UID] == source["metadata"]["uid"]
        assert "status" not in expected and copied["metadata"]["uid"] != source["metadata"]["uid"]


def test_namespace_with_every_default_kind_is_copied_to_both_destinations(world: World) -> None:
    seed(world)
    source_web = read(world, "source", {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}})
    assert source_web is not None and source_web["spec"]["clusterIP"].startswith("10.96.")
    sync_rules = rules()

    results = world.sync(sync_rules)

    assert [r.destination_cluster for r in results] == ["dr1", "dr2"]
    for result in results:
        assert result.phase == Phase.COMPLETED, result.to_dict()
        assert counts_of(result) == {"created": OBJECTS_PER_COPY, **ROOT_CA_SKIPPED}
        assert result.counts["Widget.example.com"].created == 1
        assert result.counts["Service"].created == 2
        scales = {(s.kind, s.name): (s.original_replicas, s.replicas) for s in result.deployment_scales}
        assert scales == {("Deployment", "web"): (3, 0), ("StatefulSet", "db"): (2, 0)}
    for cluster in ("dr1", "dr2"):
        assert_copied(world, cluster, sync_rules)
        namespace = world.get(cluster, f"/api/v1/namespaces/{world.ns}")
        assert namespace is not None
        assert {
            keys.LABEL_MANAGED_BY: keys.MANAGED_BY_VALUE,
            keys.LABEL_SOURCE_NAMESPACE: world.ns,
        }.items() <= namespace["metadata"]["labels"].items()
        crd = read(world, cluster, WIDGET_CRD)
        assert crd is not None
        assert {"type": "Established", "status": "True"}.items() <= crd["status"]["conditions"][1].items()

        # the facts a user checks first
        web = world.apps(cluster).read_namespaced_deployment("web", world.ns)
        assert web.spec.replicas == 0
        assert web.metadata.annotations[keys.ANNOTATION_ORIGINAL_REPLICAS] == "3"
        db = world.apps(cluster).read_namespaced_stateful_set("db", world.ns)
        assert db.spec.replicas == 0 and db.metadata.annotations[keys.ANNOTATION_ORIGINAL_REPLICAS] == "2"
        claim_template = db.spec.volume_claim_templates[0].spec
        assert claim_template.storage_class_name == "standard"
        assert claim_template.access_modes == ["ReadWriteMany"]
        service = world.core(cluster).read_namespaced_service("web", world.ns)
        assert service.spec.cluster_ip and service.spec.cluster_ip != source_web["spec"]["clusterIP"]
        assert service.spec.cluster_ips == [service.spec.cluster_ip]
        headless = world.core(cluster).read_namespaced_service("db", world.ns)
        assert headless.spec.cluster_ip == "None" and headless.spec.cluster_ips == ["None"]
        claim = world.core(cluster).read_namespaced_persistent_volume_claim("uploads", world.ns)
        assert claim.spec.storage_class_name == "standard"
        assert claim.spec.access_modes == ["ReadWriteMany"]
        assert claim.spec.volume_name is None
        widget = world.custom(cluster).get_namespaced_custom_object(
            "example.com", "v1", world.ns, "widgets", "blue"
        )
        assert widget["spec"] == {"color": "blue", "size": 3}


def test_resync_writes_nothing_and_one_change_writes_one_update(world: World) -> None:
    seed(world)
    sync_rules = rules()
    world.sync(sync_rules)

    world.reset_counters()
    results = world.sync(sync_rules)
    assert world.writes() == 0
    assert [counts_of(r) for r in results] == [{"unchanged": OBJECTS_PER_COPY, **ROOT_CA_SKIPPED}] * 2

    modify(world, "source", source_objects()[0], lambda cm: cm["data"].update(level="4"))
    world.reset_counters()
    results = world.sync(sync_rules)

    one_update = {"updated": 1, "unchanged": OBJECTS_PER_COPY - 1, **ROOT_CA_SKIPPED}
    assert [counts_of(r) for r in results] == [one_update] * 2
    assert results[0].counts["ConfigMap"].updated == 1
    for cluster in ("dr1", "dr2"):
        assert world.verbs(cluster) == {"PUT": 1}  # the ConfigMap's update, nothing else
        assert world.core(cluster).read_namespaced_config_map("settings", world.ns).data["level"] == "4"
    assert_copied(world, "dr1", sync_rules)


def test_deleted_source_object_is_pruned_only_with_prune_and_only_when_owned(world: World) -> None:
    old = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "old"}, "data": {"a": "1"}}
    seed(world, [*source_objects(), old])
    sync_rules = rules()
    world.sync(sync_rules)
    # in dr2, "old" is replaced by an object of the same name that no drsyncer Replication wrote, and
    # both destinations hold a copy written by another Replication
    delete(world, "dr2", old)
    unowned = create(world, "dr2", {**old, "data": {"mine": "yes"}})
    foreign_marks = {
        "labels": {keys.LABEL_MANAGED_BY: keys.MANAGED_BY_VALUE},
        "annotations": {
            keys.ANNOTATION_REPLICATION: "dr-system/other",
            keys.ANNOTATION_SOURCE_NAMESPACE: world.ns,
        },
    }
    foreign = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "foreign", **foreign_marks}}
    for cluster in ("dr1", "dr2"):
        create(world, cluster, foreign)
    delete(world, "source", old)

    world.reset_counters()
    without_prune = world.sync(sync_rules)
    assert world.writes() == 0
    assert all(r.totals.pruned == 0 for r in without_prune)
    assert read(world, "dr1", old) is not None

    with_prune = world.sync(sync_rules, prune=True)

    assert [r.totals.pruned for r in with_prune] == [1, 0]
    assert with_prune[0].counts["ConfigMap"].pruned == 1
    assert read(world, "dr1", old) is None
    kept = read(world, "dr2", old)
    assert kept is not None and kept["metadata"]["uid"] == unowned["metadata"]["uid"]
    assert kept["data"] == {"mine": "yes"}
    for cluster in ("dr1", "dr2"):
        still = read(world, cluster, foreign)
        assert still is not None
        assert still["metadata"]["annotations"][keys.ANNOTATION_REPLICATION] == "dr-system/other"
    assert all(r.phase == Phase.COMPLETED for r in with_prune)


def test_dry_run_writes_nothing_and_reports_the_plan(world: World) -> None:
    seed(world)
    sync_rules = rules(dryRun=True)

    results = world.sync(sync_rules)

    assert world.writes() == 0
    for result in results:
        assert result.dry_run and result.phase == Phase.COMPLETED
        assert counts_of(result) == {"created": OBJECTS_PER_COPY, **ROOT_CA_SKIPPED}
        assert f"Namespace {world.ns} does not exist and would be created" in result.warnings
        assert {(s.name, s.replicas) for s in result.deployment_scales} == {("web", 0), ("db", 0)}
    assert world.get("dr1", f"/api/v1/namespaces/{world.ns}") is None

    # after a real run, a dry run reports a pending update and an immutable change without writing them
    world.sync(rules())
    modify(world, "source", source_objects()[0], lambda cm: cm["data"].update(level="9"))

    def new_selector(deployment: Obj) -> None:
        deployment["spec"]["selector"] = {"matchLabels": {"app": "web", "v": "2"}}
        deployment["spec"]["template"]["metadata"]["labels"]["v"] = "2"

    recreate(world, "source", source_objects()[2], new_selector)
    world.reset_counters()
    results = world.sync(sync_rules)
    assert world.writes() == 0
    for result in results:
        assert result.counts["ConfigMap"].updated == 1
        # NoChange: the selector change is held back
        assert result.counts["Deployment"].skipped == result.counts["Deployment"].held_back == 1
        assert any("spec.selector" in w and "NoChange" in w for w in result.warnings), result.warnings
    assert world.core("dr1").read_namespaced_config_map("settings", world.ns).data["level"] == "3"


def test_wildcard_types_copy_every_namespaced_kind_but_what_the_cluster_writes_itself(world: World) -> None:
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "web.1"},
        "involvedObject": {"kind": "Deployment", "name": "web", "namespace": world.ns},
        "reason": "ScalingReplicaSet",
    }
    lease = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "leader"},
        "spec": {"holderIdentity": "pod-a"},
    }
    seed(world)
    world.call("source", "POST", f"/api/v1/namespaces/{world.ns}/events", {**event})
    world.call("source", "POST", f"/apis/coordination.k8s.io/v1/namespaces/{world.ns}/leases", {**lease})
    sync_rules = rules(resourceTypes=["*"])

    (result,) = world.sync(sync_rules, destinations=("dr1",))

    assert result.phase == Phase.COMPLETED, result.errors
    # the `default` ServiceAccount is in every namespace, so its copy is created or, where the
    # destination's controller made its own first, updated
    account = result.counts["ServiceAccount"]
    assert (account.created, account.updated) in ((1, 0), (0, 1))
    totals = counts_of(result)
    assert totals.pop("created") + totals.pop("updated", 0) == OBJECTS_PER_COPY + 1
    assert totals == ROOT_CA_SKIPPED
    assert "Event" not in result.counts and "Lease" not in result.counts
    assert_copied(world, "dr1", sync_rules)
    assert world.get("dr1", f"/api/v1/namespaces/{world.ns}/events/web.1") is None


def test_a_source_namespace_being_deleted_or_gone_fails_the_targets_and_prunes_nothing(world: World) -> None:
    # "held" keeps the namespace Terminating (its finalizer is removed by hand below), as any
    # finalizer does on a real cluster while the namespace controller empties it
    held = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "held", "finalizers": ["example.com/hold"]},
    }
    seed(world, [*source_objects(), held])
    world.sync(rules())
    world.call("source", "DELETE", f"/api/v1/namespaces/{world.ns}")
    world.reset_counters()

    terminating = world.sync(rules(), prune=True)

    assert [r.phase for r in terminating] == [Phase.FAILED, Phase.FAILED]
    assert terminating[0].error == (
        f"source cluster source, namespace {world.ns}: the namespace is being "
        "deleted; nothing is copied or pruned while it is"
    )

    world.core("source").patch_namespaced_config_map("held", world.ns, {"metadata": {"finalizers": None}})
    eventually(
        lambda: world.get("source", f"/api/v1/namespaces/{world.ns}") is None,
        timeout_s=60,
        what=f"namespace {world.ns} gone from the source",
    )
    gone = world.sync(rules(), prune=True)

    assert [r.phase for r in gone] == [Phase.FAILED, Phase.FAILED]
    assert gone[0].error == (
        f"source cluster source, namespace {world.ns}: the namespace does not "
        "exist; nothing is copied or pruned until it does"
    )
    assert world.writes() == 0
    for template in source_objects():
        assert read(world, "dr1", template) is not None and read(world, "dr2", template) is not None


def test_a_crd_installed_in_the_destination_after_discovery_was_cached_is_found(world: World) -> None:
    # another task (or the cluster's owner) installs the CRD after this client cached discovery:
    # the custom resources must still be copied, not failed as "not served"
    widget = next(o for o in source_objects() if o["kind"] == "Widget")
    seed(world, [widget])
    assert world.clients["dr1"].discovery.served().for_kind("example.com/v1", "Widget") is None
    create(world, "dr1", WIDGET_CRD, namespace="")
    [result] = world.sync(rules(resourceTypes=["widgets.example.com"], syncCRDs=False), destinations=("dr1",))
    assert result.phase.value == "Completed", result.errors
    assert result.counts["Widget.example.com"].created == 1
    assert read(world, "dr1", widget) is not None
