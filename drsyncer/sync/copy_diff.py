"""What the transforms do to one object: a unified diff of YAML between the source object and the
copy drsyncer would write (after the built-in transforms, modifiers and plugins, with its marks).

Pure, for `drsyncer plan --diff`. Secret values never appear: a Secret's `data` and `stringData`
values, and its kubectl last-applied annotation (which holds them too), are shown as `<redacted>`,
and a copy's value that differs from the source's as `<redacted, changed>`.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

import yaml

from drsyncer.api import keys
from drsyncer.sync.objects import group_of

REDACTED = "<redacted>"
REDACTED_CHANGED = "<redacted, changed>"
SECRET_FIELDS: tuple[str, ...] = ("data", "stringData")
# the source's bookkeeping that nothing reads and that would bury the diff (never copied either)
HIDDEN_METADATA: tuple[str, ...] = ("managedFields",)


def is_secret(obj: Mapping[str, Any]) -> bool:
    return obj.get("kind") == "Secret" and not group_of(obj)


def redacted(source: Mapping[str, Any], copy: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The pair as shown: Secret values replaced (equal ones by `REDACTED` on both sides, so they
    show no change), managed fields left out. The arguments are not changed."""
    shown = (_shown(source), _shown(copy))
    if not (is_secret(source) or is_secret(copy)):
        return shown
    before, after = shown
    for name in SECRET_FIELDS:
        old, new = source.get(name), copy.get(name)
        if isinstance(old, Mapping):
            before[name] = dict.fromkeys(old, REDACTED)
        if isinstance(new, Mapping):
            old_values = old if isinstance(old, Mapping) else {}
            after[name] = {
                k: REDACTED if old_values.get(k) == v else REDACTED_CHANGED for k, v in new.items()
            }
    for obj, out in ((source, before), (copy, after)):
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        if keys.ANNOTATION_LAST_APPLIED in annotations:
            out["metadata"]["annotations"][keys.ANNOTATION_LAST_APPLIED] = REDACTED
    return before, after


def _shown(obj: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(obj)
    meta = dict(obj.get("metadata") or {})
    for name in HIDDEN_METADATA:
        meta.pop(name, None)
    if isinstance(meta.get("annotations"), Mapping):
        meta["annotations"] = dict(meta["annotations"])
    out["metadata"] = meta
    return out


def as_yaml(obj: Mapping[str, Any]) -> str:
    return yaml.safe_dump(obj, sort_keys=True, default_flow_style=False, allow_unicode=True)


def copy_diff(
    source: Mapping[str, Any],
    copy: Mapping[str, Any],
    *,
    source_label: str,
    copy_label: str,
    context: int = 3,
) -> str:
    """The unified diff (difflib, `context` lines around each change) from `source` to `copy`, both
    redacted (`redacted`); "" when they read the same."""
    before, after = redacted(source, copy)
    lines = difflib.unified_diff(
        as_yaml(before).splitlines(keepends=True),
        as_yaml(after).splitlines(keepends=True),
        fromfile=source_label,
        tofile=copy_label,
        n=context,
    )
    return "".join(lines)
