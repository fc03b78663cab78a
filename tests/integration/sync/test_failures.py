"""A destination that is down, and destinations that throttle, fail and change under the sync."""

from __future__ import annotations

import dataclasses
import json
import threading

import pytest

from drsyncer.api import keys
from drsyncer.errors import Category
from drsyncer.kube import RetryPolicy, audit
from drsyncer.sync.execute import execute
from drsyncer.sync.namespace_sync import read_destination, read_source
from drsyncer.sync.plan import Op, plan
from drsyncer.sync.result import Phase, TargetResult
from drsyncer.sync.rules import Rules
from tests.fixtures.crds import gadget_crd
from tests.fixtures.polling import eventually
from tests.integration.sync.conftest import (
    REPLICATION,
    Obj,
    World,
    await_established,
    counts_of,
    create,
    modify,
    read,
    rules,
    seed,
    source_objects,
)
from tests.integration.sync.test_copy import OBJECTS_PER_COPY, ROOT_CA_SKIPPED, assert_copied

# a throttled or failing write is tried this often before it counts as failed: with 20 % of writes
# failing, a request fails for good with probability 0.2^10 (1e-7), so a run converges in one go
PATIENT_RETRY = RetryPolicy(max_attempts=10, base_delay_s=0.005, max_delay_s=0.05, conflict_attempts=8)


@pytest.mark.sim_only("takes a destination down and up again")
def test_one_destination_down_fails_alone_and_names_itself(world: World) -> None:
    seed(world)
    world.sim("dr2").down()

    results = world.sync(rules())

    dr1, dr2 = results
    assert dr1.phase == Phase.COMPLETED and counts_of(dr1) == {"created": OBJECTS_PER_COPY, **ROOT_CA_SKIPPED}
    assert dr2.phase == Phase.FAILED
    assert dr2.destination_cluster == "dr2"
    assert dr2.error.startswith("destination cluster dr2: ")
    assert "cannot connect to" in dr2.error and world.sim("dr2").url in dr2.error
    assert dr2.error_category == Category.RETRYABLE
    assert_copied(world, "dr1", rules())

    # back up: the next run completes it
    world.sim("dr2").up()
    assert [r.phase for r in world.sync(rules())] == [Phase.COMPLETED, Phase.COMPLETED]
    assert_copied(world, "dr2", rules())


def many_configmaps(n: int) -> list[Obj]:
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i:03d}"}, "data": {"i": str(i)}}
        for i in range(n)
    ]


def fail_a_fifth_of_writes(world: World, cluster: str) -> None:
    """10 % 429 (Retry-After: 0) and 10 % 500 on every create, update and delete."""
    rates = {429: 0.1, 500: 0.1}
    world.sim(cluster).faults.set(
        error_rates={"create": rates, "update": rates, "delete": rates}, retry_after_s=0
    )


@pytest.mark.sim_only("injects 429 and 500 answers into a fifth of the writes")
def test_injected_throttling_server_errors_and_conflicts_converge_in_one_run(world: World) -> None:
    extra = many_configmaps(40)
    seed(world, [*source_objects(), *extra])
    for name in ("dr1", "dr2"):
        world.client(name, PATIENT_RETRY)
        fail_a_fifth_of_writes(world, name)
    sync_rules = rules()

    results = world.sync(sync_rules)

    assert [r.phase for r in results] == [Phase.COMPLETED] * 2, [r.errors for r in results]
    assert [r.totals.created for r in results] == [OBJECTS_PER_COPY + len(extra)] * 2
    for name in ("dr1", "dr2"):  # the faults were there: throttled and failed writes were retried
        counters = world.clients[name].counters
        assert counters.get(name, "throttled") > 0 and counters.get(name, "retries") > 0
    for name in ("dr1", "dr2"):
        assert_copied(world, name, sync_rules)

    # every planned update meets a 409 (another writer touched each copy after it was read), on top
    # of the injected 429/500: each is read again, rebuilt and written
    for obj in extra[:20]:
        modify(world, "source", obj, lambda cm: cm["data"].update(changed="yes"))
    source = world.clients["source"]
    dr1 = world.clients["dr1"]
    snapshot = read_source(source, sync_rules, world.ns)
    the_plan = plan(
        [*snapshot.crds, *snapshot.objects],
        read_destination(dr1, snapshot, world.ns),
        sync_rules,
        source_namespace=world.ns,
        destination_namespace=world.ns,
        prune=False,
    )
    updates = the_plan.by_op(Op.UPDATE)
    assert len(updates) == 20
    world.sim("dr1").faults.clear()
    for action in updates:
        modify(
            world,
            "dr1",
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": action.key.name}},
            lambda cm: cm["metadata"]["labels"].update(touched="by-someone-else"),
        )
    fail_a_fifth_of_writes(world, "dr1")
    world.reset_counters()

    result = execute(the_plan, dr1, sync_rules, concurrency=8)

    assert result.phase == Phase.COMPLETED, result.errors
    assert result.totals.updated == 20
    assert world.sim("dr1").counters()["update"]["configmaps"] >= 40  # 20 conflicts + 20 rewrites at least
    for obj in extra[:20]:
        copied = read(world, "dr1", obj)
        assert copied is not None and copied["data"]["changed"] == "yes"
        assert "touched" not in copied["metadata"]["labels"]  # the copy follows its source, not the toucher
    assert_copied(world, "dr1", sync_rules)

    # converged: with the faults still on, the next run has nothing to write
    world.reset_counters()
    again = world.sync(sync_rules, destinations=("dr1",))
    assert counts_of(again[0]) == {"unchanged": OBJECTS_PER_COPY + len(extra), **ROOT_CA_SKIPPED}
    assert world.writes("dr1") == 0


