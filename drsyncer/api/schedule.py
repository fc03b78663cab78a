"""Schedules: 5-field cron (checked with croniter), the usual `@daily`-style macros, `@every <duration>`."""

from __future__ import annotations

from datetime import datetime, timedelta

from croniter import croniter

from drsyncer.api.durations import parse_duration

DEFAULT_SCHEDULE = "*/5 * * * *"
MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_EVERY = "@every"


def every_interval(schedule: str) -> timedelta | None:
    """The interval of an `@every <duration>` schedule, None for cron schedules."""
    head, _, rest = schedule.strip().partition(" ")
    if head != _EVERY:
        return None
    return parse_duration(rest.strip())


def check_schedule(schedule: str) -> str:
    """Raise ValueError unless `schedule` is a valid 5-field cron, macro or `@every <duration>`."""
    text = schedule.strip()
    if text.startswith(_EVERY):
        if text.partition(" ")[0] != _EVERY or not text.partition(" ")[2].strip():
            raise ValueError(f'"{schedule}": write @every followed by a duration, e.g. "@every 30s"')
        try:
            every_interval(text)
        except ValueError as exc:
            raise ValueError(f'"{schedule}": {exc}') from None
        return schedule
    if text in MACROS:
        return schedule
    # croniter also takes a 6th (seconds) and 7th (year) field; Kubernetes and the Go operator do not
    if len(text.split()) != 5 or not croniter.is_valid(text):
        raise ValueError(f'"{schedule}" is not a 5-field cron expression (e.g. "*/5 * * * *") '
                         'or "@every <duration>"')
    return schedule


def next_run(schedule: str, after: datetime) -> datetime:
    """When a schedule fires next, strictly after `after` (keep `after` timezone-aware)."""
    interval = every_interval(schedule)
    if interval is not None:
        return after + interval
    nxt: datetime = croniter(schedule.strip(), after).get_next(datetime)
    return nxt
