"""Planning against a destination: creates, updates, unchanged, prunes, skips and conflicts."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import pytest

from drsyncer.api import keys
from drsyncer.sync.objects import Key, key_of
from drsyncer.sync.plan import REASON_ADOPT, Op, Plan, plan
from drsyncer.sync.result import DeploymentScale, Outcome
from drsyncer.sync.rules import ImmutableHandling, Rules
from tests.unit.sync.factories import (
    DEST_NS,
    REPLICATION,
    SOURCE_NS,
    configmap,
    deployment,
    obj,
    pvc,
    rules,
    secret,
    service,
    statefulset,
)

Obj = dict[str, Any]


def _source() -> list[Obj]:
    crd_instance = obj("example.com/v1", "Widget", "w1", spec={"size": 1})
    return [
        crd_instance,
        deployment(),
        service(),
        pvc(),
        configmap(),
        secret(),
        configmap(keys.ROOT_CA_CONFIGMAP),
        obj("networking.k8s.io/v1", "Ingress", "shop", spec={"rules": []}),
    ]


def _plan(
    source: list[Obj], destination: dict[Key, Obj], r: Rules | None = None, prune: bool = False
) -> Plan:
    return plan(
        source,
        destination,
        r or rules(),
        source_namespace=SOURCE_NS,
        destination_namespace=DEST_NS,
        prune=prune,
    )


def _cases(cases: list[tuple[Any, ...]], names: str) -> Any:
    """Parametrize from a table whose first column names the case."""
    return pytest.mark.parametrize(names, [c[1:] for c in cases], ids=[c[0] for c in cases])


_serial = iter(range(1, 10**6))


def _apply(p: Plan, destination: dict[Key, Obj]) -> dict[Key, Obj]:
    """Run a plan the way an API server would answer it, allocating what the server allocates."""
    result = {k: copy.deepcopy(v) for k, v in destination.items()}
    for action in p:
        if action.op == Op.PRUNE:
            del result[action.key]
        elif action.op in (Op.CREATE, Op.UPDATE):
            assert action.body is not None
            stored = copy.deepcopy(action.body)
            meta = stored["metadata"]
            meta["resourceVersion"] = str(next(_serial))
            meta.setdefault("uid", f"dest-{next(_serial)}")
            if stored["kind"] == "Service" and "clusterIP" not in stored["spec"]:
                stored["spec"].update(clusterIP="10.9.9.9", clusterIPs=["10.9.9.9"], ipFamilies=["IPv4"])
            if stored["kind"] == "PersistentVolumeClaim":
                stored["spec"].setdefault("volumeName", "pvc-dest-1")
                stored["spec"].setdefault("storageClassName", "dest-default")
                meta["annotations"]["pv.kubernetes.io/bind-completed"] = "yes"
                # bound, with the capacity of its volume (what a shrink is measured against)
                size = stored["spec"]["resources"]["requests"]["storage"]
                stored["status"] = {"phase": "Bound", "capacity": {"storage": size}}
            result[action.key] = stored
    return result


def _ops(p: Plan) -> dict[str, str]:
    return {f"{a.key.kind}/{a.key.name}": a.op.value for a in p}


def test_first_sync_creates_every_selected_object_and_skips_the_rest() -> None:
    p = _plan(_source(), {})
    ops = _ops(p)
    assert ops.pop(f"ConfigMap/{keys.ROOT_CA_CONFIGMAP}") == "skip"
    assert set(ops.values()) == {"create"}
    assert all(a.key.namespace == DEST_NS for a in p)


def test_resync_of_unchanged_namespace_writes_nothing() -> None:
    destination = _apply(_plan(_source(), {}), {})
    again = _plan(_source(), destination)
    assert again.writes == []
    assert {a.op for a in again} == {Op.UNCHANGED, Op.SKIP}


def test_a_changed_source_object_is_exactly_one_update() -> None:
    destination = _apply(_plan(_source(), {}), {})
    changed = _source()
    changed[4]["data"] = {"mode": "changed"}
    p = _plan(changed, destination)
    assert [(a.op, a.key.name) for a in p.writes] == [(Op.UPDATE, "settings")]
    update = p.writes[0]
    assert update.reason == "source changed"
    assert update.body is not None and update.body["data"] == {"mode": "changed"}
    held = destination[update.key]["metadata"]["resourceVersion"]
    assert update.body["metadata"]["resourceVersion"] == held
    # and once applied the next run is quiet again
    assert _plan(changed, _apply(p, destination)).writes == []


def test_changed_rules_change_the_hash_and_update_the_copies() -> None:
    destination = _apply(_plan([deployment()], {}), {})
    p = _plan([deployment()], destination, rules(scaleToZero=False))
    assert [a.op for a in p] == [Op.UPDATE]
    assert p.actions[0].body is not None and p.actions[0].body["spec"]["replicas"] == 3


def test_dry_run_does_not_change_the_plan() -> None:
    destination = _apply(_plan(_source()[:4], {}), {})
    source = _source()
    source[1]["spec"]["template"]["spec"]["containers"][0]["image"] = "new"
    wet = _plan(source, destination, rules())
    dry = _plan(source, destination, rules(dryRun=True))
    assert wet.actions == dry.actions


def test_plan_is_deterministic_whatever_the_listing_order() -> None:
    source = _source()
    first = _plan(source, {})
    second = _plan(list(reversed(source)), {})
    assert [a.key for a in first] == [a.key for a in second]
    assert [a.key.kind for a in first.writes] == [
        "Secret",
        "ConfigMap",
        "PersistentVolumeClaim",
        "Service",
        "Deployment",
        "Ingress",
        "Widget",
    ]


# ---------------------------------------------------------------- prune


def _owned_orphan(
    name: str,
    kind_factory: Any = configmap,
    source_namespace: str = SOURCE_NS,
    replication: str = REPLICATION,
) -> tuple[Key, Obj]:
    o = kind_factory(name, namespace=DEST_NS)
    o["metadata"]["labels"] = {keys.LABEL_MANAGED_BY: keys.MANAGED_BY_VALUE}
    o["metadata"]["annotations"] = {
        keys.ANNOTATION_REPLICATION: replication,
        keys.ANNOTATION_SOURCE_NAMESPACE: source_namespace,
        keys.ANNOTATION_SOURCE_HASH: "old",
    }
    return key_of(o), o


def _entry(o: Obj) -> tuple[Key, Obj]:
    return key_of(o), o


def _without_annotations(entry: tuple[Key, Obj]) -> tuple[Key, Obj]:
    key, o = entry
    o["metadata"]["annotations"] = {}
    return key, o


PRUNE_CASES = [
    # (case, destination object, prune flag, pruned?)
    ("owned copy whose source is gone", _owned_orphan("old"), True, True),
    ("not without pruneDeleted", _owned_orphan("old"), False, False),
    ("unowned object of the same kind", _entry(configmap("manual", namespace=DEST_NS)), True, False),
    ("owned by another Replication", _owned_orphan("old", replication="dr-system/other"), True, False),
    ("copied from another source namespace", _owned_orphan("old", source_namespace="billing"), True, False),
    ("managed-by label alone is not enough", _without_annotations(_owned_orphan("old")), True, False),
]


@_cases(PRUNE_CASES, "entry, prune, pruned")
def test_prune_touches_only_owned_copies_whose_source_is_gone(
    entry: tuple[Key, Obj], prune: bool, pruned: bool
) -> None:
    key, existing = entry
    p = _plan([configmap("settings")], {key: existing}, prune=prune)
    assert (key in {a.key for a in p.by_op(Op.PRUNE)}) == pruned
    if pruned:
        assert p.by_op(Op.PRUNE)[0].destination_uid == existing["metadata"]["uid"]


@pytest.mark.parametrize(
    ("namespace_created", "pruned"),
    [
        ("2026-01-01T00:00:00Z", True),  # the copy (created at the same second) is of this namespace
        ("2025-06-01T00:00:00Z", True),
        ("2026-03-01T09:30:00Z", False),  # the namespace was created again after the copy was made
        (None, True),  # not readable (no permission on Namespaces): as before
    ],
)
def test_a_copy_made_before_the_source_namespace_was_created_is_kept(
    namespace_created: str | None, pruned: bool
) -> None:
    key, existing = _owned_orphan("old")
    p = plan(
        [],
        {key: existing},
        rules(),
        source_namespace=SOURCE_NS,
        destination_namespace=DEST_NS,
        prune=True,
        source_namespace_created=namespace_created,
    )
    assert [a.op for a in p] == [Op.PRUNE if pruned else Op.SKIP]
    if not pruned:
        assert p.actions[0].reason.startswith("kept, not pruned: copied from an earlier source namespace")


def test_unowned_object_with_the_name_of_a_deleted_source_object_is_untouched() -> None:
    destination = _apply(_plan([configmap("settings")], {}), {})
    key = Key("", "ConfigMap", DEST_NS, "settings")
    destination[key] = configmap("settings", namespace=DEST_NS)  # replaced by hand, no marks
    assert _plan([], destination, prune=True).writes == []


def test_excluded_objects_are_never_pruned() -> None:
    key, existing = _owned_orphan("old")
    r = rules(excludeResources=[{"kind": "configmaps", "name": "old"}])
    assert _plan([], {key: existing}, r, prune=True).writes == []


def test_ignored_source_object_keeps_its_copy_even_when_pruning() -> None:
    destination = _apply(_plan([configmap("settings")], {}), {})
    p = _plan([configmap("settings", labels={keys.LABEL_IGNORE: "true"})], destination, prune=True)
    assert [a.op for a in p] == [Op.SKIP]


def test_prunes_run_last_in_reverse_dependency_order() -> None:
    entries = dict([_owned_orphan("cm"), _owned_orphan("web", deployment), _owned_orphan("s", secret)])
    p = _plan([configmap("settings")], entries, prune=True)
    assert [(a.op.value, a.key.kind) for a in p] == [
        ("create", "ConfigMap"),
        ("prune", "Deployment"),
        ("prune", "ConfigMap"),
        ("prune", "Secret"),
    ]
    assert [[a.op for a in stage] for stage in p.stages()] == [[Op.CREATE], [Op.PRUNE], [Op.PRUNE, Op.PRUNE]]


def test_cluster_scoped_objects_are_never_pruned() -> None:
    _, crd = _owned_orphan("widgets.example.com")
    crd["metadata"].pop("namespace")
    crd.update(apiVersion="apiextensions.k8s.io/v1", kind="CustomResourceDefinition")
    assert _plan([], {key_of(crd): crd}, prune=True).writes == []


# ---------------------------------------------------------------- ownership conflicts


def test_unowned_object_of_the_same_name_is_adopted_by_default() -> None:
    existing = configmap("settings", namespace=DEST_NS, data={"mode": "manual"})
    p = _plan([configmap("settings")], {key_of(existing): existing})
    assert [(a.op, a.reason) for a in p] == [(Op.UPDATE, REASON_ADOPT)]
    assert p.actions[0].body is not None
    assert p.actions[0].body["metadata"]["labels"][keys.LABEL_MANAGED_BY] == keys.MANAGED_BY_VALUE


def test_unowned_object_is_a_conflict_when_adoption_is_off() -> None:
    existing = configmap("settings", namespace=DEST_NS)
    p = _plan([configmap("settings")], {key_of(existing): existing}, replace(rules(), adopt_unowned=False))
    assert p.actions[0].op == Op.SKIP and "conflict" in p.actions[0].reason


def test_object_of_another_replication_is_a_conflict() -> None:
    key, existing = _owned_orphan("settings", replication="dr-system/other")
    p = _plan([configmap("settings")], {key: existing})
    assert p.actions[0].op == Op.SKIP and "dr-system/other" in p.actions[0].reason


def test_object_copied_from_another_source_namespace_is_a_conflict() -> None:
    key, existing = _owned_orphan("settings", source_namespace="billing")
    p = _plan([configmap("settings")], {key: existing})
    assert p.actions[0].op == Op.SKIP and "billing" in p.actions[0].reason


# ---------------------------------------------------------------- destination-allocated fields


def test_service_update_keeps_the_destination_cluster_ip_and_node_ports() -> None:
    spec = {"type": "NodePort", "ports": [{"name": "http", "port": 80, "nodePort": 30080, "protocol": "TCP"}]}
    destination = _apply(_plan([service(spec=spec)], {}), {})
    key = Key("", "Service", DEST_NS, "web")
    destination[key]["spec"]["ports"][0]["nodePort"] = 31999  # allocated by the destination
    changed = service(spec={**spec, "selector": {"app": "web2"}})
    body = _plan([changed], destination).actions[0].body
    assert body is not None
    assert body["spec"]["clusterIP"] == "10.9.9.9" and body["spec"]["clusterIPs"] == ["10.9.9.9"]
    assert body["spec"]["ports"][0]["nodePort"] == 31999
    assert body["spec"]["selector"] == {"app": "web2"}


def test_pvc_update_changes_only_the_size_request() -> None:
    destination = _apply(_plan([pvc()], {}), {})
    bigger = pvc(spec={"resources": {"requests": {"storage": "20Gi"}}}, labels={"tier": "db"})
    action = _plan([bigger], destination).actions[0]
    key = Key("", "PersistentVolumeClaim", DEST_NS, "data")
    assert action.op == Op.UPDATE and action.immutable is None
    assert action.body is not None
    assert action.body["spec"] == {**destination[key]["spec"], "resources": {"requests": {"storage": "20Gi"}}}
    assert action.body["metadata"]["labels"]["tier"] == "db"
    assert action.body["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"] == "yes"
    assert "status" not in action.body


# ---------------------------------------------------------------- immutable fields


def _immutable_case(source: Obj, mutate: Any, r: Rules | None = None) -> Any:
    destination = _apply(_plan([source], {}, r), {})
    changed = copy.deepcopy(source)
    mutate(changed)
    actions = _plan([changed], destination, r).writes
    assert len(actions) == 1 and actions[0].op == Op.UPDATE
    return actions[0]


def _set(path: str, value: Any) -> Any:
    def mutate(o: Obj) -> None:
        *parents, last = path.split(".")
        target = o
        for p in parents:
            target = target[p]
        target[last] = value

    return mutate


IMMUTABLE_CASES = [
    (
        "Deployment selector",
        deployment(),
        _set("spec.selector", {"matchLabels": {"app": "x"}}),
        ["spec.selector"],
    ),
    ("StatefulSet serviceName", statefulset(), _set("spec.serviceName", "other"), ["spec.serviceName"]),
    (
        "StatefulSet volumeClaimTemplates",
        statefulset(),
        _set("spec.volumeClaimTemplates", [{"metadata": {"name": "data"}, "spec": {"accessModes": ["X"]}}]),
        ["spec.volumeClaimTemplates"],
    ),
    (
        "StatefulSet podManagementPolicy",
        statefulset(),
        _set("spec.podManagementPolicy", "Parallel"),
        ["spec.podManagementPolicy"],
    ),
    ("PVC storage class", pvc(), _set("spec.storageClassName", "slow"), ["spec.storageClassName"]),
    ("PVC access modes", pvc(), _set("spec.accessModes", ["ReadWriteMany"]), ["spec.accessModes"]),
    (
        "PVC shrink",
        pvc(),
        _set("spec.resources", {"requests": {"storage": "5Gi"}}),
        ["spec.resources.requests.storage"],
    ),
    ("Service to headless", service(), _set("spec.clusterIP", "None"), ["spec.clusterIP", "spec.clusterIPs"]),
    ("immutable ConfigMap data", configmap(immutable=True), _set("data", {"mode": "new"}), ["data"]),
    ("immutable Secret data", secret(immutable=True), _set("data", {"k": "bmV3"}), ["data"]),
    ("Secret type", secret(), _set("type", "kubernetes.io/tls"), ["type"]),
]


@_cases(IMMUTABLE_CASES, "source, mutate, fields")
def test_immutable_field_changes_are_detected(source: Obj, mutate: Any, fields: list[str]) -> None:
    action = _immutable_case(source, mutate)
    assert action.immutable is not None
    assert list(action.immutable.fields) == fields
    assert action.immutable.handling == ImmutableHandling.NO_CHANGE
    assert action.partial_body is not None and action.desired is not None
    assert action.outcome.value == "skipped"  # NoChange writes nothing


MUTABLE_CASES = [
    (
        "Deployment pod template",
        deployment(),
        _set("spec.template", {"metadata": {"labels": {"app": "web"}}, "spec": {}}),
    ),
    ("PVC growth", pvc(), _set("spec.resources", {"requests": {"storage": "50Gi"}})),
    ("mutable ConfigMap data", configmap(), _set("data", {"mode": "new"})),
    ("Service ports", service(), _set("spec.ports", [{"name": "http", "port": 81}])),
]


@_cases(MUTABLE_CASES, "source, mutate")
def test_mutable_changes_are_plain_updates(source: Obj, mutate: Any) -> None:
    assert _immutable_case(source, mutate).immutable is None


HANDLING_CASES = [
    # (case, labels, immutableResourceConfig, expected handling, decided by)
    ("NoChange when nothing is configured", None, {}, ImmutableHandling.NO_CHANGE, "defaultHandling"),
    ("defaultHandling", None, {"defaultHandling": "Recreate"}, ImmutableHandling.RECREATE, "defaultHandling"),
    (
        "resourceOverrides by resource.group",
        None,
        {"defaultHandling": "Recreate", "resourceOverrides": {"deployments.apps": "PartialUpdate"}},
        ImmutableHandling.PARTIAL_UPDATE,
        "resourceOverrides",
    ),
    (
        "resourceOverrides by Kind.group",
        None,
        {"resourceOverrides": {"Deployment.apps": "ForceUpdate"}},
        ImmutableHandling.FORCE_UPDATE,
        "resourceOverrides",
    ),
    (
        "override for another kind does not apply",
        None,
        {"resourceOverrides": {"statefulsets.apps": "Recreate"}},
        ImmutableHandling.NO_CHANGE,
        "defaultHandling",
    ),
    (
        "label beats everything",
        {keys.LABEL_IMMUTABLE_HANDLING: "recreate-with-drain"},
        {"defaultHandling": "Recreate", "resourceOverrides": {"deployments.apps": "PartialUpdate"}},
        ImmutableHandling.RECREATE_WITH_POD_DRAIN,
        "label",
    ),
    (
        "unknown label value falls through",
        {keys.LABEL_IMMUTABLE_HANDLING: "sometimes"},
        {"defaultHandling": "Recreate"},
        ImmutableHandling.RECREATE,
        "defaultHandling",
    ),
]


@_cases(HANDLING_CASES, "labels, config, handling, decided_by")
def test_immutable_handling_resolution(
    labels: dict[str, str] | None, config: dict[str, Any], handling: ImmutableHandling, decided_by: str
) -> None:
    r = rules(immutableResourceConfig=config)
    action = _immutable_case(deployment(labels=labels), _set("spec.selector", {"matchLabels": {"a": "b"}}), r)
    assert action.immutable is not None
    assert (action.immutable.handling, action.immutable.decided_by) == (handling, decided_by)
    assert bool(action.warnings) == (labels is not None and decided_by != "label")


def test_partial_update_keeps_immutable_fields_as_they_are() -> None:
    action = _immutable_case(deployment(), _set("spec.selector", {"matchLabels": {"app": "x"}}))
    assert action.partial_body is not None and action.body is not None
    assert action.partial_body["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    assert action.body["spec"]["selector"] == {"matchLabels": {"app": "x"}}


def test_pvc_with_default_class_in_the_destination_is_not_an_immutable_change() -> None:
    source = pvc()
    del source["spec"]["storageClassName"]
    action = _immutable_case(source, _set("metadata.labels", {"tier": "db"}))
    assert action.immutable is None


def test_deployment_scales_are_reported_from_the_plan() -> None:
    p = _plan([deployment(replicas=4), statefulset(replicas=2)], {})
    assert [(s.kind, s.original_replicas, s.replicas) for s in p.deployment_scales()] == [
        ("Deployment", 4, 0),
        ("StatefulSet", 2, 0),
    ]


# ---------------------------------------------------------------- replica report: written copies only


def _copied(source: Obj, r: Rules | None = None, marks: dict[str, str] | None = None) -> dict[Key, Obj]:
    """The destination after a sync of `source`, its copy's annotations then changed by `marks`."""
    destination = _apply(_plan([source], {}, r), {})
    for copy_ in destination.values():
        copy_["metadata"]["annotations"].update(marks or {})
    return destination


