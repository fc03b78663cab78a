"""What the watcher exports per Replication for alerts, from the object as read."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from scheduler.entries import read_replication
from scheduler.replication_state import state_of
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
