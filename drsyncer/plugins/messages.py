"""What drsyncer says about a plugin hook's failure or reason, for status, Events, logs and task
results: never a value of a Secret's data.

A hook that raises is reported by the exception's type, the plugin, the hook and the line of the
plugin that was running (`plugin "p": transform raised KeyError: 'host' (p.py:12, in transform)`).
The exception's own text is added for any object but a Secret: a hook reading a Secret quotes its
data as readily as anything else (`int(value)` raises `invalid literal for int() with base 10:
'<the value>'`). As a second net, every message about a Secret, the plugin's own reasons included,
has the Secret's data values masked, as stored (base64) and decoded.
"""

from __future__ import annotations

import base64
import binascii
import os
import traceback
from collections.abc import Iterator, Mapping
from typing import Any

from drsyncer.logs import MASK

MAX_TEXT = 400  # of a plugin's text in a message: a status lists one message per failed object
MIN_MASKED = 4  # shorter values would mask ordinary words ("true", a digit) and tell nothing
_OWN_FILES = os.path.dirname(os.path.abspath(__file__)) + os.sep


def is_secret(obj: Mapping[str, Any]) -> bool:
    """Whether `obj` is a Secret (of any group: a look-alike gets the same care)."""
    return obj.get("kind") == "Secret"


def hook_failed(plugin: str, hook: str, exc: BaseException, *seen: Mapping[str, Any]) -> str:
    """The message for `hook` of `plugin` raising `exc` on the object shown in `seen` (the object
    before and after the hooks that ran on it)."""
    where = _where(exc)
    if any(is_secret(obj) for obj in seen):
        note = f"{where}; " if where else ""
        detail = f"{type(exc).__name__} ({note}the message is not shown for a Secret)"
    else:
        text = _clipped(_text(exc))
        detail = type(exc).__name__ + (f": {text}" if text else "") + (f" ({where})" if where else "")
    return masked(f'plugin "{plugin}": {hook} raised {detail}', *seen)


def reason(plugin: str, text: object, *seen: Mapping[str, Any]) -> str:
    """A hook's own reason to leave an object out, as drsyncer reports it."""
    return masked(f'plugin "{plugin}": {_clipped(_text(text))}', *seen)


def masked(message: str, *seen: Mapping[str, Any]) -> str:
    """`message` with the data values of each Secret in `seen` replaced by ***."""
    values = {v for obj in seen if is_secret(obj) for v in _secret_values(obj)}
    for value in sorted(values, key=len, reverse=True):  # a value inside a longer one goes after it
        message = message.replace(value, MASK)
    return message


def _secret_values(obj: Mapping[str, Any]) -> Iterator[str]:
    """The values of a Secret's `data` (as stored, decoded, and each decoded line) and `stringData`,
    at least MIN_MASKED characters long."""
    found: list[str] = []
    for field, encoded in (("data", True), ("stringData", False)):
        entries = obj.get(field)
        if not isinstance(entries, Mapping):
            continue
        for value in entries.values():
            if not isinstance(value, str):
                continue
            found.append(value)
            if encoded:
                try:
                    decoded = base64.b64decode(value, validate=True).decode("utf-8", "replace")
                except (binascii.Error, ValueError):
                    continue
                found.append(decoded)
                found.extend(decoded.splitlines())
    return (v.strip() for v in found if len(v.strip()) >= MIN_MASKED)


def _where(exc: BaseException) -> str:
    """`file:line, in function` of the plugin's last frame in the traceback: the frames after
    drsyncer.plugins' own, in the file of the first of them (the hook's)."""
    frames = [(f.f_code, line) for f, line in traceback.walk_tb(exc.__traceback__)]
    while frames and frames[0][0].co_filename.startswith(_OWN_FILES):
        frames.pop(0)
    if not frames:  # the hook is not Python code (a builtin)
        return ""
    plugin_file = frames[0][0].co_filename
    code, line = [(c, n) for c, n in frames if c.co_filename == plugin_file][-1]
    return f"{os.path.basename(plugin_file)}:{line}, in {code.co_qualname}"


def _text(value: object) -> str:
    try:
        return str(value)
    except Exception:  # a plugin's exception whose __str__ fails is reported by its type alone
        return ""


def _clipped(text: str) -> str:
    """`text` on one line, at most MAX_TEXT characters."""
    text = " ".join(text.split())
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"