def test_updates_that_meet_a_conflict_are_read_again_and_rewritten(world: World) -> None:
    extra = many_configmaps(6)
    seed(world, extra)
    sync_rules = rules(resourceTypes=["configmaps"])
    world.sync(sync_rules, destinations=("dr1",))
    for obj in extra:
        modify(world, "source", obj, lambda cm: cm["data"].update(changed="yes"))
    dr1 = world.clients["dr1"]
    snapshot = read_source(world.clients["source"], sync_rules, world.ns)
    the_plan = plan(
        snapshot.objects,
        read_destination(dr1, snapshot, world.ns),
        sync_rules,
        source_namespace=world.ns,
        destination_namespace=world.ns,
        prune=False,
    )
    assert len(the_plan.by_op(Op.UPDATE)) == len(extra)
    # another writer touches every copy after it was read: each planned update carries a stale
    # resourceVersion
    for obj in extra:
        modify(world, "dr1", obj, lambda cm: cm["metadata"]["labels"].update(touched="by-someone-else"))
    world.reset_counters()

    result = execute(the_plan, dr1, sync_rules, concurrency=3)

    assert result.phase == Phase.COMPLETED, result.errors
    assert result.totals.updated == len(extra)
    assert world.conflicts("dr1") == len(extra)  # one 409 each, then a rewrite from a fresh read
    assert world.verbs("dr1") == {"PUT": 2 * len(extra)}
    for obj in extra:
        copied = read(world, "dr1", obj)
        assert copied is not None and copied["data"]["changed"] == "yes"
        assert "touched" not in copied["metadata"]["labels"]  # the copy follows its source, not the toucher
    world.reset_counters()
    assert counts_of(world.sync(sync_rules, destinations=("dr1",))[0]) == {
        "unchanged": len(extra),
        **ROOT_CA_SKIPPED,
    }
    assert world.writes("dr1") == 0


def execute_going_down(world: World, sync_rules: Rules, resource: str, creates: int) -> TargetResult:
    """Execute the plan of the whole source namespace into an empty dr1 (20 ms per request) that
    goes down once `creates` creates of `resource` have reached it, 2 writes at a time."""
    snapshot = read_source(world.clients["source"], sync_rules, world.ns)
    the_plan = plan(
        snapshot.objects,
        {},
        sync_rules,
        source_namespace=world.ns,
        destination_namespace=world.ns,
        prune=False,
    )
    dr1 = world.sim("dr1")
    dr1.faults.set(latency_ms=20)

    def pull_the_plug() -> None:
        # down after those creates (polled finely: the batch sends the next ones 20 ms later), or
        # at the deadline, when the test's own assertions say what went wrong
        try:
            eventually(
                lambda: dr1.counters().get("create", {}).get(resource, 0) >= creates,
                timeout_s=10,
                what=f"{creates} creates of {resource}",
                interval_s=0.002,
            )
        finally:
            dr1.down()

    plug = threading.Thread(target=pull_the_plug)
    plug.start()
    try:
        return execute(the_plan, world.clients["dr1"], sync_rules, concurrency=2)
    finally:
        plug.join()


