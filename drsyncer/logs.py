"""Logging setup for every drsyncer process: text or one JSON object per line, credentials masked.

Masking happens in the formatter, on the final text, so a password in a URL or a bearer token is
hidden whichever library logged it (Celery, kombu, redis and urllib3 all log connection details).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import IO, Any

import orjson

MASK = "***"

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # scheme://user:password@host and scheme://password@host (Redis requirepass style)
    (re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s/@:]*:)[^\s/@]+(?=@)"), rf"\g<head>{MASK}"),
    (re.compile(r"(?P<head>\brediss?://)(?P<user>[^\s/@:]+)(?=@)"), rf"\g<head>{MASK}"),
    (re.compile(r"(?i)(?P<head>\bbearer\s+)[A-Za-z0-9._~+/=-]+"), rf"\g<head>{MASK}"),
    (
        re.compile(
            r"(?i)(?P<head>[\"']?\b(?:password|passwd|token|secret|client-key-data|"
            r"client_key_data|api[_-]?key)[\"']?\s*[=:]\s*[\"']?)[^\s\"'&,;}]+"
        ),
        rf"\g<head>{MASK}",
    ),
)

# attributes every LogRecord has; anything else was passed with `extra=` and goes into JSON output
_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


# what each of _PATTERNS cannot match without (in lower case): most lines (the audit log's one per
# write above all) hold none, and a search for them costs a fraction of the patterns' own
_TRIGGERS: tuple[tuple[str, ...], ...] = (
    ("://",),
    ("://",),
    ("bearer",),
    ("passw", "token", "secret", "client", "api"),
)


def redact(text: str) -> str:
    """`text` with URL passwords, bearer tokens and `password=`/`token:` values replaced by ***."""
    # (outside ASCII a case-insensitive pattern also matches letters that lower() keeps apart)
    lowered = text.lower() if text.isascii() else None
    for (pattern, replacement), triggers in zip(_PATTERNS, _TRIGGERS, strict=True):
        if lowered is None or any(t in lowered for t in triggers):
            text = pattern.sub(replacement, text)
    return text


def redact_all(value: Any) -> Any:
    """`value` with `redact` applied to every string in it (dict values and list items, at any depth);
    other values as they are (`value` itself when nothing is masked). For what leaves a process other
    than through its logs: a status, an Event, a task's result. Their messages quote errors, and an
    error may quote a server URL with its password or a server's answer that echoes the request's
    Authorization header."""
    # a run's status is written after every namespace task and holds every target: one look at the
    # document as JSON (a C encoder) rules out nearly all of them without a call per string
    try:
        text = orjson.dumps(value).decode()
    except TypeError:  # (not JSON: walked as it is)
        text = None
    if text is not None and redact(text) == text:
        return value
    return _redact_each(value)


def _redact_each(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redact_each(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact_each(v) for v in value)
    return value


class RedactingTextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and not key.startswith("_"):
                out[key] = (
                    value if isinstance(value, int | float | bool) or value is None else redact(str(value))
                )
        if record.exc_info:
            out["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(out, default=str)


def formatter_for(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else RedactingTextFormatter()


def setup_logging(log_format: str = "text", level: str = "INFO", stream: IO[str] | None = None) -> None:
    """Replace the root logger's handlers with one masking handler on `stream` (stderr)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter_for(log_format))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # per-request lines of the HTTP pools would drown the rest at INFO
    logging.getLogger("urllib3").setLevel(max(logging.WARNING, root.level))
