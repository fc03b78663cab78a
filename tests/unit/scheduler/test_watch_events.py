"""Which watch events make the watcher reconcile, and how the per-Replication gauges follow the rest."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from prometheus_client import REGISTRY

from scheduler import metrics
from scheduler.replication_state import ReplicationState
from scheduler.watcher import acted_on_changed
from tests.unit.api.builders import replication_dict


def _stored() -> dict[str, Any]:
    obj = replication_dict()
    obj["metadata"].update(
        {"uid": "u-1", "generation": 3, "resourceVersion": "41", "labels": {"team": "a"}, "finalizers": []}
    )
    obj["status"] = {"phase": "Completed", "lastSyncTime": "2026-01-01T11:00:00Z"}
    return obj


def _changed(path: str, value: Any) -> dict[str, Any]:
    obj = copy.deepcopy(_stored())
    *parents, leaf = path.split(".")
    target = obj
    for part in parents:
        target = target.setdefault(part, {})
    target[leaf] = value
    return obj


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("status.phase", "Running"),  # a worker's status write
        ("status.lastSyncTime", "2026-01-01T11:01:00Z"),
        ("metadata.resourceVersion", "42"),  # every write moves it
        ("metadata.managedFields", [{"manager": "drsyncer-worker"}]),
    ],
)
def test_status_and_bookkeeping_changes_reconcile_nothing(path: str, value: Any) -> None:
    assert not acted_on_changed(_stored(), _changed(path, value))


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("spec.schedule", "@every 20s"),
        ("spec.paused", True),  # a new field
        ("metadata.generation", 4),
        ("metadata.labels", {"team": "b"}),
        ("metadata.annotations", {"dr-syncer.io/sync-now": "now"}),
        ("metadata.finalizers", ["dr-syncer.io/cleanup"]),
        ("metadata.deletionTimestamp", "2026-01-01T11:02:00Z"),
        ("metadata.uid", "u-2"),  # deleted and created again under the same name
    ],
)
def test_changes_beyond_status_reconcile(path: str, value: Any) -> None:
    assert acted_on_changed(_stored(), _changed(path, value))


def test_a_new_or_deleted_object_reconciles() -> None:
    assert acted_on_changed(None, _stored())
    assert acted_on_changed(_stored(), None)


def test_a_removed_field_reconciles() -> None:
    without_labels = copy.deepcopy(_stored())
    del without_labels["metadata"]["labels"]
    assert acted_on_changed(_stored(), without_labels)
    without_spec = {k: v for k, v in _stored().items() if k != "spec"}
    assert acted_on_changed(_stored(), without_spec)


def _series(label: str) -> dict[str, float | None]:
    def value(name: str, **labels: str) -> float | None:
        return REGISTRY.get_sample_value(name, {"replication": label, **labels})

    return {
        "Completed": value("dr_syncer_replication_phase", phase="Completed"),
        "Failed": value("dr_syncer_replication_phase", phase="Failed"),
        "ready": value("dr_syncer_replication_ready"),
        "invalid": value("dr_syncer_replication_invalid"),
        "awaiting": value("dr_syncer_replication_awaiting_first_sync"),
        "last_success": value("dr_syncer_replication_last_success_timestamp_seconds"),
    }


def test_the_gauges_show_the_last_state_exported_through_every_kind_of_change() -> None:
    label = "gauges-test/web"
    done = ReplicationState("Completed", True, False, False, 100.0)
    metrics.export_replication(label, done)
    metrics.export_replication(label, done)
    metrics.export_replication(label, ReplicationState("Completed", True, False, False, 160.0))
    assert _series(label) == {
        "Completed": 1,
        "Failed": 0,
        "ready": 1,
        "invalid": 0,
        "awaiting": 0,
        "last_success": 160.0,
    }
    metrics.export_replication(label, ReplicationState("Failed", False, True, False, None))
    assert _series(label) == {
        "Completed": 0,
        "Failed": 1,
        "ready": 0,
        "invalid": 1,
        "awaiting": 0,
        "last_success": None,
    }
    metrics.drop_replication(label)
    assert set(_series(label).values()) == {None}
    # exported again after it was dropped (deleted, then created under the same name)
    metrics.export_replication(label, done)
    assert _series(label)["Completed"] == 1
    metrics.export_replications({})
    assert set(_series(label).values()) == {None}


def test_remote_cluster_health_gauge_follows_status_and_goes_with_the_object() -> None:
    from prometheus_client import REGISTRY

    from scheduler import metrics

    def value(label: str) -> float | None:
        return REGISTRY.get_sample_value("dr_syncer_remote_cluster_healthy", {"cluster": label})

    def rc(name: str, health: str | None) -> dict[str, Any]:
        return {
            "metadata": {"name": name, "namespace": "dr-system"},
            **({"status": {"health": health}} if health else {}),
        }

    metrics.export_remote_clusters([rc("dr1", "Healthy"), rc("dr2", "Unhealthy"), rc("new", None)])
    assert (value("dr-system/dr1"), value("dr-system/dr2"), value("dr-system/new")) == (1.0, 0.0, None)
    metrics.export_remote_cluster(rc("dr2", "Healthy"))  # a status-only watch event
    assert value("dr-system/dr2") == 1.0
    metrics.export_remote_cluster(rc("dr2", "Healthy"), deleted=True)
    assert value("dr-system/dr2") is None
    metrics.export_remote_clusters([])  # the replica stops leading
    assert value("dr-system/dr1") is None