@pytest.mark.sim_only("takes the destination down in the middle of a run")
def test_a_destination_that_goes_away_mid_run_is_given_up_on(world: World) -> None:
    seed(world, many_configmaps(40))

    result = execute_going_down(world, rules(resourceTypes=["configmaps"]), "configmaps", 6)

    assert result.phase == Phase.PARTIALLY_FAILED
    assert result.totals.created >= 6 and result.totals.created + result.totals.failed == 40
    assert "destination cluster dr1 is unreachable" in result.error and "not attempted" in result.error
    # the failures met before giving up are listed with their reason; the rest were never sent
    assert 1 <= len(result.errors) < result.totals.failed
    assert all("cannot connect" in e.message for e in result.errors)


@pytest.mark.sim_only("takes the destination down in the middle of a run")
def test_creates_sent_together_to_a_destination_given_up_on_each_fail_once_with_their_reason(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """A stage of two kinds, each sent as a batch, to a destination that goes down after its first
    creates: each batch gives up after a few creates without an answer, the creates it sent go on to
    the write threads, and the destination is given up on while the second kind's are still waiting
    there. Every create that was sent fails with its reason and one audit line; the rest are not
    attempted."""
    secrets = [
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"s-{i:03d}"}, "type": "Opaque"}
        for i in range(20)
    ]
    seed(world, [*secrets, *many_configmaps(20)])
    caplog.set_level("INFO", logger=audit.AUDIT_LOGGER)

    result = execute_going_down(world, rules(resourceTypes=["configmaps", "secrets"]), "secrets", 1)

    assert "destination cluster dr1 is unreachable" in result.error and "not attempted" in result.error
    failed = {(e.kind, e.name) for e in result.errors}
    assert all("cannot connect" in e.message for e in result.errors)
    # both kinds had creates sent and failed before the destination was given up on
    assert {kind for kind, _ in failed} == {"Secret", "ConfigMap"}
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == audit.AUDIT_LOGGER]
    errors = [(x["kind"], x["name"]) for x in lines if x["verb"] == "create" and x["outcome"] == "error"]
    assert sorted(errors) == sorted(failed), "each create sent and failed is recorded once"
    created = [x for x in lines if x["verb"] == "create" and x["outcome"] == "success"]
    # the destination namespace first, then the creates answered before the plug was pulled
    assert [x["kind"] for x in created] == ["Namespace"] + ["Secret"] * result.totals.created
    assert len(lines) == len(created) + len(errors)


def test_a_destination_namespace_being_deleted_waits_for_the_next_sync(world: World) -> None:
    seed(world, many_configmaps(3))
    held = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "held", "finalizers": ["example.com/hold"]},
    }
    world.core("dr1").create_namespace({"metadata": {"name": world.ns}})
    create(world, "dr1", held)
    world.core("dr1").delete_namespace(world.ns)  # stays Terminating while "held" has its finalizer
    world.reset_counters()
    try:
        (result,) = world.sync(rules(resourceTypes=["configmaps"]), destinations=("dr1",))
    finally:  # let the namespace go
        world.core("dr1").patch_namespaced_config_map("held", world.ns, {"metadata": {"finalizers": None}})

    assert result.phase == Phase.FAILED
    assert (
        result.error == f"Namespace {world.ns}: is being deleted in the destination; the next sync "
        "recreates it"
    )
    assert result.error_category == Category.WAIT_FOR_NEXT_SYNC
    assert result.totals.failed == 3 and world.writes("dr1") == 0


