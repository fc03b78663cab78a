"""Standby copies do not run: with scaleToZero every kind that would start Pods is held, and what the
source said is recorded on the copy."""

from __future__ import annotations

import json
from typing import Any

import pytest

from drsyncer.api import keys
from drsyncer.sync.objects import Obj
from drsyncer.sync.transform import for_destination, transform
from tests.unit.sync.factories import DEST_NS, deployment, job, obj, rules, statefulset

POD = {"containers": [{"name": "c", "image": "i"}]}


def daemonset(node_selector: dict[str, str] | None = None, labels: dict[str, str] | None = None) -> Obj:
    pod: dict[str, Any] = dict(POD)
    if node_selector is not None:
        pod["nodeSelector"] = node_selector
    return obj(
        "apps/v1",
        "DaemonSet",
        "agent",
        labels=labels,
        spec={
            "selector": {"matchLabels": {"app": "agent"}},
            "template": {"metadata": {"labels": {"app": "agent"}}, "spec": pod},
        },
    )


def replicaset() -> Obj:
    return obj("apps/v1", "ReplicaSet", "standalone", spec={"replicas": 2, "template": {"spec": POD}})


def replicationcontroller() -> Obj:
    return obj("v1", "ReplicationController", "legacy", spec={"replicas": 1, "template": {"spec": POD}})


def cronjob() -> Obj:
    return obj("batch/v1", "CronJob", "report", spec={"schedule": "0 * * * *", "jobTemplate": {"spec": {}}})


def _runs(out: Obj) -> bool:
    """Would the destination start Pods for this copy?"""
    spec = out.get("spec") or {}
    kind = out["kind"]
    if kind in ("Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"):
        return bool(spec.get("replicas"))
    if kind in ("Job", "CronJob"):
        return not spec.get("suspend")
    if kind == "DaemonSet":
        selector = spec["template"]["spec"].get("nodeSelector") or {}
        return keys.LABEL_STANDBY_NODE not in selector
    raise AssertionError(kind)


WORKLOADS = [
    deployment(),
    statefulset(),
    replicaset(),
    replicationcontroller(),
    daemonset(),
    daemonset({"disk": "ssd"}),
    job(),
    cronjob(),
]


@pytest.mark.parametrize("source", WORKLOADS, ids=lambda o: f"{o['kind']}")
def test_nothing_runs_in_a_standby_copy(source: Obj) -> None:
    assert not _runs(for_destination(source, rules(), destination_namespace=DEST_NS))


@pytest.mark.parametrize("source", WORKLOADS, ids=lambda o: f"{o['kind']}")
def test_without_scale_to_zero_the_copy_runs_as_the_source(source: Obj) -> None:
    assert _runs(for_destination(source, rules(scaleToZero=False), destination_namespace=DEST_NS))


@pytest.mark.parametrize(
    ("node_selector", "recorded"),
    [
        (None, {}),
        ({"disk": "ssd"}, {"disk": "ssd"}),
    ],
)
def test_held_daemonset_records_its_node_selector_and_keeps_it(
    node_selector: dict[str, str] | None, recorded: dict[str, str]
) -> None:
    source = daemonset(node_selector)
    out = for_destination(source, rules(), destination_namespace=DEST_NS)
    annotation = out["metadata"]["annotations"][keys.ANNOTATION_ORIGINAL_NODE_SELECTOR]
    assert json.loads(annotation) == recorded
    held = out["spec"]["template"]["spec"]["nodeSelector"]
    # restoring is removing the one added key: every original constraint is still there
    assert {k: v for k, v in held.items() if k != keys.LABEL_STANDBY_NODE} == recorded
    assert held[keys.LABEL_STANDBY_NODE] == keys.STANDBY_NODE_VALUE
    assert source["spec"]["template"]["spec"].get("nodeSelector") == node_selector  # source untouched


@pytest.mark.parametrize(
    ("override", "scale_to_zero", "held", "warned"),
    [
        ("0", False, True, False),
        ("1", True, False, False),
        ("yes", True, True, True),  # unusable: scaleToZero applies, with a warning
        ("yes", False, False, True),
    ],
)
def test_scale_override_label_decides_for_daemonsets_too(
    override: str, scale_to_zero: bool, held: bool, warned: bool
) -> None:
    result = transform(
        daemonset(labels={keys.LABEL_SCALE_OVERRIDE: override}),
        rules(scaleToZero=scale_to_zero),
        destination_namespace=DEST_NS,
    )
    assert (not _runs(result.body)) is held
    assert bool(result.warnings) is warned
    assert result.scale is None  # no replica count to report


@pytest.mark.parametrize(("source_suspend", "recorded"), [(None, "false"), (False, "false"), (True, "true")])
def test_job_copy_is_suspended_and_records_the_source_value(
    source_suspend: bool | None, recorded: str
) -> None:
    source = job()
    if source_suspend is not None:
        source["spec"]["suspend"] = source_suspend
    out = for_destination(source, rules(), destination_namespace=DEST_NS)
    assert out["spec"]["suspend"] is True
    assert out["metadata"]["annotations"][keys.ANNOTATION_ORIGINAL_SUSPEND] == recorded
    assert "selector" not in out["spec"]  # the generated selector is still left to the destination
