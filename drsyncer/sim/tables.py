"""meta.k8s.io renderings: `as=Table` (the columns kubectl prints, including a CRD's
additionalPrinterColumns) and `as=PartialObjectMetadata` / `as=PartialObjectMetadataList`."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from drsyncer.sim.resources import PrinterColumn, ResourceType

Obj = dict[str, Any]

_NAME_COLUMN = {
    "name": "Name",
    "type": "string",
    "format": "name",
    "priority": 0,
    "description": "Name must be unique within a namespace.",
}
_AGE = PrinterColumn(
    "Age",
    "date",
    ".metadata.creationTimestamp",
    "CreationTimestamp is a timestamp representing the server time when this object was created.",
)


def _ready(obj: Obj) -> str:
    status = obj.get("status") or {}
    return f"{status.get('readyReplicas', 0)}/{(obj.get('spec') or {}).get('replicas', 1)}"


def _ports(obj: Obj) -> str:
    ports = (obj.get("spec") or {}).get("ports") or []
    text = ",".join(
        f"{p.get('port')}{'/' + str(p['nodePort']) if 'nodePort' in p else ''}/{p.get('protocol', 'TCP')}"
        for p in ports
    )
    return text or "<none>"


# Built-in kinds whose kubectl columns drsyncer users look at; the rest get Name and Age.
BUILTIN_COLUMNS: dict[str, list[tuple[str, str, Callable[[Obj], Any]]]] = {
    "namespaces": [("Status", "string", lambda o: (o.get("status") or {}).get("phase", ""))],
    "configmaps": [("Data", "integer", lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {}))],
    "secrets": [
        ("Type", "string", lambda o: o.get("type", "")),
        ("Data", "integer", lambda o: len(o.get("data") or {})),
    ],
    "services": [
        ("Type", "string", lambda o: (o.get("spec") or {}).get("type", "")),
        ("Cluster-IP", "string", lambda o: (o.get("spec") or {}).get("clusterIP", "")),
        ("External-IP", "string", lambda o: "<none>"),
        ("Port(s)", "string", _ports),
    ],
    "deployments": [
        ("Ready", "string", _ready),
        ("Up-to-date", "integer", lambda o: (o.get("status") or {}).get("updatedReplicas", 0)),
        ("Available", "integer", lambda o: (o.get("status") or {}).get("availableReplicas", 0)),
    ],
    "statefulsets": [("Ready", "string", _ready)],
    "persistentvolumeclaims": [
        ("Status", "string", lambda o: (o.get("status") or {}).get("phase", "")),
        ("Volume", "string", lambda o: (o.get("spec") or {}).get("volumeName", "")),
    ],
}


def age(timestamp: str | None, now: float | None = None) -> str:
    """kube's short duration: 45s, 12m, 5h, 3d."""
    if not timestamp:
        return "<unknown>"
    try:
        # RFC 3339 as written to the simulator: `Z` or an offset, a MicroTime's fraction
        written = datetime.fromisoformat(timestamp)
        then = (written if written.tzinfo else written.replace(tzinfo=UTC)).timestamp()
    except ValueError:
        return "<invalid>"
    seconds = max(0, int((now if now is not None else time.time()) - then))
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 48:
        return f"{hours}h"
    return f"{hours // 24}d"


_TOKEN = re.compile(
    r"\.([A-Za-z0-9_\-]+)|\[(\d+|\*)\]|\[\?\(@\.([A-Za-z0-9_.\-]+)\s*==\s*[\"']([^\"']*)[\"']\)\]"
)


def lookup(obj: Any, path: str) -> list[Any]:
    """A small JSONPath: `.a.b`, `.a[0]`, `.a[*].b`, `.a[?(@.type=="Ready")].status`."""
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1]
    current = [obj]
    pos = 0
    while pos < len(path):
        match = _TOKEN.match(path, pos)
        if not match:
            return []
        pos = match.end()
        field, index, filter_field, filter_value = match.groups()
        nxt: list[Any] = []
        for value in current:
            if field is not None and isinstance(value, dict) and field in value:
                nxt.append(value[field])
            elif index is not None and isinstance(value, list):
                if index == "*":
                    nxt.extend(value)
                elif int(index) < len(value):
                    nxt.append(value[int(index)])
            elif filter_field is not None and isinstance(value, list):
                for item in value:
                    found = lookup(item, "." + filter_field)
                    if found and str(found[0]) == filter_value:
                        nxt.append(item)
        current = nxt
    return current


def _cell(obj: Obj, column: PrinterColumn) -> Any:
    values = lookup(obj, column.json_path)
    if not values:
        return None
    value = values[0] if len(values) == 1 else ",".join(str(v) for v in values)
    if column.type == "date":
        return age(value if isinstance(value, str) else None)
    if column.type == "integer" and not isinstance(value, bool):
        try:
            return int(value)
        except (TypeError, ValueError):
            return None
    if column.type == "number":
        try:
            return float(value)
        except (TypeError, ValueError):
            return None
    if column.type == "boolean":
        return bool(value)
    return (
        value
        if isinstance(value, str)
        else json.dumps(value)
        if isinstance(value, dict | list)
        else str(value)
    )