def test_objects_created_by_someone_else_after_planning_are_updated_instead(world: World) -> None:
    seed(world, many_configmaps(4))
    sync_rules = rules(resourceTypes=["configmaps"])
    snapshot = read_source(world.clients["source"], sync_rules, world.ns)
    the_plan = plan(
        snapshot.objects,
        read_destination(world.clients["dr1"], snapshot, world.ns),
        sync_rules,
        source_namespace=world.ns,
        destination_namespace=world.ns,
        prune=False,
    )
    assert [a.op for a in the_plan if a.op != Op.SKIP] == [Op.CREATE] * 4
    # between planning and writing: an unmarked cm-000 appears, and a duplicate run writes cm-001
    world.core("dr1").create_namespace({"metadata": {"name": world.ns}})
    create(
        world,
        "dr1",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm-000"}, "data": {"i": "stale"}},
    )
    execute(dataclasses.replace(the_plan, actions=the_plan.actions[1:2]), world.clients["dr1"], sync_rules)
    world.reset_counters()

    result = execute(the_plan, world.clients["dr1"], sync_rules)

    assert result.phase == Phase.COMPLETED
    assert counts_of(result) == {"created": 2, "updated": 1, "unchanged": 1, **ROOT_CA_SKIPPED}
    assert world.verbs("dr1") == {"POST": 4, "PUT": 1}  # two creates met AlreadyExists, one was updated
    assert_copied_configmaps(world, 4)


def assert_copied_configmaps(world: World, n: int) -> None:
    for obj in many_configmaps(n):
        copied = read(world, "dr1", obj)
        assert copied is not None and copied["data"] == obj["data"]
        assert copied["metadata"]["annotations"][keys.ANNOTATION_REPLICATION] == REPLICATION


def test_a_prune_never_deletes_an_object_recreated_after_planning(world: World) -> None:
    seed(world, many_configmaps(2))
    sync_rules = rules(resourceTypes=["configmaps"])
    world.sync(sync_rules, destinations=("dr1",))
    world.call("source", "DELETE", f"/api/v1/namespaces/{world.ns}/configmaps/cm-001")
    snapshot = read_source(world.clients["source"], sync_rules, world.ns)
    the_plan = plan(
        snapshot.objects,
        read_destination(world.clients["dr1"], snapshot, world.ns),
        sync_rules,
        source_namespace=world.ns,
        destination_namespace=world.ns,
        prune=True,
    )
    assert [a.key.name for a in the_plan.by_op(Op.PRUNE)] == ["cm-001"]
    # recreated in the destination (same marks, new uid) between planning and writing
    copy = read(world, "dr1", many_configmaps(2)[1])
    assert copy is not None
    world.call("dr1", "DELETE", f"/api/v1/namespaces/{world.ns}/configmaps/cm-001")
    marks = {k: copy["metadata"][k] for k in ("labels", "annotations")}
    recreated = create(
        world, "dr1", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm-001", **marks}}
    )

    result = execute(the_plan, world.clients["dr1"], sync_rules)

    assert counts_of(result) == {"unchanged": 1, "skipped": 2}  # kube-root-ca.crt and cm-001
    assert f"ConfigMap {world.ns}/cm-001: not pruned, replaced since it was read" in result.warnings
    still = read(world, "dr1", recreated)
    assert still is not None and still["metadata"]["uid"] == recreated["metadata"]["uid"]


GADGET_CRD: Obj = gadget_crd()


def test_a_cluster_scoped_type_in_resource_types_fails_the_run_before_anything_is_written(
    world: World,
) -> None:
    # a custom type passes the Replication's offline check (only discovery knows its scope); copied
    # from a namespace's sync it would overwrite the destination's cluster-wide object of that name
    seed(world, [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app"}, "data": {"a": "1"}}])
    for cluster in ("source", "dr1"):
        if read(world, cluster, GADGET_CRD) is None:
            create(world, cluster, GADGET_CRD)
        await_established(world, cluster, "gadgets.example.com")
    name = f"shared-{world.ns}"
    gadget = {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": name}}
    create(world, "source", {**gadget, "spec": {"owner": "source"}})
    create(world, "dr1", {**gadget, "spec": {"owner": "dr1 itself"}})
    before = world.writes("dr1")

    (result,) = world.sync(
        rules(resourceTypes=["configmaps", "gadgets.example.com"], syncCRDs=False), destinations=("dr1",)
    )

    assert result.phase == Phase.FAILED and result.error_category == Category.NON_RETRYABLE
    assert (
        "resource type 'gadgets.example.com' (Gadget.example.com) is served as cluster-scoped by cluster "
        "source: resourceTypes (--types) name namespaced types only" in result.error
    )
    assert world.writes("dr1") == before
    assert (read(world, "dr1", gadget) or {})["spec"] == {"owner": "dr1 itself"}
    assert read(world, "dr1", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app"}}) is None
