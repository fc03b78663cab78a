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
from drsyncer.api.replication import destinations_as_written
from drsyncer.ops.controller import (
    Target,
    connect,
    get_replication,
    list_replications,
    make_console,
    print_document,
)

# exit codes of `drsyncer status` (docs/operations.md): 1 is any error of the command itself
EXIT_OK = 0
EXIT_PROBLEM = 3  # a Replication shown is Failed, PartiallyFailed or has an invalid spec
PROBLEM_PHASES = frozenset({"Failed", "PartiallyFailed"})
REASON_WIDTH = 80  # characters of the reason in the table; the detail, JSON and YAML have it whole
# how long past its next sync time a run may take to start and report before NEXT SYNC says it is
# late: beat sends within a second of the slot and a run's report moves the time on, so a time
# minutes in the past means the run waits in the queue (workers stopped or behind, beat holding the
# entry's next run back) or is still running
OVERDUE_AFTER_S = 60


def run(args: argparse.Namespace) -> int:
    target = Target.from_args(args)
    console = make_console()
    client = connect(target)
    output = getattr(args, "output", None)
    try:
        if args.name:
            obj = get_replication(client, target.namespace, args.name)
            objs = [obj]
            if output:
                print_document(summary(obj, now=datetime.now(UTC)), output)
            else:
                print_detail(console, obj, now=datetime.now(UTC))
        else:
            objs = list_replications(client, target.namespace)
            if output:
                now = datetime.now(UTC)
                print_document({"items": [summary(o, now=now) for o in _sorted(objs)]}, output)
            elif not objs:
                where = f"namespace {target.namespace}" if target.namespace else "any namespace"
                console.print(f"no Replications in {where}")
            else:
                console.print(overview(objs, now=datetime.now(UTC), all_namespaces=target.namespace is None))
    finally:
        client.close()
    return EXIT_PROBLEM if any(has_problem(o) for o in objs) else EXIT_OK


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
    """`in 30s` for a future time, `due` for one up to `OVERDUE_AFTER_S` past, `overdue 5m` for one
    longer past, `-` when unset."""
    when = _parse_time(value)
    if when is None:
        return "-"
    delta = (when - now).total_seconds()
    if delta > 0:
        return f"in {_span(delta)}"
    return "due" if -delta < OVERDUE_AFTER_S else f"overdue {_span(delta)}"


def phase_of(obj: Mapping[str, Any]) -> str:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if spec.get("paused") and not status.get("phase"):
        return "Paused"
    return str(status.get("phase") or "Pending")


def _condition(obj: Mapping[str, Any], type_: str) -> Mapping[str, Any]:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c.get("type") == type_), {})


def invalid(obj: Mapping[str, Any]) -> bool:
    return _condition(obj, keys.CONDITION_INVALID_SPEC).get("status") == "True"


# reasons of the `Synced` condition a failed run leaves: it keeps them while the next run (a retry
# above all) is Running, whose phase says nothing of how the last one went
FAILED_RUN_REASONS = frozenset({"SyncFailed", "SyncPartiallyFailed", "RunLost"})


def last_run_failed(obj: Mapping[str, Any]) -> bool:
    """Whether the last reported run failed (in part): phase Failed or PartiallyFailed, or Running
    (the next run, a retry above all) after one that did, as the `Synced` condition still says."""
    if phase_of(obj) in PROBLEM_PHASES:
        return True
    synced = _condition(obj, keys.CONDITION_SYNCED)
    return (
        phase_of(obj) == "Running"
        and synced.get("status") == "False"
        and synced.get("reason") in FAILED_RUN_REASONS
    )


def has_problem(obj: Mapping[str, Any]) -> bool:
    """What makes `drsyncer status` exit EXIT_PROBLEM: a failed last run (also while the next one
    is Running) or an invalid spec."""
    return invalid(obj) or last_run_failed(obj)


def _paused(obj: Mapping[str, Any]) -> bool:
    return bool((obj.get("spec") or {}).get("paused"))


