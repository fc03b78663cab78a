"""The Lease election policy, as a pure function of the Lease read and what was seen before."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from scheduler.leader import Action, Observed, Record, decide

HELD = Record(holder="b", duration_s=15, renew_time="t1", transitions=0)


@pytest.mark.parametrize(
    ("current", "observed", "now", "action"),
    [
        (None, None, 0.0, Action.CREATE),
        (Record("a", 15, "t1", 0), None, 0.0, Action.RENEW),
        (Record("", 1, "t1", 3), Observed(Record("", 1, "t1", 3), 0.0), 0.0, Action.TAKE_OVER),
        # first sight of someone else's Lease: it may be fresh, so wait a whole duration
        (HELD, None, 100.0, Action.WAIT),
        # renewed since last seen: its holder is alive
        (HELD, Observed(Record("b", 15, "t0", 0), 0.0), 100.0, Action.WAIT),
        # unchanged, but for less than the duration
        (HELD, Observed(HELD, 90.0), 104.9, Action.WAIT),
        # unchanged for the whole duration: expired
        (HELD, Observed(HELD, 90.0), 105.0, Action.TAKE_OVER),
    ],
)
def test_decide(current: Record | None, observed: Observed | None, now: float, action: Action) -> None:
    assert decide(current, "a", observed, now) is action


def test_record_reads_a_lease() -> None:
    lease = {
        "spec": {"holderIdentity": "x", "leaseDurationSeconds": 15, "renewTime": "r", "leaseTransitions": 2}
    }
    assert Record.from_lease(lease) == Record("x", 15.0, "r", 2)
    assert Record.from_lease({}) == Record("", 0.0, "", 0)


RENEWED = Record(holder="b", duration_s=15, renew_time="2026-01-01T10:00:00.000000Z", transitions=0)


@pytest.mark.parametrize(
    ("wall", "observed", "action"),
    [
        # first sight, and the Lease's own renewTime is a whole duration old: the holder is gone
        ("2026-01-01T10:00:15Z", None, Action.TAKE_OVER),
        ("2026-01-01T10:00:14.9Z", None, Action.WAIT),
        # just renewed by its clock, even if we saw this record long ago: keep waiting on renewTime
        ("2026-01-01T10:00:05Z", Observed(RENEWED, 0.0), Action.WAIT),
    ],
)
def test_decide_by_the_lease_renew_time(wall: str, observed: Observed | None, action: Action) -> None:
    now = datetime.fromisoformat(wall.replace("Z", "+00:00"))
    assert decide(RENEWED, "a", observed, 10.0, now) is action


def test_a_renew_time_that_cannot_be_read_falls_back_to_observed_time() -> None:
    wall = datetime(2030, 1, 1, tzinfo=UTC)
    assert decide(HELD, "a", Observed(HELD, 90.0), 95.0, wall) is Action.WAIT
    assert decide(HELD, "a", Observed(HELD, 90.0), 105.0, wall) is Action.TAKE_OVER
