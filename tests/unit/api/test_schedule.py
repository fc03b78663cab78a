"""Schedules and durations."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from croniter import croniter

from drsyncer.api.durations import format_duration, parse_duration
from drsyncer.api.schedule import (
    check_schedule,
    either_day,
    every_interval,
    interval_offset,
    interval_run_slot,
    interval_slot,
    next_run,
)

T0 = datetime(2026, 1, 1, 10, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("5m", timedelta(minutes=5)),
        ("1h30m", timedelta(minutes=90)),
        ("1h0m15s", timedelta(hours=1, seconds=15)),
        ("90s", timedelta(seconds=90)),
    ],
)
def test_go_style_durations_parse(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "1d", "5", "1.5h", "m", "30s5m", "-5s", "0s", " "])
def test_malformed_or_zero_durations_are_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.4, "0s"), (59, "59s"), (90, "1m30s"), (3600, "1h"), (3725, "1h2m5s")]
)
def test_durations_format_the_go_way(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("*/5 * * * *", datetime(2026, 1, 1, 10, 5, tzinfo=UTC)),
        ("0 * * * *", datetime(2026, 1, 1, 11, 0, tzinfo=UTC)),
        ("@hourly", datetime(2026, 1, 1, 11, 0, tzinfo=UTC)),
        ("@every 30s", datetime(2026, 1, 1, 10, 2, 30, tzinfo=UTC)),
        ("@every 1m30s", datetime(2026, 1, 1, 10, 3, 30, tzinfo=UTC)),
    ],
)
def test_next_run_follows_cron_and_every(schedule: str, expected: datetime) -> None:
    check_schedule(schedule)
    assert next_run(schedule, T0) == expected


@pytest.mark.parametrize(
    ("schedule", "either", "days"),
    [
        # both restricted: a day matching either field (1 May 2026 is a Friday)
        ("0 0 1 * MON", True, ["Fri 01 May", "Mon 04 May", "Mon 11 May", "Mon 18 May", "Mon 25 May"]),
        ("0 0 */2 * MON", True, ["Fri 01 May", "Sun 03 May", "Mon 04 May", "Tue 05 May", "Thu 07 May"]),
        # `*` or `*/1` leaves the day to the other field, as robfig/cron reads it: Mondays only, the
        # 1st only
        ("0 0 */1 * MON", False, ["Mon 04 May", "Mon 11 May", "Mon 18 May", "Mon 25 May", "Mon 01 Jun"]),
        ("0 0 1 * */1", False, ["Fri 01 May", "Mon 01 Jun", "Wed 01 Jul", "Sat 01 Aug", "Tue 01 Sep"]),
    ],
)
def test_day_fields_combine_as_robfig_cron_does(schedule: str, either: bool, days: list[str]) -> None:
    check_schedule(schedule)
    assert either_day(schedule) is either
    at, seen = datetime(2026, 4, 30, tzinfo=UTC), []
    for _ in days:
        at = next_run(schedule, at)
        seen.append(at.strftime("%a %d %b"))
    assert seen == days


def test_every_interval_is_none_for_cron() -> None:
    assert every_interval("*/5 * * * *") is None
    assert every_interval("@every 2h") == timedelta(hours=2)


@pytest.mark.parametrize("schedule", ["@everyday", "@every", "@every 1 hour", "* * * * * *", "@reboot", ""])
def test_invalid_schedules_are_rejected(schedule: str) -> None:
    with pytest.raises(ValueError):
        check_schedule(schedule)


@pytest.mark.parametrize(
    "schedule",
    ["0 0 * * 0", "0 0 * * 5-6", "0 0 * * MON-FRI", "0 9-17/2 * * *", "0 0 1 JAN-MAR *", "5-5 * * * *"],
)
def test_ranges_written_from_low_to_high_are_accepted(schedule: str) -> None:
    assert check_schedule(schedule) == schedule


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("0 0 * * 7", 'day of week "7": 0-6 or SUN-SAT, Sunday is 0'),
        ("0 0 * * 5-7", 'day of week "5-7": 0-6 or SUN-SAT, Sunday is 0'),
        ("0 0 L * *", 'day of month "L": only numbers, names, ranges, lists and steps (1-31)'),
        ("0 0 1W * *", 'day of month "1W": only numbers, names, ranges, lists and steps (1-31)'),
        ("0 0 * * 1#2", 'day of week "1#2": only numbers, names, ranges, lists and steps (0-6 or SUN-SAT)'),
        ("0 0 ? * *", 'day of month "?": only numbers, names, ranges, lists and steps (1-31)'),
    ],
)
def test_what_croniter_adds_to_cron_is_refused_naming_the_field(schedule: str, message: str) -> None:
    # croniter reads 7 as Sunday and knows L, W, # and ?; robfig/cron (the Go operator, CronJob) and
    # Celery's crontab (what beat runs) do not
    with pytest.raises(ValueError, match=re.escape(message)):
        check_schedule(schedule)


# (schedule, its wrapped field as quoted, the ranges it means, whether croniter reads it the same:
# its reading of a stepped wrap is one off past the turn, so it is no reference for those)
WRAPPED = [
    ("0 22-2 * * *", 'hour "22-2"', "22-23,0-2", True),
    ("50-10 * * * *", 'minute "50-10"', "50-59,0-10", True),
    ("0 0 25-5 * *", 'day of month "25-5"', "25-31,1-5", True),
    ("0 0 1 NOV-FEB *", 'month "NOV-FEB"', "NOV-DEC,JAN-FEB", True),
    ("0 0 1 11-2 *", 'month "11-2"', "11-12,1-2", True),
    ("0 0 * * FRI-MON", 'day of week "FRI-MON"', "FRI-SAT,SUN-MON", True),
    ("0 0 * * fri-mon", 'day of week "fri-mon"', "fri-sat,sun-mon", True),
    ("0 0 * * SAT-SUN", 'day of week "SAT-SUN"', "SAT,SUN", True),
    ("0 0 * * 6-0", 'day of week "6-0"', "6,0", True),
    # a step carries on across the turn
    ("50-10/5 * * * *", 'minute "50-10/5"', "50-59/5,0-10/5", False),
    ("0 22-2/2 * * *", 'hour "22-2/2"', "22,0-2/2", False),  # 22, 0, 2
    ("0 22-2/3 * * *", 'hour "22-2/3"', "22,1", False),
    ("50-10/7 * * * *", 'minute "50-10/7"', "50-59/7,4", False),  # 50, 57, 4
]


@pytest.mark.parametrize(("schedule", "wrapped", "split", "croniter_agrees"), WRAPPED)
def test_a_range_that_wraps_round_is_refused_with_the_ranges_it_means(
    schedule: str, wrapped: str, split: str, croniter_agrees: bool
) -> None:
    # robfig/cron (the Go operator, a CronJob) refuses `22-2`; croniter reads it as wrapping round,
    # and the advice is what it would have meant, not the whole field (`0-23`)
    with pytest.raises(ValueError) as err:
        check_schedule(schedule)
    assert f'{wrapped} starts after it ends (a range cannot wrap round: write "{split}")' in str(err.value)
    fixed = schedule.replace(wrapped.split('"')[1], split)
    assert check_schedule(fixed) == fixed
    at_wrapped = at_fixed = datetime(2026, 1, 1, tzinfo=UTC)
    for _ in range(40 if croniter_agrees else 0):
        at_wrapped = croniter(schedule, at_wrapped).get_next(datetime)
        at_fixed = next_run(fixed, at_fixed)
        assert at_fixed == at_wrapped


# -- interval schedules on a grid of their own ------------------------------------------------------

MINUTE = timedelta(seconds=60)


@pytest.mark.parametrize("key", ["Replication/dr-system/app", "NamespaceMapping/dr-system/legacy", "x"])
def test_an_interval_slot_is_the_latest_grid_start_at_or_before_the_time(key: str) -> None:
    slot = interval_slot(key, MINUTE, T0)
    assert slot <= T0 < slot + MINUTE
    # every moment of the same period maps to the same slot; the next period to the next one
    assert interval_slot(key, MINUTE, slot) == slot
    assert interval_slot(key, MINUTE, slot + MINUTE - timedelta(microseconds=1)) == slot
    assert interval_slot(key, MINUTE, slot + MINUTE) == slot + MINUTE
    assert interval_slot(key, MINUTE, slot - timedelta(microseconds=1)) == slot - MINUTE


def test_a_run_sent_late_does_not_push_the_next_one() -> None:
    key = "Replication/dr-system/app"
    due = next_run("@every 60s", T0, key)
    late = due + timedelta(seconds=9)  # beat sent it 9 s late
    assert next_run("@every 60s", late, key) == due + MINUTE


def test_owners_with_the_same_interval_fall_due_spread_across_it() -> None:
    offsets = sorted(interval_offset(f"Replication/ns/app-{i}", MINUTE).total_seconds() for i in range(600))
    assert all(0 <= o < 60 for o in offsets)
    # ten equal buckets of 6 s hold 60 each on average; none is empty or holds a wave
    buckets = [sum(1 for o in offsets if 6 * b <= o < 6 * (b + 1)) for b in range(10)]
    assert min(buckets) > 30 and max(buckets) < 90, buckets


def test_the_grid_is_the_same_for_every_process_and_naive_times_read_as_utc() -> None:
    key = "Replication/dr-system/app"
    assert interval_offset(key, MINUTE) == interval_offset(key, MINUTE)
    naive = T0.replace(tzinfo=None)
    assert interval_slot(key, MINUTE, naive) == interval_slot(key, MINUTE, T0).replace(tzinfo=None)


def test_next_run_without_an_owner_counts_from_the_time_given() -> None:
    assert next_run("@every 60s", T0) == T0 + MINUTE


@pytest.mark.parametrize("late_s", [0, 5, 29, 31, 59])
def test_runs_never_come_sooner_than_half_an_interval_apart(late_s: int) -> None:
    key = "Replication/dr-system/app"
    due = next_run("@every 60s", T0, key)
    sent = due + timedelta(seconds=late_s)  # beat sent it this late (down, restarted)
    following = interval_run_slot(key, MINUTE, sent) + MINUTE
    assert following - sent >= MINUTE / 2
    assert following - sent <= MINUTE * 1.5
    # a run sent less than half an interval late stands for the slot it was due at
    if late_s < 30:
        assert following == due + MINUTE