def reason(obj: Mapping[str, Any]) -> str:
    """Why the Replication is in its phase, in a line: the spec errors, the last error of a failed
    run, what a waiting one waits for; "" when it completed."""
    status = obj.get("status") or {}
    if invalid(obj):
        return f"invalid spec: {_condition(obj, keys.CONDITION_INVALID_SPEC).get('message') or '?'}"
    if _paused(obj):
        return "paused (spec.paused is true)"
    phase = phase_of(obj)
    if last_run_failed(obj):
        error = status.get("lastError") or {}
        if error.get("message"):
            category = f"{error['category']}: " if error.get("category") else ""
            again = " (the last run's; another is in progress)" if phase == "Running" else ""
            return f"{category}{error['message']}{again}"
    ready = _condition(obj, keys.CONDITION_READY)
    if ready.get("status") != "True" and ready.get("message"):
        return str(ready["message"])
    if phase == "Running":
        return "a run is in progress"
    return ""


def _destinations(spec: Mapping[str, Any]) -> str:
    return ",".join(destinations_as_written(spec)) or "-"


def next_sync(obj: Mapping[str, Any], now: datetime) -> str:
    """NEXT SYNC as shown: none for a paused or invalid Replication (nothing is scheduled)."""
    if _paused(obj) or invalid(obj):
        return "-"
    return due((obj.get("status") or {}).get("nextSyncTime"), now)


def summary(obj: Mapping[str, Any], *, now: datetime) -> dict[str, Any]:
    """One Replication for `-o json|yaml`: what the table shows, whole, plus the per-target results."""
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    ready = _condition(obj, keys.CONDITION_READY).get("status")
    return {
        "namespace": meta.get("namespace"),
        "name": meta.get("name"),
        "source": spec.get("sourceCluster"),
        "destinations": [d for d in _destinations(spec).split(",") if d != "-"],
        "mode": str(spec.get("replicationMode") or "Scheduled"),
        "paused": _paused(obj),
        "phase": phase_of(obj),
        "ready": {"True": True, "False": False}.get(str(ready)),
        "invalidSpec": invalid(obj),
        "problem": has_problem(obj),
        "reason": reason(obj),
        "lastSyncTime": status.get("lastSyncTime"),
        "lastSuccessfulSyncTime": status.get("lastSuccessfulSyncTime"),
        "nextSyncTime": None if next_sync(obj, now) == "-" else status.get("nextSyncTime"),
        "syncStats": dict(status.get("syncStats") or {}),
        "lastError": status.get("lastError"),
        "targets": list(status.get("targets") or []),
        "targetsOmitted": int(status.get("targetsOmitted") or 0),
        "recoveryPoints": list(status.get("recoveryPoints") or []),
        "failover": status.get("failover"),
    }


def _sorted(objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(objs, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))


def _short(text: str, width: int = REASON_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def overview(objs: list[dict[str, Any]], *, now: datetime, all_namespaces: bool) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    if all_namespaces:
        table.add_column("NAMESPACE")
    for column in ("NAME", "SOURCE", "DESTINATIONS", "MODE", "PHASE", "LAST SYNC", "NEXT SYNC"):
        table.add_column(column)
    table.add_column("SYNCED", justify="right")
    table.add_column("FAILED", justify="right")
    table.add_column("REASON", overflow="fold")
    for obj in _sorted(objs):
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        stats = status.get("syncStats") or {}
        ran = bool(status.get("lastSyncTime"))
        row = [
            obj["metadata"]["name"],
            str(spec.get("sourceCluster", "-")),
            _destinations(spec),
            str(spec.get("replicationMode") or "Scheduled"),
            phase_of(obj),
            ago(status.get("lastSyncTime"), now),
            next_sync(obj, now),
            str(stats.get("synced", 0)) if ran else "-",
            str(stats.get("failed", 0)) if ran else "-",
        ]
        if all_namespaces:
            row.insert(0, obj["metadata"].get("namespace", ""))
        table.add_row(*row, Text(_short(reason(obj))))
    return table


def print_recovery(console: Console, status: Mapping[str, Any], *, now: datetime) -> None:
    """Per destination, the recovery point (the age of its copies) and what the last run left out;
    then the last failover, if any."""
    points = status.get("recoveryPoints") or []
    if points:
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, title="recovery points", title_justify="left")
        table.add_column("DESTINATION")
        table.add_column("RECOVERY POINT")
        for column in ("NAMESPACES", "NOT COMPLETED", "HELD BACK", "FAILED"):
            table.add_column(column, justify="right")
        for p in points:
            point = p.get("lastSuccessfulSyncTime")
            table.add_row(
                str(p.get("cluster", "")),
                ago(point, now) if point else "none (never completed)",
                *(str(p.get(k, 0)) for k in ("namespaces", "notCompleted", "heldBack", "failed")),
            )
        console.print(table)
    failover = status.get("failover") or {}
    if failover.get("cluster"):
        state = (
            "active (Replication paused)"
            if failover.get("active")
            else f"failed back {ago(failover.get('failedBack'), now)}"
        )
        counts = (
            f"{failover.get('broughtUp', 0)} of {failover.get('workloads', 0)} workloads up by the "
            f"failover, {failover.get('failed', 0)} failed in its latest run"
        )
        console.print(
            f"{'failover':<16}to {failover['cluster']} {ago(failover.get('started'), now)}: "
            f"{state}; {counts}",
            markup=False,
        )


