"""Schedules and durations."""

from datetime import UTC, datetime, timedelta

import pytest

from drsyncer.api.durations import format_duration, parse_duration
from drsyncer.api.schedule import check_schedule, every_interval, next_run

T0 = datetime(2026, 1, 1, 10, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "expected"), [
    ("30s", timedelta(seconds=30)),
    ("5m", timedelta(minutes=5)),
    ("1h30m", timedelta(minutes=90)),
    ("1h0m15s", timedelta(hours=1, seconds=15)),
    ("90s", timedelta(seconds=90)),
])
def test_go_style_durations_parse(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "1d", "5", "1.5h", "m", "30s5m", "-5s", "0s", " "])
def test_malformed_or_zero_durations_are_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(("seconds", "text"), [(0.4, "0s"), (59, "59s"), (90, "1m30s"), (3600, "1h"),
                                               (3725, "1h2m5s")])
def test_durations_format_the_go_way(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(("schedule", "expected"), [
    ("*/5 * * * *", datetime(2026, 1, 1, 10, 5, tzinfo=UTC)),
    ("0 * * * *", datetime(2026, 1, 1, 11, 0, tzinfo=UTC)),
    ("@hourly", datetime(2026, 1, 1, 11, 0, tzinfo=UTC)),
    ("@every 30s", datetime(2026, 1, 1, 10, 2, 30, tzinfo=UTC)),
    ("@every 1m30s", datetime(2026, 1, 1, 10, 3, 30, tzinfo=UTC)),
])
def test_next_run_follows_cron_and_every(schedule: str, expected: datetime) -> None:
    check_schedule(schedule)
    assert next_run(schedule, T0) == expected


def test_every_interval_is_none_for_cron() -> None:
    assert every_interval("*/5 * * * *") is None
    assert every_interval("@every 2h") == timedelta(hours=2)


@pytest.mark.parametrize("schedule", ["@everyday", "@every", "@every 1 hour", "* * * * * *", "@reboot", ""])
def test_invalid_schedules_are_rejected(schedule: str) -> None:
    with pytest.raises(ValueError):
        check_schedule(schedule)
