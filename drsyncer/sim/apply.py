"""Server-side apply and field ownership (`metadata.managedFields`), over plain dicts.

Ownership is tracked as sets of field paths. A path element is `f:<field>` for a map key,
`k:{"name":"x"}` for an item of a keyed list, `v:<json>` for a member of a set-like list, and `.` for a
list item itself; any other list is atomic and owned as a whole. This is the FieldsV1 vocabulary,
reduced to what drsyncer relies on: applying twice is a no-op, conflicting applies are refused unless
forced, forcing takes ownership, and fields dropped from an applied config are removed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from drsyncer.api.patches import SET_LISTS, merge_key
from drsyncer.sim.errors import ApiError

Path = tuple[str, ...]
_MISSING = object()
# Metadata a manager may own; the rest of metadata belongs to the server.
OWNABLE_METADATA = ("labels", "annotations", "finalizers", "ownerReferences")
_SKIP_TOP = {"apiVersion", "kind", "metadata"}


def _key_element(key: str, item: dict[str, Any]) -> str:
    return "k:" + json.dumps({key: item.get(key)}, separators=(",", ":"), sort_keys=True)


def _walk(value: Any, path: Path, field: str, out: set[Path]) -> None:
    if isinstance(value, dict):
        if not value:
            out.add(path)
        for k, v in value.items():
            _walk(v, (*path, f"f:{k}"), k, out)
    elif isinstance(value, list):
        if field in SET_LISTS:
            out.update((*path, "v:" + json.dumps(v, separators=(",", ":"))) for v in value)
            return
        key = merge_key(field, value)
        if key and value and all(isinstance(i, dict) and key in i for i in value):
            for item in value:
                item_path = (*path, _key_element(key, item))
                out.add((*item_path, "."))
                for k, v in item.items():
                    _walk(v, (*item_path, f"f:{k}"), k, out)
        else:
            out.add(path)
    else:
        out.add(path)


def field_set(obj: dict[str, Any], with_status: bool = True) -> set[Path]:
    """Every leaf path of `obj` a field manager can own."""
    out: set[Path] = set()
    metadata = obj.get("metadata") or {}
    for name in OWNABLE_METADATA:
        if name in metadata:
            _walk(metadata[name], ("f:metadata", f"f:{name}"), name, out)
    for k, v in obj.items():
        if k in _SKIP_TOP or (k == "status" and not with_status):
            continue
        _walk(v, (f"f:{k}",), k, out)
    return out


def _step(value: Any, element: str) -> Any:
    if element == ".":
        return value
    kind, rest = element[:2], element[2:]
    if kind == "f:":
        return value.get(rest, _MISSING) if isinstance(value, dict) else _MISSING
    if not isinstance(value, list):
        return _MISSING
    if kind == "k:":
        wanted = json.loads(rest)
        for item in value:
            if isinstance(item, dict) and all(item.get(k) == v for k, v in wanted.items()):
                return item
        return _MISSING
    member = json.loads(rest)
    return member if member in value else _MISSING


def value_at(obj: Any, path: Path) -> Any:
    current = obj
    for element in path:
        current = _step(current, element)
        if current is _MISSING:
            return _MISSING
    return current


def without_path(obj: Any, path: Path) -> Any:
    """`obj` with the field at `path` removed (copy on write; `obj` is untouched)."""
    if not path:
        return _MISSING
    element, rest = path[0], path[1:]
    if element == ".":
        return _MISSING
    kind, name = element[:2], element[2:]
    if kind == "f:" and isinstance(obj, dict) and name in obj:
        child = without_path(obj[name], rest)
        result = dict(obj)
        if child is _MISSING:
            del result[name]
        else:
            result[name] = child
        return result
    if kind in ("k:", "v:") and isinstance(obj, list):
        target = _step(obj, element)
        if target is _MISSING:
            return obj
        out = []
        for item in obj:
            if item is target or (kind == "v:" and item == target):
                child = without_path(item, rest) if kind == "k:" else _MISSING
                if child is not _MISSING:
                    out.append(child)
            else:
                out.append(item)
        return out
    return obj


def to_fields_v1(paths: Iterable[Path]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path in sorted(paths):
        node = tree
        for element in path:
            node = node.setdefault(element, {})
    return tree


def from_fields_v1(tree: dict[str, Any], prefix: Path = ()) -> set[Path]:
    out: set[Path] = set()
    for element, child in tree.items():
        path = (*prefix, element)
        if child:
            out |= from_fields_v1(child, path)
        else:
            out.add(path)
    return out


def merge_applied(live: Any, applied: Any, field: str = "") -> Any:
    """Overlay an applied configuration on a live object: maps merge, keyed lists merge by key."""
    if isinstance(applied, dict):
        result = dict(live) if isinstance(live, dict) else {}
        for k, v in applied.items():
            if v is None:
                result.pop(k, None)
            else:
                result[k] = merge_applied(result.get(k), v, k)
        return result
    if isinstance(applied, list) and isinstance(live, list):
        if field in SET_LISTS:
            return live + [v for v in applied if v not in live]
        key = merge_key(field, applied)
        if key and all(isinstance(i, dict) and key in i for i in [*applied, *live]):
            merged = list(live)
            for item in applied:
                pos = next((n for n, old in enumerate(merged) if old.get(key) == item[key]), None)
                if pos is None:
                    merged.append(item)
                else:
                    merged[pos] = merge_applied(merged[pos], item, field)
            return merged
    return applied


Entry = dict[str, Any]


def _entries(obj: dict[str, Any] | None) -> list[tuple[Entry, set[Path]]]:
    if not obj:
        return []
    return [
        (e, from_fields_v1(e.get("fieldsV1") or {}))
        for e in (obj.get("metadata") or {}).get("managedFields") or []
    ]


def _entry(
    manager: str, operation: str, api_version: str, now: str, paths: set[Path], subresource: str | None
) -> Entry:
    entry: Entry = {
        "manager": manager,
        "operation": operation,
        "apiVersion": api_version,
        "time": now,
        "fieldsType": "FieldsV1",
        "fieldsV1": to_fields_v1(paths),
    }
    if subresource:
        entry["subresource"] = subresource
    return entry


def _same_owner(entry: Entry, manager: str, operation: str, subresource: str | None) -> bool:
    return (
        entry.get("manager") == manager
        and entry.get("operation") == operation
        and entry.get("subresource") == subresource
    )


def _rebuild(entry: Entry, paths: set[Path]) -> Entry:
    return {**entry, "fieldsV1": to_fields_v1(paths)}


def record_update(
    old: dict[str, Any] | None,
    new: dict[str, Any],
    manager: str,
    api_version: str,
    now: str,
    with_status: bool,
    subresource: str | None = None,
) -> list[Entry]:
    """Managed fields after a create, update or non-apply patch by `manager`: it owns what it changed."""
    new_set = field_set(new, with_status)
    if old is None:
        return [_entry(manager, "Update", api_version, now, new_set, subresource)] if new_set else []
    old_set = field_set(old, with_status)
    changed = {p for p in new_set if p not in old_set or value_at(old, p) != value_at(new, p)}
    removed = old_set - new_set
    if not changed and not removed:
        return list((old.get("metadata") or {}).get("managedFields") or [])
    result: list[Entry] = []
    own: set[Path] = set()
    for entry, paths in _entries(old):
        if _same_owner(entry, manager, "Update", subresource):
            own = paths - removed
            continue
        kept = paths - changed - removed
        if kept:
            result.append(_rebuild(entry, kept) if kept != paths else entry)
    own |= changed
    if own:
        result.append(_entry(manager, "Update", api_version, now, own, subresource))
    return result


def server_side_apply(
    live: dict[str, Any] | None,
    applied: dict[str, Any],
    manager: str,
    force: bool,
    api_version: str,
    now: str,
    with_status: bool,
    describe: tuple[str, str, str],
) -> dict[str, Any]:
    """The object after `manager` applies `applied` to `live` (None when creating).

    Raises 409 Conflict when another manager owns a field the config sets to a different value, unless
    `force`, in which case ownership moves to `manager`.
    """
    applied_set = field_set(applied, with_status)
    others: list[tuple[Entry, set[Path]]] = []
    previous: set[Path] = set()
    for entry, paths in _entries(live):
        if _same_owner(entry, manager, "Apply", None):
            previous = paths
        else:
            others.append((entry, paths))
    conflicts: list[tuple[str, Path]] = []
    if live is not None:
        for entry, paths in others:
            for p in paths & applied_set:
                if value_at(live, p) != value_at(applied, p):
                    conflicts.append((str(entry.get("manager")), p))
    if conflicts and not force:
        resource, group, name = describe
        lines = [
            f'conflict with "{m}": .{".".join(e[2:] for e in p if e != ".")}' for m, p in sorted(conflicts)
        ]
        plural = "conflicts" if len(lines) > 1 else "conflict"
        raise ApiError(
            409,
            f"Apply failed with {len(lines)} {plural}: " + "\n".join(lines),
            "Conflict",
            {
                "name": name,
                "group": group,
                "kind": resource,
                "causes": [
                    {
                        "reason": "FieldManagerConflict",
                        "message": f'conflict with "{m}"',
                        "field": "." + ".".join(e[2:] for e in p if e != "."),
                    }
                    for m, p in sorted(conflicts)
                ],
            },
        )
    taken = {p for _, p in conflicts}
    owned_by_others: set[Path] = set()
    entries: list[Entry] = []
    for entry, paths in others:
        kept = paths - taken
        owned_by_others |= kept
        if kept:
            entries.append(entry if kept == paths else _rebuild(entry, kept))
    result: Any = dict(live) if live is not None else {}
    for p in sorted(previous - applied_set - owned_by_others, key=len, reverse=True):
        result = without_path(result, p)
    body = {k: v for k, v in applied.items() if k != "metadata" and (with_status or k != "status")}
    result = merge_applied(result, body)
    metadata = dict(result.get("metadata") or {})
    applied_meta = applied.get("metadata") or {}
    for name in OWNABLE_METADATA:
        if name in applied_meta:
            merged = merge_applied(metadata.get(name), applied_meta[name], name)
            if merged is None:
                metadata.pop(name, None)
            else:
                metadata[name] = merged
    for name in OWNABLE_METADATA:
        if name in metadata and not metadata[name] and name not in applied_meta:
            del metadata[name]
    entries.append(_entry(manager, "Apply", api_version, now, applied_set, None))
    metadata["managedFields"] = entries
    result["metadata"] = metadata
    return dict(result)


def ownership_equal(a: list[Entry] | None, b: list[Entry] | None) -> bool:
    """Managed fields equal apart from timestamps (a re-apply that changes nothing keeps the old ones)."""
    strip = lambda entries: [{k: v for k, v in e.items() if k != "time"} for e in entries or []]  # noqa: E731
    return strip(a) == strip(b)
