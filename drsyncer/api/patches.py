"""JSON merge patch (RFC 7386) and Kubernetes strategic merge patch over plain dicts, pure.

One home for both: the simulator applies them to PATCH requests, and Replication modifiers
(drsyncer.sync.modifiers) to the copies they rewrite. Inputs are never mutated; results share
unchanged sub-trees with their inputs (and with the patch), so a caller that edits a result in place
copies it first.

Strategic merge follows kube's apimachinery `pkg/util/strategicpatch` (1.34) for the list fields of
the built-in kinds drsyncer syncs (`MERGE_KEYS`); RFC 7386 needs no library for its ten lines.
"""

from __future__ import annotations

from typing import Any


class PatchError(ValueError):
    """A patch that cannot be applied to its target (the message says why, like the API server's)."""


def json_merge_patch(target: Any, patch: Any, *, in_place: bool = False) -> Any:
    """RFC 7386: maps merge key by key, a null removes a key, anything else replaces. `in_place`:
    `target`'s maps are changed rather than copied (a round-trip YAML document keeps its maps'
    comments and key order that way)."""
    if not isinstance(patch, dict):
        return patch
    result = (target if in_place else dict(target)) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = json_merge_patch(result.get(key), value, in_place=in_place)
    return result


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
            raise PatchError(f"map: {item} does not contain declared merge key: {key}")
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
