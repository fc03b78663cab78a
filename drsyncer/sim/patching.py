"""PATCH request bodies as the simulator applies them: JSON patch (RFC 6902, applied by the
jsonpatch library) with the API server's error responses, and the merge and strategic merge patches
of drsyncer.api.patches (their one home), re-exported with kube's 400 for an unusable patch.

Inputs are never mutated; results share unchanged sub-trees with their inputs, which is safe because
the store replaces objects instead of editing them in place.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import jsonpatch
from jsonpointer import JsonPointer, JsonPointerException, resolve_pointer

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


_OPERATIONS = frozenset({"add", "remove", "replace", "move", "copy", "test"})
# RFC 6901 array index: "0" or a number without a leading zero
_ARRAY_INDEX = re.compile(r"0|[1-9][0-9]*")
_MISSING = object()


def _pointer(path: Any) -> JsonPointer:
    if not isinstance(path, str):
        raise bad_request(f"invalid JSON pointer {path!r}")
    try:
        return JsonPointer(path)
    except JsonPointerException:
        raise bad_request(f"invalid JSON pointer {path!r}") from None


def _unprocessable(message: str) -> ApiError:
    return ApiError(422, message, "Invalid")


def _not_applicable(doc: Any, kind: str, pointer: JsonPointer) -> ApiError:
    """The 422 for `pointer` not leading to a place `kind` can work on, worded by what is wrong.

    The library's own messages quote the document (a Secret's data among them), so they are
    never passed on."""
    parts = pointer.parts
    if not parts:
        return _unprocessable(f"{kind} operation does not apply: cannot remove the root")
    parent = resolve_pointer(doc, JsonPointer.from_parts(parts[:-1]).path, _MISSING)
    if isinstance(parent, list):
        if not _ARRAY_INDEX.fullmatch(parts[-1]):
            return _unprocessable(f"invalid array index {parts[-1]!r}")
        return _unprocessable(f"array index {parts[-1]} out of bounds")
    return _unprocessable(
        f'{kind} operation does not apply: doc is missing path: "{pointer.path}": missing value'
    )


def _apply(doc: Any, op: Any) -> Any:
    if not isinstance(op, dict) or not isinstance(op.get("op"), str):
        raise bad_request(f"invalid JSON patch operation: {json.dumps(op)}")
    kind = op["op"]
    if kind not in _OPERATIONS:
        raise bad_request(f"Unexpected kind: {kind}")
    path = _pointer(op.get("path", ""))
    operation: dict[str, Any] = {"op": kind, "path": path.path}
    if kind in ("move", "copy"):
        source = _pointer(op.get("from", ""))
        operation["from"] = source.path
        if kind == "move" and not source.parts:
            raise _not_applicable(doc, kind, source)
        if resolve_pointer(doc, source.path, _MISSING) is _MISSING:
            raise _not_applicable(doc, kind, source)
    else:
        # a missing value is JSON null, as the API server reads it
        operation["value"] = op.get("value")
    if kind == "remove" and not path.parts:
        raise _not_applicable(doc, kind, path)
    if kind in ("remove", "replace", "test") and resolve_pointer(doc, path.path, _MISSING) is _MISSING:
        # checked here: the library reports a missing `test` path as a failed test
        raise _not_applicable(doc, kind, path)
    try:
        return jsonpatch.JsonPatch([operation]).apply(doc, in_place=True)
    except jsonpatch.JsonPatchTestFailed:
        raise _unprocessable(f"testing value {path.path} failed: test failed") from None
    except (jsonpatch.JsonPatchException, JsonPointerException, LookupError, TypeError):
        raise _not_applicable(doc, kind, path) from None


def json_patch(target: Any, operations: Any) -> Any:
    """`target` with RFC 6902 `operations` applied (the jsonpatch library), as the API server answers.

    Errors: a body that is not a list of operations, an unknown `op` or a malformed JSON Pointer is
    a 400 (BadRequest); an operation that cannot apply (a missing path, an array index out of
    bounds, a failed `test`) is a 422 (Invalid). The whole patch applies or none of it does."""
    if not isinstance(operations, list):
        raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = copy.deepcopy(target)  # operations apply in place; the stored object must stay untouched
    for op in operations:
        doc = _apply(doc, op)
    return doc
