"""Structural-schema defaulting for custom resources, as kube-apiserver does on every write.

A property missing from the object gets the schema's `default`; present objects and array items are
walked so nested defaults apply too. `metadata` is left alone (the API server forbids defaults there
apart from name and namespace, which are never missing here).
"""

from __future__ import annotations

import copy
from typing import Any


def apply_defaults(obj: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of `obj` with the schema's defaults filled in; `obj` itself is not modified."""
    properties = schema.get("properties") or {}
    out = dict(obj)
    for name, prop in properties.items():
        if name == "metadata":
            continue
        if name not in out and "default" in prop:
            out[name] = copy.deepcopy(prop["default"])
        if name in out:
            out[name] = _walk(out[name], prop)
    return out


def _walk(value: Any, schema: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        if schema.get("properties"):
            return apply_defaults(value, schema)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            return {k: _walk(v, extra) for k, v in value.items()}
        return value
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_walk(item, schema["items"]) for item in value]
    return value
