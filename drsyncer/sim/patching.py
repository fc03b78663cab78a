"""JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch, over plain dicts.

Inputs are never mutated; results share unchanged sub-trees with their inputs, which is safe because
the store replaces objects instead of editing them in place.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from drsyncer.sim.errors import ApiError, bad_request

# List fields merged item by item, keyed by the field that names an item, as kube's strategic merge
# patch and server-side apply do for the types drsyncer syncs.
MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "conditions": "type",
    "ownerReferences": "uid",
    "topologySpreadConstraints": "topologyKey",
}
# Lists of scalars merged as sets rather than replaced.
SET_LISTS = {"finalizers"}


def merge_key(field: str, items: list[Any]) -> str | None:
    """The merge key of list `field`, or None when the list is replaced as a whole."""
    if field == "ports":
        # Container ports are keyed by containerPort, Service ports by port.
        sample = next((i for i in items if isinstance(i, dict)), None)
        if sample is None:
            return None
        return "containerPort" if "containerPort" in sample else "port"
    return MERGE_KEYS.get(field)


def json_merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = json_merge_patch(result.get(key), value)
    return result


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


def strategic_merge_patch(target: Any, patch: Any, field: str = "") -> Any:
    """Kubernetes strategic merge patch: maps merge, keyed lists merge by key, `$patch` directives."""
    if not isinstance(patch, dict):
        return patch
    if patch.get("$patch") == "replace":
        return {k: v for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    result = dict(target) if isinstance(target, dict) else {}
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if key.startswith("$setElementOrder/") or key.startswith("$deleteFromPrimitiveList/"):
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list):
            result[key] = _merge_list(result.get(key), value, key)
        else:
            merged = strategic_merge_patch(result.get(key), value, key)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/") and isinstance(value, list):
            name = key.split("/", 1)[1]
            result[name] = [v for v in result.get(name) or [] if v not in value]
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _merge_list(current: Any, patch: list[Any], field: str) -> list[Any]:
    existing = current if isinstance(current, list) else []
    if field in SET_LISTS:
        return existing + [v for v in patch if v not in existing]
    if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
        return [i for i in patch if not (isinstance(i, dict) and "$patch" in i)]
    key = merge_key(field, patch or existing)
    if key is None or not all(isinstance(i, dict) for i in patch):
        return list(patch)
    for item in patch:
        if key not in item:
            raise bad_request(f"map: {item} does not contain declared merge key: {key}")
    server_index = {old.get(key): n for n, old in enumerate(existing) if isinstance(old, dict)}
    patched_keys = {item[key] for item in patch}
    from_patch = []
    for item in patch:
        if item.get("$patch") == "delete":
            continue
        position = server_index.get(item[key])
        if position is None:
            from_patch.append({k: v for k, v in item.items() if k != "$patch"})
        else:
            from_patch.append(strategic_merge_patch(existing[position], item, field))
    server_only = [old for old in existing if not (isinstance(old, dict) and old.get(key) in patched_keys)]
    # kube's normalizeElementOrder without $setElementOrder: the patch's items in patch order and the
    # server-only items in server order, interleaved by server position (a new item counts as -1)
    result: list[Any] = []
    i = j = 0
    while i < len(from_patch) and j < len(server_only):
        left = server_index.get(from_patch[i].get(key), -1)
        right = server_index.get(server_only[j].get(key) if isinstance(server_only[j], dict) else None, -1)
        if left < right:
            result.append(from_patch[i])
            i += 1
        else:
            result.append(server_only[j])
            j += 1
    return result + from_patch[i:] + server_only[j:]
