"""Schedules: 5-field cron (checked with croniter), the usual `@daily`-style macros, `@every <duration>`."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

from croniter import CroniterBadDateError, croniter

from drsyncer.api.durations import parse_duration

DEFAULT_SCHEDULE = "*/5 * * * *"
MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_EVERY = "@every"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def every_interval(schedule: str) -> timedelta | None:
    """The interval of an `@every <duration>` schedule, None for cron schedules."""
    head, _, rest = schedule.strip().partition(" ")
    if head != _EVERY:
        return None
    return parse_duration(rest.strip())


# the five fields of a cron expression, with what each takes (numbers, ranges `a-b`, lists `a,b`,
# steps `*/n`)
_CRON_FIELDS = (
    ("minute", "0-59"),
    ("hour", "0-23"),
    ("day of month", "1-31"),
    ("month", "1-12 or JAN-DEC"),
    ("day of week", "0-6 or SUN-SAT"),
)


# names a field takes in place of numbers (as croniter and robfig/cron read them)
_NAMES = {
    3: {
        m: i + 1
        for i, m in enumerate(
            ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
        )
    },
    4: {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])},
}


# one comma-separated part of a field: `*`, a value or a range `a-b`, each with an optional `/step`
_PART = re.compile(r"(\*|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(/[0-9]+)?")
_DAY_OF_WEEK = 4
_FIRST = ("0", "0", "1", "1", "0")  # each field's lowest value
_LAST = ("59", "23", "31", "12", "6")  # each field's highest value


def _split_wrapped(field: int, part: str) -> str:
    """A range that wraps round (`22-2`, `NOV-FEB`, `22-2/3`) written as the ranges it means: up to the
    field's highest value, then on from its lowest (`22-23,0-2`), a step carrying on across the turn
    (`22-2/2` is 22, 0, 2: `22,0-2/2`). Bounds are written in the style of the end they join
    (`NOV-DEC,JAN-FEB`, `fri-sat,sun-mon`), a range of one value as the value (`SAT-SUN`: `SAT,SUN`)."""
    ends, slash, step_text = part.partition("/")
    start, end = ends.split("-")
    names = _NAMES.get(field, {})
    by_number = {number: name for name, number in names.items()}
    low, high = int(_FIRST[field]), int(_LAST[field])
    first, last = (names[e.upper()] if e.upper() in names else int(e) for e in (start, end))
    step = int(step_text or 1) or 1
    # where the step lands first after the turn: past the highest value, counted on from the lowest
    resumed = first + (high - first) // step * step + step - (high - low + 1)

    def written(number: int, like: str) -> str:
        if like.isdigit():
            return str(number)
        name = by_number[number]
        return name.lower() if like.islower() else name.title() if like.istitle() else name

    def span(a: int, b: int, like: str) -> str:
        if a + step > b:  # one value
            return written(a, like)
        return f"{written(a, like)}-{written(b, like)}{slash}{step_text}"

    spans = [span(first, high, start)]
    if resumed <= last:
        spans.append(span(resumed, last, end))
    return ",".join(spans)


def _unschedulable(fields: list[str]) -> list[str]:
    """What croniter takes but the schedule does not, worded per field; the rules of robfig/cron's
    ParseStandard, which the Go operator and Kubernetes' CronJob use, and which Celery's crontab
    (what beat runs) keeps to as well:
    - a range `a-b` with a > b ("beginning of range beyond end of range"); croniter reads `5-1` as a
      range that wraps round, so the same text would mean something else here;
    - croniter's extensions `L`, `W`, `#` and `?` (last day, nearest weekday, nth weekday), and a
      step after a single value (`2/3`; Celery refuses it);
    - day of week 7 (croniter's second Sunday): 0-6 only."""
    found = []
    for i, (value, (name, allowed)) in enumerate(zip(fields, _CRON_FIELDS, strict=True)):
        names = _NAMES.get(i, {})
        for part in value.split(","):
            ends = part.partition("/")[0].split("-")
            if ends == ["*"] and _PART.fullmatch(part):
                continue
            if not _PART.fullmatch(part) or not all(e.isdigit() or e.upper() in names for e in ends):
                found.append(f'{name} "{part}": only numbers, names, ranges, lists and steps ({allowed})')
                continue
            if "/" in part and len(ends) == 1:
                found.append(
                    f'{name} "{part}": a step goes after * or a range (e.g. "{ends[0]}-{_LAST[i]}/…")'
                )
                continue
            numbers = [names[end.upper()] if end.upper() in names else int(end) for end in ends]
            if i == _DAY_OF_WEEK and max(numbers) > 6:
                found.append(f'{name} "{part}": {allowed}, Sunday is 0')
            elif numbers[0] > numbers[-1]:
                found.append(
                    f'{name} "{part}" starts after it ends (a range cannot wrap round: write '
                    f'"{_split_wrapped(i, part)}")'
                )
    return found


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
    fields = text.split()
    if len(fields) != 5:
        raise ValueError(
            f'"{schedule}" is not a 5-field cron expression (e.g. "*/5 * * * *") or "@every <duration>"'
        )
    if not croniter.is_valid(text):
        # croniter does not say which field it refused: each is tried alone, the others `*`
        bad = [
            f'{name} "{value}" ({allowed})'
            for i, (value, (name, allowed)) in enumerate(zip(fields, _CRON_FIELDS, strict=True))
            if not croniter.is_valid(" ".join(value if j == i else "*" for j in range(5)))
        ]
        raise ValueError(
            f'"{schedule}" is not a valid cron expression: '
            + ("; ".join(bad) if bad else "its fields do not fit together")
        )
    unschedulable = _unschedulable(fields)
    if unschedulable:
        raise ValueError(f'"{schedule}" is not a valid cron expression: ' + "; ".join(unschedulable))
    try:
        # day of week left out: beat's crontab refuses a day of month that never occurs in the months
        # given whatever the day of week says (croniter would count the weekdays of those months)
        croniter(" ".join([*fields[:4], "*"]), datetime(2000, 1, 1, tzinfo=UTC)).get_next(datetime)
    except CroniterBadDateError:
        if either_day(text):
            # cron and robfig/cron would run it on the days of week; Celery's crontab, which beat
            # stores every cron as (redbeat), refuses to be made from it
            raise ValueError(
                f'"{schedule}": day of month "{fields[2]}" never occurs in month "{fields[3]}"; drsyncer '
                f'cannot run such a cron, even on the days its day of week "{fields[4]}" names: write the '
                "day of month as *"
            ) from None
        raise ValueError(f'"{schedule}" never fires: no date matches its day of month and month') from None
    return schedule


def either_day(schedule: str) -> bool:
    """Whether a cron schedule restricts both its day of month and its day of week (neither is `*`
    or `*/1`).
    Such a cron fires on every day that matches either field, as cron has always read it
    (crontab(5); robfig/cron, which Kubernetes' CronJob and the Go operator use; croniter's
    `day_or`, which `next_run` uses): `0 2 1 * MON` runs on the 1st of each month and on every
    Monday. Celery's crontab would want a day matching both, so beat reads such a cron through
    `next_run` (workers.beat.EitherDayCrontab)."""
    fields = schedule.split()
    return len(fields) == 5 and not _any_day(fields[2]) and not _any_day(fields[4])


def _any_day(field: str) -> bool:
    """Whether a day field leaves the day to the other one, as robfig/cron reads it (parser.go,
    `getRange`: `*` sets its star bit, and a step keeps it only when it is 1): `*` and `*/1` do;
    `*/2`, `1-31` and a list do not, even when they cover every day."""
    return field in ("*", "*/1")


def _as_robfig_reads_it(schedule: str) -> str:
    """The cron with a day field of `*/1` written `*`: croniter reads `*/1` as a restriction and
    would fire on every day matching the other field alone, where robfig/cron (Kubernetes' CronJob,
    the Go operator) reads it as `*` and wants a day matching the other field."""
    fields = schedule.split()
    if len(fields) != 5:
        return schedule
    return " ".join("*" if i in (2, 4) and _any_day(f) else f for i, f in enumerate(fields))


def schedule_key(kind: str, namespace: str, name: str) -> str:
    """What places an owner's interval schedule on its grid (see `interval_slot`): the Replication
    (or legacy NamespaceMapping), not its schedule entries, so that all the entries of one owner,
    one per source namespace, fall due together and make one run."""
    return f"{kind}/{namespace}/{name}"


def interval_offset(key: str, interval: timedelta) -> timedelta:
    """Where in each interval an `@every` schedule fires: a fixed point in [0, interval) drawn from
    `key` by a hash, the same in every process and across restarts."""
    fraction = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64
    return timedelta(microseconds=int(fraction * (interval // timedelta(microseconds=1))))


def interval_slot(key: str, interval: timedelta, at: datetime) -> datetime:
    """The latest start of an `@every <interval>` schedule at or before `at`.

    An interval schedule fires on a grid of its own: at `interval_offset(key)` past the Unix epoch and
    every `interval` after that. Two things follow. A run sent late (beat busy, beat restarted) does
    not push the runs after it, as counting each interval from the previous send would; and owners
    with the same interval fall due spread across it, not in one wave. A naive `at` is read as UTC and
    the result is naive too.
    """
    naive = at.tzinfo is None
    aware = at.replace(tzinfo=UTC) if naive else at
    anchor = _EPOCH + interval_offset(key, interval)
    slot = anchor + ((aware - anchor) // interval) * interval
    return slot.replace(tzinfo=None) if naive else slot


def interval_run_slot(key: str, interval: timedelta, sent: datetime) -> datetime:
    """The grid slot a run sent at `sent` stands for: the nearest one. A run sent less than half an
    interval late (the usual case) stands for the slot it was due at; one sent later (beat was down)
    for the next slot, so that the run after it never comes sooner than half an interval later."""
    return interval_slot(key, interval, sent + interval / 2)


def next_run(schedule: str, after: datetime, key: str | None = None) -> datetime:
    """When a schedule fires next, strictly after `after` (keep `after` timezone-aware). With the
    owner's `schedule_key`, an `@every` schedule fires on its grid (`interval_slot`); without it,
    one interval after `after`."""
    interval = every_interval(schedule)
    if interval is not None:
        if key is None:
            return after + interval
        return interval_slot(key, interval, after) + interval
    nxt: datetime = croniter(_as_robfig_reads_it(schedule.strip()), after).get_next(datetime)
    return nxt
