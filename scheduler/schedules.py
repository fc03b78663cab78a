"""A Replication's schedule text (5-field cron, `@hourly`-style macro, `@every <duration>`) as the
Celery schedule object redbeat stores and beat evaluates."""

from __future__ import annotations

from celery.schedules import ParseException, crontab, schedule

from drsyncer.api.schedule import MACROS, check_schedule, every_interval

# cron fields of each macro: minute, hour, day of month, month, day of week
_MACRO_FIELDS: dict[str, tuple[str, str, str, str, str]] = {
    "@yearly": ("0", "0", "1", "1", "*"),
    "@annually": ("0", "0", "1", "1", "*"),
    "@monthly": ("0", "0", "1", "*", "*"),
    "@weekly": ("0", "0", "*", "*", "0"),
    "@daily": ("0", "0", "*", "*", "*"),
    "@midnight": ("0", "0", "*", "*", "*"),
    "@hourly": ("0", "*", "*", "*", "*"),
}
assert set(_MACRO_FIELDS) == set(MACROS)


def celery_schedule(text: str) -> schedule:
    """`@every 10s` → an interval schedule, anything else → a crontab (in the app's time zone, UTC).

    Raises ValueError for text that is not a valid schedule, or a cron that Celery cannot express.
    """
    check_schedule(text)
    interval = every_interval(text)
    if interval is not None:
        return schedule(run_every=interval)
    stripped = text.strip()
    minute, hour, day_of_month, month, day_of_week = _MACRO_FIELDS.get(stripped) or stripped.split()
    try:
        return crontab(
            minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month, day_of_week=day_of_week
        )
    except (ValueError, ParseException) as exc:
        raise ValueError(f'"{text}" cannot be scheduled: {exc}') from None
