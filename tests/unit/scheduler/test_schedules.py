"""Schedule text → the Celery schedule beat runs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery.schedules import crontab, schedule
from hypothesis import given
from hypothesis import strategies as st

from drsyncer.api.schedule import check_schedule
from scheduler.schedules import celery_schedule


def test_every_is_an_interval() -> None:
    result = celery_schedule("@every 1m30s")
    assert type(result) is schedule and result.run_every == timedelta(seconds=90)


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        ("*/5 * * * *", ("*/5", "*", "*", "*", "*")),
        ("0 9 * * 1-5", ("0", "9", "*", "*", "1-5")),
        ("@hourly", ("0", "*", "*", "*", "*")),
        ("@daily", ("0", "0", "*", "*", "*")),
        ("@weekly", ("0", "0", "*", "*", "0")),
        ("@yearly", ("0", "0", "1", "1", "*")),
    ],
)
def test_cron_and_macros_are_crontabs(text: str, fields: tuple[str, ...]) -> None:
    minute, hour, dom, month, dow = fields
    assert celery_schedule(text) == crontab(
        minute=minute, hour=hour, day_of_month=dom, month_of_year=month, day_of_week=dow
    )


@pytest.mark.parametrize("text", ["", "every 10s", "@every", "* * * *", "0 0 * * 7"])
def test_unusable_schedules_raise(text: str) -> None:
    with pytest.raises(ValueError):
        celery_schedule(text)


# what people write in cron fields, croniter's extensions and mistakes included
_TOKENS = [
    "*",
    "*/5",
    "0",
    "1",
    "6",
    "7",
    "12",
    "31",
    "59",
    "60",
    "1-5",
    "5-1",
    "0-7",
    "10-5/2",
    "1,15",
    "2/3",
    "L",
    "1W",
    "LW",
    "1#2",
    "?",
    "6L",
    "SUN",
    "sun-sat",
    "MON-FRI",
    "SAT-SUN",
    "JAN-MAR",
    "DEC-JAN",
]


@given(st.lists(st.sampled_from(_TOKENS), min_size=5, max_size=5))
def test_every_cron_drsyncer_validate_accepts_the_watcher_can_schedule(fields: list[str]) -> None:
    # `drsyncer validate` (check_schedule) must not pass a schedule the watcher then refuses
    text = " ".join(fields)
    try:
        check_schedule(text)
    except ValueError:
        return
    celery_schedule(text)
