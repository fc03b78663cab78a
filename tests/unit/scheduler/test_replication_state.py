"""What the watcher exports per Replication for alerts, from the object as read."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from scheduler.entries import ReplicationRead, read_replication
from scheduler.replication_state import StateMemo, state_of
from tests.unit.api.builders import replication_dict

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
READY = {
    "type": "Ready",
    "status": "True",
    "reason": "SyncCompleted",
    "lastTransitionTime": "2026-01-01T11:00:00Z",
}


def _obj(status: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    obj = replication_dict(**spec)
    obj["metadata"]["generation"] = 1
    if status is not None:
        obj["status"] = status
    return obj


@pytest.mark.parametrize(
    ("obj", "phase", "ready", "invalid", "awaiting"),
    [
        (_obj(), "Pending", False, False, True),
        (_obj(schedule="every tuesday"), "Failed", False, True, False),
        (_obj(paused=True), "Paused", False, False, False),
        (_obj(replicationMode="Manual"), "Pending", False, False, False),
        (
            _obj(
                {
                    "phase": "Completed",
                    "lastSyncTime": "2026-01-01T11:00:00Z",
                    "lastSuccessfulSyncTime": "2026-01-01T11:00:00Z",
                    "conditions": [READY],
                }
            ),
            "Completed",
            True,
            False,
            False,
        ),
    ],
)
def test_state_of_a_replication(
    obj: dict[str, Any], phase: str, ready: bool, invalid: bool, awaiting: bool
) -> None:
    state = state_of(read_replication(obj, {}), NOW, matched=True)
    assert (state.phase, state.ready, state.invalid, state.awaiting_first_sync) == (
        phase,
        ready,
        invalid,
        awaiting,
    )


def test_last_success_is_read_from_status() -> None:
    obj = _obj(
        {
            "phase": "Failed",
            "lastSyncTime": "2026-01-01T11:30:00Z",
            "lastSuccessfulSyncTime": "2026-01-01T11:00:00Z",
        }
    )
    assert (
        state_of(read_replication(obj, {}), NOW).last_success
        == datetime(2026, 1, 1, 11, 0, tzinfo=UTC).timestamp()
    )
    assert state_of(read_replication(_obj(), {}), NOW).last_success is None


SYNCED = {
    "phase": "Completed",
    "lastSyncTime": "2026-01-01T11:00:00Z",
    "lastSuccessfulSyncTime": "2026-01-01T11:00:00Z",
    "conditions": [READY],
}


def _with_status(read: ReplicationRead, status: dict[str, Any]) -> ReplicationRead:
    """The same parse with another status, as the watcher sees a worker's status write."""
    return ReplicationRead({**read.obj, "status": status}, read.model, read.errors)


@pytest.mark.parametrize("matched", [True, False, None])
def test_remembered_states_follow_every_status_write_as_state_of_does(matched: bool | None) -> None:
    memo = StateMemo()
    read = read_replication(_obj(), {})
    not_ready = {**READY, "status": "False", "reason": "SyncFailed"}
    writes = [
        {},
        {"phase": "Running"},
        SYNCED,
        {**SYNCED, "lastSyncTime": "2026-01-01T11:01:00Z", "lastSuccessfulSyncTime": "2026-01-01T11:01:00Z"},
        {**SYNCED, "lastSyncTime": "2026-01-01T11:02:00Z", "phase": "Failed", "conditions": [not_ready]},
        {**SYNCED, "lastSuccessfulSyncTime": "2026-01-01T11:03:00Z"},
        {**SYNCED, "conditions": [not_ready]},  # Ready alone moved
        SYNCED,
    ]
    for status in writes:
        seen = _with_status(read, status)
        assert memo.state("web", seen, NOW, matched) == state_of(seen, NOW, matched), status


def test_a_write_that_moves_only_the_sync_times_reuses_the_state_derived_before() -> None:
    memo = StateMemo()
    read = read_replication(_obj(), {})
    first = memo.state("web", _with_status(read, SYNCED), NOW, True)
    again = memo.state(
        "web", _with_status(read, {**SYNCED, "lastSyncTime": "2026-01-01T11:01:00Z"}), NOW, True
    )
    assert again is first
    later = memo.state(
        "web", _with_status(read, {**SYNCED, "lastSuccessfulSyncTime": "2026-01-01T11:01:00Z"}), NOW, True
    )
    assert later.last_success == datetime(2026, 1, 1, 11, 1, tzinfo=UTC).timestamp()
    assert (later.phase, later.ready) == (first.phase, first.ready)


def test_a_new_parse_of_the_spec_derives_the_state_again() -> None:
    memo = StateMemo()
    memo.state("web", _with_status(read_replication(_obj(), {}), SYNCED), NOW, True)
    paused = _with_status(read_replication(_obj(paused=True), {}), SYNCED)
    assert memo.state("web", paused, NOW, True).phase == "Paused"
    memo.forget([])
    assert memo.state("web", paused, NOW, True) == state_of(paused, NOW, True)
