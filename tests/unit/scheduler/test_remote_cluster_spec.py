"""The InvalidSpec condition the watcher keeps on RemoteClusters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from scheduler.remote_cluster_spec import spec_errors, spec_patch
from tests.unit.api.builders import remote_cluster_dict

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
HEALTH = {
    "type": "ClusterAvailable",
    "status": "True",
    "reason": "Checked",
    "message": "",
    "lastTransitionTime": "2026-11-29T11:00:00Z",
}


def _with_status(obj: dict[str, Any], *conditions: dict[str, Any]) -> dict[str, Any]:
    return {**obj, "status": {"conditions": list(conditions)}}


def test_an_invalid_spec_sets_invalid_spec_naming_the_field_and_keeps_the_health_conditions() -> None:
    obj = _with_status(remote_cluster_dict(rateLimit={"qps": -1}), HEALTH)
    errors = spec_errors(obj)
    assert errors and errors[0].startswith("spec.rateLimit.qps")
    patch = spec_patch(obj, errors, NOW)
    assert patch is not None and patch["health"] == "Unhealthy"
    by_type = {c["type"]: c for c in patch["conditions"]}
    assert by_type["InvalidSpec"]["status"] == "True"
    assert "spec.rateLimit.qps" in by_type["InvalidSpec"]["message"]
    assert by_type["ClusterAvailable"] == HEALTH
    assert spec_patch({**obj, "status": patch}, errors, NOW) is None  # written once, not every reconcile


def test_a_fixed_spec_clears_invalid_spec_and_a_never_invalid_one_is_not_written() -> None:
    broken = remote_cluster_dict(rateLimit={"qps": -1})
    marked = {**broken, "status": spec_patch(broken, spec_errors(broken), NOW)}
    fixed = {**marked, "spec": remote_cluster_dict()["spec"]}
    assert spec_errors(fixed) == []
    patch = spec_patch(fixed, [], NOW)
    assert patch is not None
    assert {c["type"]: c["status"] for c in patch["conditions"]}["InvalidSpec"] == "False"
    assert spec_patch(remote_cluster_dict(), [], NOW) is None