def _being_deleted(source: Obj) -> dict[Key, Obj]:
    destination = _copied(source)
    for copy_ in destination.values():
        copy_["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return destination


RECREATE = rules(immutableResourceConfig={"defaultHandling": "Recreate"})
OTHER_SERVICE = statefulset(replicas=2)
OTHER_SERVICE["spec"]["serviceName"] = "db-2"  # immutable in place

REPLICA_REPORT_CASES = [
    # (case, source, destination before the run, rules, the op planned, replicas reported (source → copy))
    ("created: no copy yet", deployment(replicas=3), {}, None, Op.CREATE, [(3, 0)]),
    ("updated: the source was scaled", deployment(replicas=5), _copied(deployment(replicas=3)), None, Op.UPDATE, [(5, 0)]),
    ("unchanged copy", deployment(replicas=3), _copied(deployment(replicas=3)), None, Op.UNCHANGED, []),
    ("held back: immutable change, NoChange", OTHER_SERVICE, _copied(statefulset(replicas=2)), None, Op.UPDATE, []),
    ("recreated: immutable change, Recreate", OTHER_SERVICE, _copied(statefulset(replicas=2), RECREATE), RECREATE, Op.UPDATE, [(2, 0)]),
    ("skipped: labelled ignore", deployment(labels={keys.LABEL_IGNORE: "true"}), {}, None, Op.SKIP, []),
    ("skipped: copy of another Replication", deployment(), _copied(deployment(), marks={keys.ANNOTATION_REPLICATION: "dr-system/other"}), None, Op.SKIP, []),
    ("skipped: copy being deleted", deployment(), _being_deleted(deployment()), None, Op.SKIP, []),
    ("skipped: copy brought up by failover", deployment(), _copied(deployment(), marks={keys.ANNOTATION_FAILOVER_STANDBY: "{}"}), None, Op.SKIP, []),
    ("failed: a modifier fails on it", deployment(), {}, rules(modifiers=[{"jsonPatch": [{"op": "remove", "path": "/spec/nope"}]}]), Op.FAIL, []),
]  # fmt: skip


@_cases(REPLICA_REPORT_CASES, "source, destination, r, op, reported")
def test_a_dry_run_reports_replicas_only_for_copies_it_would_write(
    source: Obj, destination: dict[Key, Obj], r: Rules | None, op: Op, reported: list[tuple[int, int]]
) -> None:
    p = _plan([source], destination, r)
    assert [a.op for a in p] == [op]
    assert [(s.original_replicas, s.replicas) for s in p.deployment_scales()] == reported


def test_a_pruned_copy_reports_no_replicas() -> None:
    p = _plan([], _copied(deployment()), prune=True)
    assert [a.op for a in p] == [Op.PRUNE] and p.deployment_scales() == []


@pytest.mark.parametrize("outcome", list(Outcome), ids=[o.value for o in Outcome])
def test_a_run_reports_replicas_only_for_copies_it_created_or_updated(outcome: Outcome) -> None:
    # what the executor met, whatever was planned: a planned update may end unchanged, skipped or failed
    [action] = _plan([deployment(replicas=4)], {}).actions
    scale = action.written_scale(outcome)
    if outcome in (Outcome.CREATED, Outcome.UPDATED):
        assert scale == DeploymentScale("Deployment", DEST_NS, "web", 4, 0)
    else:
        assert scale is None


def test_plan_counts_per_kind_are_what_a_dry_run_reports() -> None:
    counts = _plan(_source(), {}).counts()
    assert counts["ConfigMap"].created == 1 and counts["ConfigMap"].skipped == 1
    assert counts["Widget.example.com"].created == 1


def test_non_integer_override_warning_reaches_the_plan() -> None:
    p = _plan([deployment(labels={keys.LABEL_SCALE_OVERRIDE: "yes"})], {})
    assert len(p.warnings) == 1 and "Deployment shop-dr/web:" in p.warnings[0]


def test_a_crd_is_shared_by_every_namespace_of_the_replication() -> None:
    crd = obj(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        "widgets.example.com",
        namespace=None,
        spec={"group": "example.com"},
    )
    destination = _apply(_plan([crd], {}), {})
    other_namespace = plan(
        [crd], destination, rules(), source_namespace="billing", destination_namespace="b", prune=True
    )
    assert [a.op for a in other_namespace] == [Op.UNCHANGED]
