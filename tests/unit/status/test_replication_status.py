"""A run's Replication status from per-namespace records: sums, phases, conditions, errors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from drsyncer.api.replication import ReplicationStatus, RetryConfig
from drsyncer.errors import Category
from drsyncer.status.replication import (
    REASON_HELD_BACK,
    RETRY_KEY,
    NamespaceRecord,
    RetryPlan,
    event_for,
    plan_retry,
    run_status,
    running_status,
    stale_copies_events,
    summary_of,
)
from drsyncer.sync.result import DeploymentScale, ObjectError, Outcome, Phase, Skip, TargetResult

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _target(
    cluster: str, ns: str, created: int = 0, unchanged: int = 0, failed: int = 0, error: str = ""
) -> TargetResult:
    t = TargetResult(cluster, ns, ns)
    if created:
        t.record("ConfigMap", Outcome.CREATED, created)
    if unchanged:
        t.record("Secret", Outcome.UNCHANGED, unchanged)
    for i in range(failed):
        t.fail(
            "Deployment",
            ObjectError("Deployment", ns, f"d{i}", Category.NON_RETRYABLE, "spec.selector is immutable"),
        )
    if error:
        t.error, t.error_category = error, Category.RETRYABLE
    return t.finish(1.5)


def _record(ns: str, *targets: TargetResult, start: float = 100.0) -> NamespaceRecord:
    return NamespaceRecord(ns, list(targets), start, start + 2, worker="w1@h", task_id="t", run_id="r")


def _status(records: list[NamespaceRecord], previous: dict[str, Any] | None = None) -> dict[str, Any]:
    return run_status(
        records,
        replication="dr-system/web",
        previous=previous or {},
        generation=3,
        now=NOW,
        started_at=NOW.timestamp() - 90,
        next_sync=datetime(2026, 1, 2, 3, 9, tzinfo=UTC),
    )


def _condition(status: dict[str, Any], type_: str) -> dict[str, Any]:
    return next(c for c in status["conditions"] if c["type"] == type_)


def test_counts_are_the_sum_of_every_namespace_and_destination() -> None:
    records = [
        _record(
            f"ns{i}", _target("dr1", f"ns{i}", created=i, unchanged=1), _target("dr2", f"ns{i}", created=i)
        )
        for i in range(1, 6)
    ]
    status = _status(records)
    assert status["syncStats"]["created"] == 2 * (1 + 2 + 3 + 4 + 5)
    assert status["syncStats"]["unchanged"] == 5
    assert status["syncStats"]["total"] == 2 * 15 + 5
    assert len(status["targets"]) == 10
    assert {g["groupKind"]: g["created"] for g in status["resourceGroups"]} == {"ConfigMap": 30, "Secret": 0}
    ReplicationStatus.model_validate(status)  # every field is one the CRD declares


def test_completed_run_sets_times_conditions_and_clears_the_last_error() -> None:
    status = _status(
        [_record("web", _target("dr1", "web", created=2))],
        previous={"lastError": {"message": "old"}, "phase": "Running"},
    )
    assert status["phase"] == "Completed"
    assert status["lastSyncTime"] == "2026-01-02T03:04:05Z" == status["lastSuccessfulSyncTime"]
    assert status["nextSyncTime"] == "2026-01-02T03:09:00Z"
    assert status["lastSyncDuration"] == "1m30s"
    assert status["lastError"] is None and status["observedGeneration"] == 3
    assert _condition(status, "Synced")["status"] == "True"
    assert _condition(status, "Ready")["reason"] == "SyncCompleted"


def test_unreachable_destination_fails_its_target_only_and_keeps_the_last_success_time() -> None:
    previous = {
        "lastSuccessfulSyncTime": "2026-01-01T00:00:00Z",
        "conditions": [{"type": "InvalidSpec", "status": "False", "reason": "SpecValid"}],
    }
    down = _target("dr2", "web", error="destination cluster dr2: cannot connect")
    status = _status([_record("web", _target("dr1", "web", created=2), down)], previous)
    assert status["phase"] == "PartiallyFailed"
    assert {t["cluster"]: t["phase"] for t in status["targets"]} == {"dr1": "Completed", "dr2": "Failed"}
    assert status["lastError"]["cluster"] == "dr2" and "cannot connect" in status["lastError"]["message"]
    assert status["errorCategories"] == [
        {"category": "Retryable", "count": 1, "lastOccurred": "1970-01-01T00:01:42Z"}
    ]
    assert status["lastSuccessfulSyncTime"] == "2026-01-01T00:00:00Z"
    assert _condition(status, "Synced")["status"] == "False"
    assert _condition(status, "InvalidSpec")["status"] == "False"  # the watcher's condition is kept


def test_every_target_failed_is_failed_with_object_errors_named() -> None:
    status = _status([_record("web", _target("dr1", "web", failed=2))])
    assert status["phase"] == "Failed"
    assert status["lastError"]["resource"] == "Deployment/web/d0"
    # shown alone by `drsyncer status`, the message names the object as the Event and the log do,
    # and the others that failed with it
    shown = "Deployment web/d0: spec.selector is immutable (and 1 more failed object: Deployment web/d1)"
    assert status["lastError"]["message"] == shown
    assert status["targets"][0]["lastError"]["message"] == shown
    assert status["errorCategories"][0]["count"] == 2


def test_deployment_scales_name_their_cluster() -> None:
    target = _target("dr1", "web", created=1)
    target.deployment_scales.append(DeploymentScale("Deployment", "web", "api", 3, 0))
    scales = _status([_record("web", target)])["deploymentScales"]
    assert scales == [
        {
            "cluster": "dr1",
            "namespace": "web",
            "kind": "Deployment",
            "name": "api",
            "originalReplicas": 3,
            "lastSyncedAt": "1970-01-01T00:01:42Z",
        }
    ]


def test_records_round_trip_through_json() -> None:
    record = _record("web", _target("dr1", "web", created=2, failed=1))
    assert NamespaceRecord.from_dict(record.to_dict()).to_dict() == record.to_dict()


def test_running_is_written_once() -> None:
    assert running_status({}, 2) == {"phase": "Running", "observedGeneration": 2}
    assert running_status({"phase": "Running"}, 2) is None


def test_events_say_completed_or_failed_with_the_first_error() -> None:
    ok = summary_of("dr-system/web", [_record("web", _target("dr1", "web", created=1))])
    assert event_for(ok)[:2] == ("SyncCompleted", "Normal")
    bad = summary_of("dr-system/web", [_record("web", _target("dr1", "web", error="dr1: cannot connect"))])
    reason, type_, message = event_for(bad)
    assert (reason, type_) == ("SyncFailed", "Warning") and "cannot connect" in message
    assert bad.phase is Phase.FAILED


def test_retries_follow_retry_config_for_retryable_failures_only() -> None:
    config = RetryConfig(maxRetries=2, initialBackoff="5s", maxBackoff="8s")
    down = [_target("dr1", "web", error="dr1: cannot connect")]
    first = plan_retry(config, down, 0, 1000.0)
    assert first == RetryPlan(attempt=1, delay_s=5.0, remaining=1, at=1005.0)
    assert plan_retry(config, down, 1, 1000.0) == RetryPlan(2, 8.0, 0, 1008.0)  # capped at maxBackoff
    assert plan_retry(config, down, 2, 1000.0) is None  # used up
    assert plan_retry(config, [_target("dr1", "web", failed=1)], 0, 1000.0) is None  # NonRetryable
    assert plan_retry(config, down, 0, 1000.0, max_delay_s=2) == RetryPlan(1, 2.0, 1, 1002.0)


def test_status_shows_the_retry_still_ahead_and_clears_it_after() -> None:
    record = _record("web", _target("dr1", "web", error="dr1: cannot connect"))
    record.extra[RETRY_KEY] = RetryPlan(1, 5.0, 4, NOW.timestamp() + 5).to_dict()
    status = _status([record])
    assert status["retryStatus"] == {
        "nextRetryTime": "2026-01-02T03:04:10Z",
        "retriesRemaining": 4,
        "backoffDuration": "5s",
    }
    assert _status([_record("web", _target("dr1", "web", created=1))])["retryStatus"] is None


def test_resource_groups_are_named_kind_and_group() -> None:
    target = _target("dr1", "web", created=1)
    target.record("Deployment", Outcome.UPDATED)
    target.record("Widget.example.com", Outcome.CREATED)
    groups = {g["groupKind"] for g in _status([_record("web", target)])["resourceGroups"]}
    assert groups == {"ConfigMap", "Deployment.apps", "Widget.example.com"}


def test_held_back_copies_are_counted_and_turn_up_to_date_false_while_the_run_completes() -> None:
    held = TargetResult("dr1", "shop", "shop")
    held.record("ConfigMap", Outcome.UNCHANGED)
    held.skip(
        Skip(
            "RoleBinding",
            "shop",
            "app-access",
            "held back: immutable field(s) roleRef changed",
            True,
            ("roleRef",),
        )
    )
    held.skip(Skip("ConfigMap", "shop", "kube-root-ca.crt", "created by every cluster"))
    records = [_record("shop", held.finish(1.0))]

    status = _status(records)

    assert status["phase"] == "Completed"
    assert status["syncStats"]["heldBack"] == 1 and status["syncStats"]["skipped"] == 2
    assert status["targets"][0]["syncStats"]["heldBack"] == 1
    up_to_date = _condition(status, "UpToDate")
    assert up_to_date["status"] == "False" and up_to_date["reason"] == REASON_HELD_BACK
    assert "dr1: RoleBinding shop/app-access (roleRef)" in up_to_date["message"]
    assert ReplicationStatus.model_validate(status).sync_stats.held_back == 1
    (event,) = stale_copies_events(summary_of("dr-system/web", records))
    assert event is not None and event[:2] == (REASON_HELD_BACK, "Warning")
    # records travel through Redis as JSON: the reasons survive
    (again,) = NamespaceRecord.from_dict(records[0].to_dict()).targets
    assert again.skips == held.skips and again.totals.held_back == 1

    clean = _status([_record("shop", _target("dr1", "shop", unchanged=1))], previous=status)
    assert _condition(clean, "UpToDate")["status"] == "True" and clean["syncStats"]["heldBack"] == 0
    assert stale_copies_events(summary_of("dr-system/web", [_record("shop", _target("dr1", "shop"))])) == []


def test_a_run_ending_after_the_replication_was_paused_records_its_outcome_and_keeps_it_paused() -> None:
    records = [_record("shop", _target("dr1", "shop"))]
    status = run_status(
        records,
        replication="dr-system/web",
        previous={},
        generation=3,
        now=NOW,
        next_sync=datetime(2026, 1, 2, 3, 9, tzinfo=UTC),
        paused=True,
    )
    assert status["phase"] == "Paused" and status["nextSyncTime"] is None
    ready = _condition(status, "Ready")
    assert (ready["status"], ready["reason"], ready["message"]) == ("False", "Paused", "spec.paused is true")
    # what the run did is still recorded
    assert _condition(status, "Synced")["status"] == "True" and status["lastSyncTime"]
    assert status["targets"][0]["phase"] == "Completed"


def test_objects_left_alone_for_an_ownership_conflict_turn_up_to_date_false_and_warn() -> None:
    target = TargetResult("dr1", "shop", "shop")
    target.record("ConfigMap", Outcome.CREATED)
    reason = "conflict: the destination object is managed by Replication dr-system/shop"
    target.skip(Skip("ConfigMap", "shop", "settings", reason))
    records = [_record("shop", target.finish(1.0))]

    status = _status(records)

    assert status["phase"] == "Completed"  # the run did all it may; the conflict is not a failure
    up_to_date = _condition(status, "UpToDate")
    assert up_to_date["status"] == "False" and up_to_date["reason"] == "OwnershipConflicts"
    assert (
        "1 destination object is not this Replication's and was not written: dr1: ConfigMap shop/settings "
        "(the destination object is managed by Replication dr-system/shop)"
    ) in up_to_date["message"]
    (event,) = stale_copies_events(summary_of("dr-system/web", records))
    assert event[:2] == ("OwnershipConflicts", "Warning") and "shop/settings" in event[2]
