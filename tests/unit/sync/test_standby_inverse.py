"""Failover and failback undo exactly what the standby transform did, from the copy alone."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from drsyncer.api import keys
from drsyncer.sync.objects import Obj
from drsyncer.sync.standby import Outcome, release, restore
from drsyncer.sync.transform import for_destination
from tests.unit.sync.factories import DEST_NS, SOURCE_NS, deployment, job, obj, rules, statefulset
from tests.unit.sync.test_standby import cronjob, daemonset, replicaset, replicationcontroller


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386, as the API server applies a merge patch."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def standby_copy(source: Obj, **spec: Any) -> Obj:
    return copy.deepcopy(for_destination(source, rules(**spec), destination_namespace=DEST_NS))


def released(copy_: Obj) -> Obj:
    step = release(copy_)
    assert step.outcome is Outcome.CHANGE, step
    assert step.patch is not None
    return merge_patch(copy_, step.patch)  # type: ignore[no-any-return]


SOURCES = {
    "deployment": lambda: deployment(replicas=3),
    "statefulset": lambda: statefulset(replicas=2),
    "replicaset": replicaset,
    "replicationcontroller": replicationcontroller,
    "cronjob": cronjob,
    "job": job,
    "daemonset-with-selector": lambda: daemonset({"disk": "ssd"}),
    "daemonset-without-selector": lambda: daemonset(),
}


@pytest.mark.parametrize("kind", list(SOURCES))
def test_failover_brings_a_standby_copy_to_what_the_source_runs(kind: str) -> None:
    source = SOURCES[kind]()
    up = released(standby_copy(source))
    running = for_destination(source, rules(scaleToZero=False), destination_namespace=DEST_NS)
    # the API server defaults an unset suspend to false (pkg/apis/batch/v1 defaults, 1.34)
    assert {"suspend": False, **running["spec"]} == {"suspend": False, **up["spec"]}


@pytest.mark.parametrize("kind", list(SOURCES))
def test_second_failover_of_a_copy_changes_nothing(kind: str) -> None:
    up = released(standby_copy(SOURCES[kind]()))
    step = release(up)
    assert step.outcome is Outcome.DONE and step.patch is None


@pytest.mark.parametrize("kind", list(SOURCES))
def test_failback_puts_back_exactly_the_standby_copy(kind: str) -> None:
    held = standby_copy(SOURCES[kind]())
    up = released(held)
    step = restore(up)
    assert step.outcome is Outcome.CHANGE and step.patch is not None
    assert merge_patch(up, step.patch) == held
    # and a second failback has nothing left to do
    assert restore(merge_patch(up, step.patch)).patch is None


def test_failover_runs_the_original_count_even_with_a_smaller_scale_override() -> None:
    held = standby_copy(deployment(replicas=5, labels={keys.LABEL_SCALE_OVERRIDE: "1"}))
    assert held["spec"]["replicas"] == 1
    up = released(held)
    assert up["spec"]["replicas"] == 5
    assert json.loads(up["metadata"]["annotations"][keys.ANNOTATION_FAILOVER_STANDBY]) == {"replicas": 1}


def test_failover_never_lowers_a_larger_scale_override() -> None:
    held = standby_copy(deployment(replicas=2, labels={keys.LABEL_SCALE_OVERRIDE: "4"}))
    step = release(held)
    assert step.outcome is Outcome.DONE and held["spec"]["replicas"] == 4


def test_copy_made_without_scale_to_zero_is_already_up() -> None:
    running = standby_copy(deployment(replicas=3), scaleToZero=False)
    assert release(running).outcome is Outcome.DONE
    assert release(standby_copy(cronjob(), scaleToZero=False)).outcome is Outcome.NOT_STANDBY


def test_suspended_source_cronjob_stays_suspended_after_failover() -> None:
    source = cronjob()
    source["spec"]["suspend"] = True
    assert release(standby_copy(source)).outcome is Outcome.DONE


def test_daemonset_keeps_node_labels_added_in_the_dr_cluster() -> None:
    held = standby_copy(daemonset({"disk": "ssd"}))
    held["spec"]["template"]["spec"]["nodeSelector"]["zone"] = "b"
    up = released(held)
    assert up["spec"]["template"]["spec"]["nodeSelector"] == {"disk": "ssd", "zone": "b"}


@pytest.mark.parametrize(
    ("annotation", "value"),
    [
        (keys.ANNOTATION_ORIGINAL_REPLICAS, "three"),
        (keys.ANNOTATION_ORIGINAL_SUSPEND, "maybe"),
        (keys.ANNOTATION_ORIGINAL_NODE_SELECTOR, "[1]"),
    ],
)
def test_unreadable_record_is_left_alone_with_a_reason_naming_the_annotation(
    annotation: str, value: str
) -> None:
    kind = {
        keys.ANNOTATION_ORIGINAL_REPLICAS: deployment,
        keys.ANNOTATION_ORIGINAL_SUSPEND: cronjob,
        keys.ANNOTATION_ORIGINAL_NODE_SELECTOR: daemonset,
    }[annotation]
    held = standby_copy(kind())
    held["metadata"]["annotations"][annotation] = value
    step = release(held)
    assert step.outcome is Outcome.INVALID and annotation in step.detail and step.patch is None


def test_kinds_the_transform_does_not_hold_are_not_standby() -> None:
    assert release(standby_copy(obj("v1", "ConfigMap", "c", data={}))).outcome is Outcome.NOT_STANDBY


def test_sync_leaves_a_failed_over_copy_running_and_never_prunes_it() -> None:
    from drsyncer.sync.objects import key_of
    from drsyncer.sync.ownership import mark
    from drsyncer.sync.plan import Op, plan

    source = deployment(replicas=3)
    held = standby_copy(source)
    mark(held, rules(), source)
    up = released(held)
    changed = copy.deepcopy(source)
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "app:2"  # the source moved on
    key = key_of(up)

    def one(src: list, prune: bool) -> Op:
        p = plan(
            src, {key: up}, rules(), source_namespace=SOURCE_NS, destination_namespace=DEST_NS, prune=prune
        )
        (action,) = [a for a in p if a.key == key]
        return action.op

    assert one([changed], prune=False) is Op.SKIP  # not put back at 0 replicas
    assert all(
        a.op is not Op.PRUNE
        for a in plan(
            [], {key: up}, rules(), source_namespace=SOURCE_NS, destination_namespace=DEST_NS, prune=True
        )
    )
    # after failback the same sync updates it again
    back = merge_patch(up, restore(up).patch)
    assert plan(
        [changed],
        {key: back},
        rules(),
        source_namespace=SOURCE_NS,
        destination_namespace=DEST_NS,
        prune=False,
    ).writes
