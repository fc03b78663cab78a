"""A destination object that changes between planning and writing is treated as a plan made after the
change would treat it: the write meets 409 Conflict (update) or AlreadyExists (create), the executor
reads the object again and carries out the planner's decision about it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from drsyncer.api import keys
from drsyncer.sync.execute import execute
from drsyncer.sync.namespace_sync import read_destination, read_source
from drsyncer.sync.plan import Action, Op, Plan, plan
from tests.integration.sync.conftest import Obj, World, counts_of, create, modify, read, rules, seed

SETTINGS: Obj = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "settings"},
    "data": {"mode": "dr"},
}
HOLD = "example.com/hold"


def _being_deleted(world: World, copy: Obj) -> None:
    """A finalizer keeps the copy, deleted meanwhile, in the destination (deletionTimestamp set)."""

    def hold(obj: Obj) -> None:
        obj["metadata"]["finalizers"] = [HOLD]

    modify(world, "dr1", copy, hold)
    world.call("dr1", "DELETE", f"/api/v1/namespaces/{world.ns}/configmaps/{copy['metadata']['name']}")


def _copied_from_elsewhere(world: World, copy: Obj) -> None:
    """Another task of the same Replication wrote the copy from another source namespace."""

    def re_own(obj: Obj) -> None:
        obj["metadata"]["annotations"][keys.ANNOTATION_SOURCE_NAMESPACE] = "elsewhere"
        obj["metadata"]["annotations"][keys.ANNOTATION_SOURCE_HASH] = "written-from-elsewhere"

    modify(world, "dr1", copy, re_own)


CHANGES: dict[str, Callable[[World, Obj], None]] = {
    "being-deleted": _being_deleted,
    "copied-from-another-namespace": _copied_from_elsewhere,
}


def _plan(world: World) -> Plan:
    sync_rules = rules(resourceTypes=["configmaps"])
    snapshot = read_source(world.clients["source"], sync_rules, world.ns)
    return plan(
        snapshot.objects,
        read_destination(world.clients["dr1"], snapshot, world.ns),
        sync_rules,
        source_namespace=world.ns,
        destination_namespace=world.ns,
        prune=False,
    )


def _settings(the_plan: Plan) -> Action:
    (action,) = [a for a in the_plan if a.key.name == "settings"]
    return action


def _execute_stale_plan(world: World, stale: Plan) -> None:
    """Run the plan made before the change: the result is what a plan made after it says (skip, with
    its reason), and the changed copy is not written."""
    replanned = _settings(_plan(world))
    assert replanned.op == Op.SKIP
    before = read(world, "dr1", SETTINGS)
    assert before is not None

    result = execute(stale, world.clients["dr1"], rules(resourceTypes=["configmaps"]))

    assert [s.reason for s in result.skips if s.name == "settings"] == [replanned.reason]
    assert counts_of(result) == {"skipped": 2}  # settings and kube-root-ca.crt
    after = read(world, "dr1", SETTINGS)
    assert after is not None
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_an_update_that_meets_a_copy_changed_after_planning_does_what_the_planner_says(
    world: World, change: str
) -> None:
    seed(world, [SETTINGS])
    world.sync(rules(resourceTypes=["configmaps"]), destinations=("dr1",))
    modify(world, "source", SETTINGS, lambda obj: obj["data"].update(mode="changed"))
    the_plan = _plan(world)
    assert _settings(the_plan).op == Op.UPDATE
    CHANGES[change](world, SETTINGS)  # between planning and writing: the planned PUT meets 409
    try:
        _execute_stale_plan(world, the_plan)
    finally:
        modify(world, "dr1", SETTINGS, lambda obj: obj["metadata"].update(finalizers=None))


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_create_that_meets_a_copy_written_after_planning_does_what_the_planner_says(
    world: World, change: str
) -> None:
    seed(world, [SETTINGS])
    the_plan = _plan(world)
    planned = _settings(the_plan)
    assert planned.op == Op.CREATE and planned.desired is not None
    # between planning and writing: a copy appears (a duplicate run), then changes; the POST meets
    # AlreadyExists
    world.core("dr1").create_namespace({"metadata": {"name": world.ns}})
    create(world, "dr1", planned.desired)
    CHANGES[change](world, SETTINGS)
    try:
        _execute_stale_plan(world, the_plan)
    finally:
        modify(world, "dr1", SETTINGS, lambda obj: obj["metadata"].update(finalizers=None))
