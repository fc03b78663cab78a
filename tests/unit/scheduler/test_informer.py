"""The informer's pure parts: reconnect backoff and which copy of an object is newer."""

from __future__ import annotations

import pytest

from scheduler.informer import MAX_BACKOFF_S, MIN_BACKOFF_S, backoff_delay, newer_or_equal


@pytest.mark.parametrize(("failures", "low", "high"), [
    (1, MIN_BACKOFF_S / 2, MIN_BACKOFF_S),
    (2, MIN_BACKOFF_S, 2 * MIN_BACKOFF_S),
    (30, MAX_BACKOFF_S / 2, MAX_BACKOFF_S),
])
def test_backoff_grows_and_is_bounded(failures: int, low: float, high: float) -> None:
    assert backoff_delay(failures, 0.0) == pytest.approx(low)
    assert backoff_delay(failures, 1.0) == pytest.approx(high)


def _obj(rv: str) -> dict[str, object]:
    return {"metadata": {"resourceVersion": rv}}


@pytest.mark.parametrize(("candidate", "current", "expected"), [
    ("10", None, True),
    ("10", "9", True),
    ("10", "10", True),
    ("9", "10", False),
    ("abc", "10", True),  # not numbers: the later arrival wins
])
def test_newer_or_equal(candidate: str, current: str | None, expected: bool) -> None:
    assert newer_or_equal(_obj(candidate), _obj(current) if current else None) is expected
