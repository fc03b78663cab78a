"""`drsyncer sync-now NAME [--wait]`: ask the watcher for a run now, and optionally follow it."""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from drsyncer.api import keys
from drsyncer.api.parse import InvalidSpec, parse_replication
from drsyncer.errors import CategorisedError, DrsyncerError
from drsyncer.ops.controller import (
    DEFAULT_NAMESPACE,
    Target,
    connect,
    get_replication,
    make_console,
    replications_ref,
)
from drsyncer.ops.status import print_detail

FINISHED = frozenset({"Completed", "PartiallyFailed", "Failed"})
POLL_S = 0.5


def trigger_value(now: datetime) -> str:
    """The annotation's value: when it was asked for, which also makes a repeated request a change."""
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")


def answered(obj: Mapping[str, Any], request: str) -> bool:
    """True when the status reports the run that answered `request` (the annotation's value this
    command set), or one asked for after it (a later request the watcher took in its place): a run
    already under way when it was asked, which may end after it, is not the answer."""
    status = obj.get("status") or {}
    got = status.get("lastSyncRequest")
    return status.get("phase") in FINISHED and isinstance(got, str) and got >= request


def stage(obj: Mapping[str, Any]) -> str:
    annotations = obj["metadata"].get("annotations") or {}
    if keys.ANNOTATION_SYNC_NOW in annotations:
        if (obj.get("spec") or {}).get("paused"):
            return "waiting: the Replication is paused; the run starts when it is resumed"
        return "waiting for the watcher to send the run"
    phase = (obj.get("status") or {}).get("phase")
    return "running" if phase == "Running" else "sent; waiting for a worker"


def refusal(obj: Mapping[str, Any]) -> str | None:
    """Why a run asked for now would never start (an invalid spec, a selector matching no source
    namespace, as the spec reads and as the watcher last reported it), or None."""
    try:
        parse_replication(obj)
    except InvalidSpec as exc:
        return "its spec is invalid: " + "; ".join(exc.errors)
    meta = obj.get("metadata") or {}
    current = [
        c
        for c in (obj.get("status") or {}).get("conditions") or []
        if c.get("observedGeneration") in (None, meta.get("generation"))
    ]
    for condition in current:
        if condition.get("type") == keys.CONDITION_INVALID_SPEC and condition.get("status") == "True":
            return f"its spec is invalid: {condition.get('message')}"
        if (
            condition.get("type") == keys.CONDITION_READY
            and condition.get("reason") == keys.REASON_NO_SOURCE_NAMESPACES
        ):
            return str(condition.get("message"))
    return None


def run(args: argparse.Namespace) -> int:
    target = Target.from_args(args)
    namespace = target.namespace or DEFAULT_NAMESPACE
    console = make_console()
    client = connect(target)
    try:
        before = get_replication(client, target.namespace, args.name)
        refused = refusal(before)
        if refused is not None and args.wait:
            raise DrsyncerError(f"Replication {namespace}/{args.name} would never run: {refused}")
        asked = datetime.now(UTC).replace(microsecond=0)
        ref = replications_ref(client)
        try:
            client.patch(
                ref,
                namespace,
                args.name,
                {"metadata": {"annotations": {keys.ANNOTATION_SYNC_NOW: trigger_value(asked)}}},
            )
        except CategorisedError as exc:
            raise DrsyncerError(
                f"setting {keys.ANNOTATION_SYNC_NOW} on Replication {namespace}/{args.name} "
                f"failed: {exc.message}"
            ) from None
        console.print(f"Replication {namespace}/{args.name}: sync requested ({keys.ANNOTATION_SYNC_NOW})")
        if refused is not None:
            console.print(f"warning: it runs only once this is fixed: {refused}", markup=False)
        elif (before.get("spec") or {}).get("paused"):
            console.print(
                "warning: it is paused (spec.paused); the run starts when it is resumed", markup=False
            )
        if not args.wait:
            return 0
        obj = _follow(
            console,
            client_get=lambda: get_replication(client, namespace, args.name),
            request=trigger_value(asked),
            timeout_s=args.timeout,
        )
        print_detail(console, obj, now=datetime.now(UTC))
        return 0 if (obj.get("status") or {}).get("phase") == "Completed" else 1
    finally:
        client.close()


def _follow(console: Console, client_get: Any, request: str, timeout_s: float) -> dict[str, Any]:
    """Poll the Replication until the run answering `request` finished; show each stage as it comes: a
    spinner on a terminal, a line per stage otherwise (CI, a pipe: no frames of a progress bar)."""
    progress = Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console
    )
    deadline = time.monotonic() + timeout_s
    shown = ""
    with progress if console.is_terminal else contextlib.nullcontext():
        task = progress.add_task("waiting for the watcher to send the run", total=None)
        while True:
            obj: dict[str, Any] = client_get()
            finished = answered(obj, request)
            now_at = f"finished: {obj['status']['phase']}" if finished else stage(obj)
            if console.is_terminal:
                progress.update(task, description=now_at)
                if finished:
                    progress.update(task, total=1, completed=1)
            elif now_at != shown:
                console.print(now_at, markup=False)
                shown = now_at
            if finished:
                return obj
            if time.monotonic() > deadline:
                raise DrsyncerError(
                    f"no run finished within {timeout_s:.0f}s of the request (last: {stage(obj)})"
                )
            time.sleep(POLL_S)  # poll interval