def print_detail(console: Console, obj: Mapping[str, Any], *, now: datetime) -> None:
    meta, spec, status = obj["metadata"], obj.get("spec") or {}, obj.get("status") or {}
    stats = status.get("syncStats") or {}

    def line(label: str, value: Any) -> None:
        # a column of 16, and a space after a longer label (RemoteClustersFound)
        console.print(f"{label:<15} {value}", markup=False)

    line("Replication", f"{meta.get('namespace')}/{meta['name']}")
    line("source", spec.get("sourceCluster", "-"))
    line("destinations", _destinations(spec))
    mode = str(spec.get("replicationMode") or "Scheduled")
    line(
        "mode",
        mode
        + (f" ({spec['schedule']})" if spec.get("schedule") and mode == "Scheduled" else "")
        + (", paused" if spec.get("paused") else ""),
    )
    line("phase", phase_of(obj))
    line("last sync", f"{ago(status.get('lastSyncTime'), now)} ({status.get('lastSyncDuration') or '-'})")
    line("last success", ago(status.get("lastSuccessfulSyncTime"), now))
    line("next sync", next_sync(obj, now))
    if reason(obj):
        line("reason", reason(obj))
    line(
        "objects",
        ", ".join(
            f"{k} {stats.get(k, 0)}"
            for k in ("synced", "created", "updated", "unchanged", "pruned", "skipped", "failed")
        )
        + (f" (held back {stats['heldBack']})" if stats.get("heldBack") else ""),
    )
    for condition in status.get("conditions") or []:
        text = f"{condition.get('status')}" + (f" ({condition['reason']})" if condition.get("reason") else "")
        # what an operator has to act on: an invalid spec, copies left stale, a RemoteCluster missing
        shown = (
            (keys.CONDITION_INVALID_SPEC, "True"),
            (keys.CONDITION_UP_TO_DATE, "False"),
            (keys.CONDITION_REMOTE_CLUSTERS_FOUND, "False"),
        )
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
            table.add_row(
                str(t.get("cluster", "")),
                src if src == dst else f"{src} → {dst}",
                str(t.get("phase", "")),
                ago(t.get("lastSyncTime"), now),
                *(str(s.get(k, 0)) for k in ("created", "updated", "unchanged", "failed")),
                Text(str((t.get("lastError") or {}).get("message", ""))),
            )
        console.print(table)
    omitted = int(status.get("targetsOmitted") or 0)
    if omitted:
        line(
            "not listed",
            f"{omitted} more target(s): the status lists {len(targets)}, those that did not complete "
            "first; the recovery points below count every target",
        )
    print_recovery(console, status, now=now)
    last_error = status.get("lastError") or {}
    if last_error.get("message"):
        category = f"{last_error['category']}: " if last_error.get("category") else ""
        line("last error", f"{category}{last_error['message']}")