def _event_cells(obj: Obj) -> list[Any]:
    """An Event's row as kube-apiserver prints it (pkg/printers/internalversion printEvent), for
    core/v1 Events and events.k8s.io/v1 ones (`regarding`, `note`, `deprecated*` in their place)."""
    involved = obj.get("involvedObject") or obj.get("regarding") or {}
    source = obj.get("source") or obj.get("deprecatedSource") or {}
    first = obj.get("firstTimestamp") or obj.get("deprecatedFirstTimestamp")
    first_seen = age(first) if first else age(obj.get("eventTime"))
    last = obj.get("lastTimestamp") or obj.get("deprecatedLastTimestamp")
    last_seen = age(last) if last else first_seen
    count = obj.get("count") or obj.get("deprecatedCount") or 1
    series = obj.get("series")
    if series:
        last_seen, count = age(series.get("lastObservedTime")), series.get("count", count)
    component = (
        source.get("component") or obj.get("reportingController") or obj.get("reportingComponent") or ""
    )
    host = source.get("host") or obj.get("reportingInstance") or ""
    return [
        last_seen,
        obj.get("type", ""),
        obj.get("reason", ""),
        f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}",
        involved.get("fieldPath", ""),
        f"{component}, {host}" if host else component,
        obj.get("message") or obj.get("note") or "",
        first_seen,
        count,
        obj["metadata"]["name"],
    ]


# (name, priority) in kube-apiserver's order; `kubectl get events` shows priority 0, -o wide all
_EVENT_COLUMNS = (
    ("Last Seen", 0),
    ("Type", 0),
    ("Reason", 0),
    ("Object", 0),
    ("Subobject", 1),
    ("Source", 1),
    ("Message", 0),
    ("First Seen", 1),
    ("Count", 1),
    ("Name", 1),
)


def _definitions(rt: ResourceType) -> tuple[list[Obj], Callable[[Obj], list[Any]]]:
    if rt.plural == "events" and not rt.custom:
        events: list[Obj] = [
            {
                "name": n,
                "type": "string",
                "format": "name" if n == "Name" else "",
                "description": "",
                "priority": p,
            }
            for n, p in _EVENT_COLUMNS
        ]
        return events, _event_cells
    if rt.printer_columns:
        columns = list(rt.printer_columns)
        defs = [_NAME_COLUMN] + [
            {
                "name": c.name,
                "type": c.type,
                "format": c.format,
                "description": c.description,
                "priority": c.priority,
            }
            for c in columns
        ]
        return defs, lambda o: [o["metadata"]["name"], *(_cell(o, c) for c in columns)]
    builtin = BUILTIN_COLUMNS.get(rt.plural, []) if not rt.custom else []
    defs = [_NAME_COLUMN] + [
        {"name": n, "type": t, "format": "", "description": "", "priority": 0} for n, t, _ in builtin
    ]
    defs.append(
        {"name": _AGE.name, "type": "string", "format": "", "description": _AGE.description, "priority": 0}
    )
    return defs, lambda o: [
        o["metadata"]["name"],
        *(f(o) for _, _, f in builtin),
        age(o["metadata"].get("creationTimestamp")),
    ]


def table(
    rt: ResourceType,
    objects: Iterable[Obj],
    api_version: str,
    include_object: str = "Metadata",
    metadata: Obj | None = None,
    with_columns: bool = True,
) -> Obj:
    defs, cells = _definitions(rt)
    rows = []
    for obj in objects:
        row: Obj = {"cells": cells(obj)}
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = partial_metadata(obj, "meta.k8s.io/v1")
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": api_version,
        "metadata": metadata or {},
        "columnDefinitions": defs if with_columns else [],
        "rows": rows,
    }


def partial_metadata(obj: Obj, api_version: str) -> Obj:
    """The object as `PartialObjectMetadata`: its metadata only (managedFields included, as
    kube-apiserver answers `Accept: application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1`)."""
    return {"kind": "PartialObjectMetadata", "apiVersion": api_version, "metadata": obj["metadata"]}


def partial_metadata_list(objects: Iterable[Obj], api_version: str, metadata: Obj) -> Obj:
    """A list as `PartialObjectMetadataList` (`as=PartialObjectMetadataList`): the list's metadata
    (resourceVersion, continue) and each item's metadata."""
    return {
        "kind": "PartialObjectMetadataList",
        "apiVersion": api_version,
        "metadata": metadata,
        "items": [partial_metadata(obj, api_version) for obj in objects],
    }
