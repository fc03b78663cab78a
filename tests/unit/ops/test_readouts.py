"""Pure pieces of the operator commands and the demo: times, run detection, status summaries."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from drsyncer.demo.progress import run_finished, stage_of
from drsyncer.demo.summary import summarize
from drsyncer.ops.status import ago, due, has_problem, phase_of, reason
from drsyncer.ops.sync_now import answered, stage, trigger_value

NOW = datetime(2026, 1, 2, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "-"),
        ("", "-"),
        ("not a time", "-"),
        ("2026-01-02T11:59:30Z", "30s ago"),
        ("2026-01-02T11:57:00Z", "3m ago"),
        ("2026-01-02T09:00:00Z", "3h ago"),
        ("2025-12-28T12:00:00Z", "5d ago"),
    ],
)
def test_ago(value: str | None, expected: str) -> None:
    assert ago(value, NOW) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "-"),
        ("2026-01-02T12:00:20Z", "in 20s"),
        ("2026-01-02T12:10:30Z", "in 10m"),
        ("2026-01-02T11:59:30Z", "due"),
        # a minute or more past: the run waits in the queue or is still running, and says how late
        ("2026-01-02T11:59:00Z", "overdue 60s"),
        ("2026-01-02T11:52:00Z", "overdue 8m"),
    ],
)
def test_due(value: str | None, expected: str) -> None:
    assert due(value, NOW) == expected


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ({"spec": {}}, "Pending"),
        ({"spec": {"paused": True}}, "Paused"),
        ({"spec": {}, "status": {"phase": "Running"}}, "Running"),
    ],
)
def test_phase_of(obj: dict, expected: str) -> None:
    assert phase_of(obj) == expected


def _repl(phase: str | None, last: str | None, annotations: dict | None = None) -> dict:
    status = {k: v for k, v in (("phase", phase), ("lastSyncTime", last)) if v}
    return {"metadata": {"annotations": annotations or {}}, "spec": {}, "status": status}


def _answered(phase: str | None, request: str | None) -> dict:
    status = {"phase": phase, "lastSyncTime": "2026-01-02T12:00:05Z"}
    return {"metadata": {}, "spec": {}, "status": status | ({"lastSyncRequest": request} if request else {})}


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (_answered("Completed", "2026-01-02T12:00:00Z"), True),
        (_answered("Failed", "2026-01-02T12:00:00Z"), True),
        (_answered("Completed", "2026-01-02T12:00:07Z"), True),  # a later request, taken in its place
        # a run that ended after the request but answered an earlier one (or none: it was under way)
        (_answered("Completed", "2026-01-02T11:59:00Z"), False),
        (_answered("Completed", None), False),
        (_answered("Running", "2026-01-02T12:00:00Z"), False),  # the next run has begun
    ],
)
def test_sync_now_waits_for_the_run_that_answers_its_request(obj: dict, expected: bool) -> None:
    assert answered(obj, trigger_value(NOW)) is expected


def test_sync_now_stages() -> None:
    assert trigger_value(NOW) == "2026-01-02T12:00:00Z"
    pending = _repl(None, None, {"dr-syncer.io/sync-now": "x"})
    assert stage(pending) == "waiting for the watcher to send the run"
    assert stage({**pending, "spec": {"paused": True}}).startswith("waiting: the Replication is paused")
    assert stage(_repl("Running", None)) == "running"


def test_demo_progress_stages() -> None:
    assert not run_finished(None)
    assert not run_finished(_repl("Running", "2026-01-02T12:00:00Z"))
    assert run_finished(_repl("Failed", "2026-01-02T12:00:00Z"))
    assert stage_of(None).startswith("waiting for the watcher")
    assert stage_of(_repl("Pending", None)).startswith("scheduled")
    assert stage_of(_repl("Completed", "x")) == "run finished: Completed"


def test_summary_adds_up_targets_per_destination_and_keeps_scale_downs() -> None:
    status = {
        "targets": [
            {
                "cluster": "dr1",
                "phase": "Completed",
                "lastSyncDuration": "2s",
                "syncStats": {"created": 3, "unchanged": 1},
            },
            {"cluster": "dr1", "phase": "Completed", "lastSyncDuration": "1m5s", "syncStats": {"created": 2}},
            {
                "cluster": "dr2",
                "phase": "Failed",
                "destinationNamespace": "shop",
                "syncStats": {"failed": 1},
                "lastError": {"message": "destination cluster dr2: unreachable"},
            },
        ],
        "deploymentScales": [{"cluster": "dr1", "namespace": "shop", "name": "web", "originalReplicas": 3}],
    }

    out = summarize(status, ["dr1", "dr2", "dr3"])

    assert out["dr1"].counts == {"created": 5, "updated": 0, "unchanged": 1, "failed": 0}
    assert out["dr1"].duration == "1m5s"
    assert out["dr1"].expected == {"shop/Deployment/web": 3}
    assert out["dr1"].ok
    assert not out["dr2"].ok and out["dr2"].problems == ["shop: destination cluster dr2: unreachable"]
    assert out["dr3"].problems == ["the status has no result for dr3"]


def _replication(phase: str, synced: str, reason: str) -> dict:
    return {
        "spec": {},
        "status": {
            "phase": phase,
            "conditions": [{"type": "Synced", "status": synced, "reason": reason}],
            "lastError": {
                "category": "Retryable",
                "message": "destination cluster dr2: 429 Too Many Requests",
            },
        },
    }


@pytest.mark.parametrize(
    ("obj", "problem"),
    [
        (_replication("PartiallyFailed", "False", "SyncPartiallyFailed"), True),
        # a retry runs after a failed run: the failure still stands until a run completes
        (_replication("Running", "False", "SyncPartiallyFailed"), True),
        (_replication("Running", "False", "RunLost"), True),
        (_replication("Running", "True", "SyncCompleted"), False),
        (_replication("Completed", "True", "SyncCompleted"), False),
    ],
)
def test_a_failed_last_run_is_a_problem_while_the_next_one_runs(obj: dict, problem: bool) -> None:
    assert has_problem(obj) is problem
    if problem and obj["status"]["phase"] == "Running":
        assert reason(obj) == (
            "Retryable: destination cluster dr2: 429 Too Many Requests (the last run's; another is in progress)"
        )
