"""RemoteCluster status after a check, and Events: values only, nothing secret."""

from __future__ import annotations

from datetime import UTC, datetime

from drsyncer.kube.health import ClusterCheck, ConditionResult
from drsyncer.status.events import event
from drsyncer.status.remote_cluster import health_event, health_status

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
LATER = datetime(2026, 1, 2, 4, 0, 0, tzinfo=UTC)

HEALTHY = ClusterCheck(
    tuple(
        ConditionResult(t, "True", "Checked", "")
        for t in ("KubeconfigAvailable", "KubeconfigValid", "ClusterAvailable")
    ),
    "v1.32.0",
    "reachable, Kubernetes v1.32.0",
    None,
)
DOWN = ClusterCheck(
    (
        ConditionResult("KubeconfigAvailable", "True", "Checked", ""),
        ConditionResult("KubeconfigValid", "True", "Checked", ""),
        ConditionResult("ClusterAvailable", "False", "ConnectionError", "cannot connect"),
    ),
    None,
    "cannot connect",
    None,
)


def test_healthy_check_sets_health_version_and_conditions() -> None:
    obj = {"metadata": {"name": "dr1", "generation": 2}}
    status = health_status(obj, HEALTHY, NOW)
    assert status["health"] == "Healthy" and status["serverVersion"] == "v1.32.0"
    assert status["lastCheckTime"] == "2026-01-02T03:04:05Z" and status["observedGeneration"] == 2
    assert {c["type"]: c["status"] for c in status["conditions"]} == {
        "KubeconfigAvailable": "True",
        "KubeconfigValid": "True",
        "ClusterAvailable": "True",
    }


def test_condition_time_moves_only_when_its_status_changes() -> None:
    first = health_status({"metadata": {"name": "dr1"}}, HEALTHY, NOW)
    again = health_status({"metadata": {"name": "dr1"}, "status": first}, HEALTHY, LATER)
    down = health_status({"metadata": {"name": "dr1"}, "status": again}, DOWN, LATER)
    times = {c["type"]: c["lastTransitionTime"] for c in again["conditions"]}
    assert times["ClusterAvailable"] == "2026-01-02T03:04:05Z"
    moved = {c["type"]: c["lastTransitionTime"] for c in down["conditions"]}
    assert moved["ClusterAvailable"] == "2026-01-02T04:00:00Z"
    assert moved["KubeconfigValid"] == times["KubeconfigValid"]
    assert down["health"] == "Unhealthy" and "serverVersion" not in down


def test_event_names_its_object_and_never_collides() -> None:
    involved = {
        "apiVersion": "dr-syncer.io/v1alpha1",
        "kind": "Replication",
        "namespace": "dr-system",
        "name": "web",
        "uid": "u1",
    }
    one = event(involved, "SyncStarted", "sync started (schedule)", now=NOW, instance="w1@host")
    two = event(involved, "SyncStarted", "sync started (schedule)", now=NOW)
    assert one["metadata"]["name"] != two["metadata"]["name"]
    assert one["metadata"]["namespace"] == "dr-system" and one["involvedObject"] == involved
    assert one["type"] == "Normal" and one["count"] == 1 and one["firstTimestamp"] == "2026-01-02T03:04:05Z"
    assert len(event(involved, "SyncFailed", "x" * 5000, type_="Warning", now=NOW)["message"]) == 1024


def test_a_change_of_health_is_an_event_and_no_change_is_none() -> None:
    went = health_event("Healthy", DOWN)
    assert went is not None and went[:2] == ("ClusterUnhealthy", "Warning")
    assert went[2].startswith("Unhealthy (was Healthy): ")
    back = health_event("Unhealthy", HEALTHY)
    assert back is not None and back[:2] == ("ClusterHealthy", "Normal")
    first = health_event(None, DOWN)
    assert first is not None and first[2].startswith("Unhealthy (was not checked): ")
    assert health_event(None, HEALTHY) is None  # a first Healthy is no news
    assert health_event("Unhealthy", DOWN) is None and health_event("Healthy", HEALTHY) is None
