"""PATCH request bodies as the simulator applies them: JSON patch (RFC 6902) with the API server's
error responses, and the merge and strategic merge patches of drsyncer.api.patches (their one home),
re-exported with kube's 400 for an unusable patch.

Inputs are never mutated; results share unchanged sub-trees with their inputs, which is safe because
the store replaces objects instead of editing them in place.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from drsyncer.api import patches
from drsyncer.api.patches import json_merge_patch
from drsyncer.sim.errors import ApiError, bad_request

__all__ = ["json_merge_patch", "json_patch", "strategic_merge_patch"]


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """`patches.strategic_merge_patch`, its PatchError as the API server's 400."""
    try:
        return patches.strategic_merge_patch(target, patch)
    except patches.PatchError as exc:
        raise bad_request(str(exc)) from None


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise bad_request(f"invalid JSON pointer {path!r}")
    return [_unescape(t) for t in path.split("/")[1:]] if path else []


def _unprocessable(message: str) -> ApiError:
    return ApiError(422, message, "Invalid")


def _index(container: list[Any], token: str, for_add: bool) -> int:
    if token == "-" and for_add:
        return len(container)
    if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
        raise _unprocessable(f"invalid array index {token!r}")
    index = int(token)
    if index > len(container) or (index == len(container) and not for_add):
        raise _unprocessable(f"array index {index} out of bounds")
    return index


def _parent(doc: Any, tokens: list[str], op: str, path: str) -> Any:
    current = doc
    for token in tokens[:-1]:
        if isinstance(current, dict) and token in current:
            current = current[token]
        elif isinstance(current, list):
            current = current[_index(current, token, False)]
        else:
            raise _unprocessable(
                f'{op} operation does not apply: doc is missing path: "{path}": missing value'
            )
    return current


def _get(doc: Any, path: str, op: str) -> Any:
    current = doc
    for token in _pointer(path):
        if isinstance(current, dict) and token in current:
            current = current[token]
        elif isinstance(current, list):
            current = current[_index(current, token, False)]
        else:
            raise _unprocessable(
                f'{op} operation does not apply: doc is missing path: "{path}": missing value'
            )
    return current


def _add(doc: Any, path: str, value: Any, op: str = "add") -> Any:
    tokens = _pointer(path)
    if not tokens:
        return value
    parent = _parent(doc, tokens, op, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, True), value)
    else:
        raise _unprocessable(f'{op} operation does not apply: doc is missing path: "{path}": missing value')
    return doc


def _remove(doc: Any, path: str, op: str = "remove") -> Any:
    tokens = _pointer(path)
    if not tokens:
        raise _unprocessable(f"{op} operation does not apply: cannot remove the root")
    parent = _parent(doc, tokens, op, path)
    last = tokens[-1]
    if isinstance(parent, dict) and last in parent:
        del parent[last]
    elif isinstance(parent, list):
        del parent[_index(parent, last, False)]
    else:
        raise _unprocessable(f'{op} operation does not apply: doc is missing path: "{path}": missing value')
    return doc


def json_patch(target: Any, operations: Any) -> Any:
    if not isinstance(operations, list):
        raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = copy.deepcopy(target)  # JSON patch edits in place; the stored object must stay untouched
    for op in operations:
        if not isinstance(op, dict) or "op" not in op:
            raise bad_request(f"invalid JSON patch operation: {json.dumps(op)}")
        kind, path, source = op["op"], str(op.get("path", "")), str(op.get("from", ""))
        if kind == "add":
            doc = _add(doc, path, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            doc = _remove(doc, path)
        elif kind == "replace":
            _get(doc, path, "replace")
            doc = _add(_remove(doc, path, "replace"), path, copy.deepcopy(op.get("value")), "replace")
        elif kind == "move":
            value = _get(doc, source, "move")
            doc = _add(_remove(doc, source, "move"), path, value, "move")
        elif kind == "copy":
            doc = _add(doc, path, copy.deepcopy(_get(doc, source, "copy")), "copy")
        elif kind == "test":
            if _get(doc, path, "test") != op.get("value"):
                raise _unprocessable(f"testing value {path} failed: test failed")
        else:
            raise bad_request(f"Unexpected kind: {kind}")
    return doc
