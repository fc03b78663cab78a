"""`drsyncer status [NAME]`: Replications and how their last sync went."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from drsyncer.api import keys
from drsyncer.ops.controller import (
    DEFAULT_NAMESPACE,
    Target,
    connect,
    get_replication,
    list_replications,
    make_console,
)


def run(args: argparse.Namespace) -> int:
    target = Target.from_args(args)
    console = make_console()
    client = connect(target)
    try:
        if args.name:
            obj = get_replication(client, target.namespace or DEFAULT_NAMESPACE, args.name)
            print_detail(console, obj, now=datetime.now(UTC))
        else:
            objs = list_replications(client, target.namespace)
            if not objs:
                where = f"namespace {target.namespace}" if target.namespace else "any namespace"
                console.print(f"no Replications in {where}")
                return 0
            console.print(overview(objs, now=datetime.now(UTC), all_namespaces=target.namespace is None))
    finally:
        client.close()
    return 0


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _span(seconds: float) -> str:
    seconds = int(abs(seconds))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def ago(value: Any, now: datetime) -> str:
    """`5m ago` for a past RFC 3339 time, `-` when unset."""
    when = _parse_time(value)
    return "-" if when is None else f"{_span((now - when).total_seconds())} ago"


def due(value: Any, now: datetime) -> str:
    """`in 30s` for a future time, `due` for a past one, `-` when unset."""
    when = _parse_time(value)
    if when is None:
        return "-"
    delta = (when - now).total_seconds()
    return f"in {_span(delta)}" if delta > 0 else "due"


def phase_of(obj: Mapping[str, Any]) -> str:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if spec.get("paused") and not status.get("phase"):
        return "Paused"
    return str(status.get("phase") or "Pending")


def _destinations(spec: Mapping[str, Any]) -> str:
    names = [spec["destinationCluster"]] if spec.get("destinationCluster") else []
    names += [n for n in spec.get("destinationClusters") or [] if n not in names]
    return ",".join(names) or "-"


def overview(objs: list[dict[str, Any]], *, now: datetime, all_namespaces: bool) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    if all_namespaces:
        table.add_column("NAMESPACE")
    for column in ("NAME", "SOURCE", "DESTINATIONS", "MODE", "PHASE", "LAST SYNC", "NEXT SYNC"):
        table.add_column(column)
    table.add_column("SYNCED", justify="right")
    table.add_column("FAILED", justify="right")
    for obj in sorted(objs, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"])):
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        stats = status.get("syncStats") or {}
        row = [obj["metadata"]["name"], str(spec.get("sourceCluster", "-")), _destinations(spec),
               str(spec.get("replicationMode") or "Scheduled"), phase_of(obj),
               ago(status.get("lastSyncTime"), now), due(status.get("nextSyncTime"), now),
               str(stats.get("synced", 0)), str(stats.get("failed", 0))]
        if all_namespaces:
            row.insert(0, obj["metadata"].get("namespace", ""))
        table.add_row(*row)
    return table


def print_detail(console: Console, obj: Mapping[str, Any], *, now: datetime) -> None:
    meta, spec, status = obj["metadata"], obj.get("spec") or {}, obj.get("status") or {}
    stats = status.get("syncStats") or {}

    def line(label: str, value: Any) -> None:
        console.print(f"{label:<16}{value}", markup=False)

    line("Replication", f"{meta.get('namespace')}/{meta['name']}")
    line("source", spec.get("sourceCluster", "-"))
    line("destinations", _destinations(spec))
    mode = str(spec.get("replicationMode") or "Scheduled")
    line("mode", mode + (f" ({spec['schedule']})" if spec.get("schedule") and mode == "Scheduled" else "")
         + (", paused" if spec.get("paused") else ""))
    line("phase", phase_of(obj))
    line("last sync", f"{ago(status.get('lastSyncTime'), now)} ({status.get('lastSyncDuration') or '-'})")
    line("last success", ago(status.get("lastSuccessfulSyncTime"), now))
    line("next sync", due(status.get("nextSyncTime"), now))
    line("objects", ", ".join(f"{k} {stats.get(k, 0)}" for k in
                              ("synced", "created", "updated", "unchanged", "pruned", "skipped", "failed"))
         + (f" (held back {stats['heldBack']})" if stats.get("heldBack") else ""))
    for condition in status.get("conditions") or []:
        text = f"{condition.get('status')}" + (f" ({condition['reason']})" if condition.get("reason") else "")
        # what an operator has to act on: an invalid spec, copies left stale
        shown = ((keys.CONDITION_INVALID_SPEC, "True"), (keys.CONDITION_UP_TO_DATE, "False"))
        if condition.get("message") and (condition.get("type"), condition.get("status")) in shown:
            text += f": {condition['message']}"
        line(f"{condition.get('type')}", text)
    targets = status.get("targets") or []
    if targets:
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
        for column in ("CLUSTER", "NAMESPACE", "PHASE", "LAST SYNC"):
            table.add_column(column)
        for column in ("CREATED", "UPDATED", "UNCHANGED", "FAILED"):
            table.add_column(column, justify="right")
        table.add_column("LAST ERROR")
        for t in targets:
            s = t.get("syncStats") or {}
            src, dst = t.get("sourceNamespace", ""), t.get("destinationNamespace", "")
            table.add_row(str(t.get("cluster", "")), src if src == dst else f"{src} → {dst}",
                          str(t.get("phase", "")), ago(t.get("lastSyncTime"), now),
                          *(str(s.get(k, 0)) for k in ("created", "updated", "unchanged", "failed")),
                          Text(str((t.get("lastError") or {}).get("message", ""))))
        console.print(table)
    last_error = status.get("lastError") or {}
    if last_error.get("message"):
        category = f"{last_error['category']}: " if last_error.get("category") else ""
        line("last error", f"{category}{last_error['message']}")
