"""RemoteCluster status after a check, and Events: values only, nothing secret."""

from __future__ import annotations

from datetime import UTC, datetime

from drsyncer.kube.health import ClusterCheck, ConditionResult
from drsyncer.status.events import event, repeat
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


def test_an_event_is_named_by_its_object_reason_type_and_component_so_repeats_share_it() -> None:
    involved = {
        "apiVersion": "dr-syncer.io/v1alpha1",
        "kind": "Replication",
        "namespace": "dr-system",
        "name": "web",
        "uid": "u1",
    }
    one = event(involved, "SyncStarted", "sync started (schedule)", now=NOW, instance="w1@host")
    two = event(involved, "SyncStarted", "sync started (sync-now)", now=NOW, instance="w2@host")
    assert one["metadata"]["name"] == two["metadata"]["name"] and one["metadata"]["name"].startswith("web.")
    others = [
        event(involved, "SyncStarted", "m", now=NOW, series="sync-now"),
        event({**involved, "uid": "u2"}, "SyncStarted", "m", now=NOW),  # the same name, another object
        event(involved, "SyncCompleted", "m", now=NOW),
        event(involved, "SyncStarted", "m", type_="Warning", now=NOW),
        event(involved, "SyncStarted", "m", now=NOW, component="drsyncer-watcher"),
    ]
    assert len({one["metadata"]["name"], *(e["metadata"]["name"] for e in others)}) == 6
    assert len(event({**involved, "name": "x" * 300}, "SyncStarted", "m", now=NOW)["metadata"]["name"]) == 253
    assert one["metadata"]["namespace"] == "dr-system" and one["involvedObject"] == involved
    assert one["type"] == "Normal" and one["count"] == 1 and one["firstTimestamp"] == "2026-01-02T03:04:05Z"
    assert len(event(involved, "SyncFailed", "x" * 5000, type_="Warning", now=NOW)["message"]) == 1024


def test_a_repeat_counts_on_the_event_as_read_and_moves_its_latest_fields_on() -> None:
    involved = {"apiVersion": "v1", "kind": "ConfigMap", "namespace": "ns", "name": "web", "uid": "u1"}
    later = event(involved, "SyncCompleted", "run 2", now=NOW.replace(hour=9), instance="w2")
    assert repeat(later, "417", 6) == {
        "metadata": {"resourceVersion": "417"},
        "count": 7,
        "lastTimestamp": "2026-01-02T09:04:05Z",
        "message": "run 2",
        "source": {"component": "drsyncer-worker", "host": "w2"},
        "reportingInstance": "w2",
    }


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
