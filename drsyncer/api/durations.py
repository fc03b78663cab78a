"""Durations written the Go way (`1h30m`, `30s`), as in the Go operator's CRDs and in `@every`."""

from __future__ import annotations

import re
from datetime import timedelta

# same grammar as the Go operator's CRD pattern, so existing manifests keep validating
DURATION_PATTERN = r"^([0-9]+h)?([0-9]+m)?([0-9]+s)?$"
_DURATION = re.compile(DURATION_PATTERN)


def parse_duration(text: str) -> timedelta:
    """`1h30m` → 90 minutes. Raises ValueError with a message fit for a field error."""
    match = _DURATION.fullmatch(text.strip()) if isinstance(text, str) else None
    if not text or match is None or not any(match.groups()):
        raise ValueError(f'"{text}" is not a duration like 30s, 5m or 1h30m')
    hours, minutes, seconds = (int(g[:-1]) if g else 0 for g in match.groups())
    value = timedelta(hours=hours, minutes=minutes, seconds=seconds)
    if value <= timedelta(0):
        raise ValueError(f'"{text}" must be longer than zero')
    return value


def check_duration(text: str) -> str:
    """Field validator form of `parse_duration`: keeps the text as written."""
    parse_duration(text)
    return text


def format_duration(value: timedelta | float) -> str:
    """90.4 seconds → `1m30s` (whole seconds; `0s` for less than a second)."""
    total = int(value.total_seconds() if isinstance(value, timedelta) else value)
    hours, rest = divmod(max(total, 0), 3600)
    minutes, seconds = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    return text + (f"{seconds}s" if seconds or not text else "")
