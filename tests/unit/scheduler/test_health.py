"""RemoteCluster status from a health check."""

from __future__ import annotations

from datetime import UTC, datetime

from drsyncer.errors import Category
from drsyncer.kube.health import ClusterCheck, ConditionResult
from scheduler.health import health_status

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
LATER = datetime(2026, 1, 1, 12, 5, tzinfo=UTC)
OK = ClusterCheck(tuple(ConditionResult(t, "True", "Checked", "") for t in
                        ("KubeconfigAvailable", "KubeconfigValid", "ClusterAvailable")),
                  "v1.30.0", "reachable, Kubernetes v1.30.0", None)
DOWN = ClusterCheck((ConditionResult("KubeconfigAvailable", "True", "Checked", ""),
                     ConditionResult("KubeconfigValid", "True", "Checked", ""),
                     ConditionResult("ClusterAvailable", "False", "ConnectionError", "cannot connect")),
                    None, "cannot connect", Category.RETRYABLE)


def test_healthy_cluster_status() -> None:
    status = health_status({"metadata": {"generation": 2}}, OK, NOW)
    assert status["health"] == "Healthy" and status["serverVersion"] == "v1.30.0"
    assert status["lastCheckTime"] == "2026-01-01T12:00:00Z" and status["observedGeneration"] == 2
    assert {c["type"]: c["status"] for c in status["conditions"]} == dict.fromkeys(
        ("KubeconfigAvailable", "KubeconfigValid", "ClusterAvailable"), "True")


def test_condition_times_move_only_when_the_status_changes() -> None:
    first = health_status({"metadata": {}}, OK, NOW)
    again = health_status({"metadata": {}, "status": first}, DOWN, LATER)
    times = {c["type"]: c["lastTransitionTime"] for c in again["conditions"]}
    assert times["KubeconfigValid"].startswith("2026-01-01T12:00")
    assert times["ClusterAvailable"].startswith("2026-01-01T12:05")
    assert again["health"] == "Unhealthy" and again["message"] == "cannot connect"
    assert "serverVersion" not in again
