"""Schedule text → the Celery schedule beat runs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery.schedules import crontab, schedule

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
