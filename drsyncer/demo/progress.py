"""Following the first run of the demo's Replication: live progress until its status says it ended."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from drsyncer.api import keys
from drsyncer.errors import CategorisedError, DrsyncerError
from drsyncer.kube import ClusterClient

FINISHED_PHASES = frozenset({"Completed", "PartiallyFailed", "Failed"})
POLL_S = 0.5


def condition(status: Mapping[str, Any], type_: str) -> Mapping[str, Any] | None:
    return next((c for c in status.get("conditions") or [] if c.get("type") == type_), None)


def run_finished(obj: Mapping[str, Any] | None, after: str | None = None) -> bool:
    """True when the object's status reports a finished run (one that ended after `after`, an RFC 3339
    time, when given)."""
    status = (obj or {}).get("status") or {}
    if status.get("phase") not in FINISHED_PHASES or not status.get("lastSyncTime"):
        return False
    return after is None or str(status["lastSyncTime"]) >= after


def invalid_spec_message(obj: Mapping[str, Any] | None) -> str | None:
    invalid = condition((obj or {}).get("status") or {}, keys.CONDITION_INVALID_SPEC)
    if invalid and invalid.get("status") == "True":
        return str(invalid.get("message") or "invalid spec")
    return None


def stage_of(obj: Mapping[str, Any] | None) -> str:
    status = (obj or {}).get("status") or {}
    phase = status.get("phase")
    if not status:
        return "waiting for the watcher to pick up the Replication"
    if phase == "Running":
        return "sync running on the workers"
    if phase in FINISHED_PHASES:
        return f"run finished: {phase}"
    return "scheduled; waiting for beat to send the first tasks"


def count_copies(clients: Sequence[ClusterClient], types: Sequence[str], namespaces: Sequence[str]) -> int:
    """Objects drsyncer wrote (ownership label) into `namespaces` of every destination, types given."""
    selector = f"{keys.LABEL_MANAGED_BY}={keys.MANAGED_BY_VALUE}"
    found = 0
    for client in clients:
        for name in types:
            try:
                ref = client.resolve(name)
            except CategorisedError:
                # not served until its CRD has been copied; cached discovery may predate the copy
                client.discovery.invalidate()
                try:
                    ref = client.resolve(name)
                except CategorisedError:
                    continue
            found += sum(
                1
                for obj in client.list(ref, label_selector=selector)
                if obj["metadata"].get("namespace") in namespaces
            )
    return found


def follow_first_run(
    console: Console,
    read: Callable[[], dict[str, Any] | None],
    copies: Callable[[], int],
    expected_copies: int,
    check_alive: Callable[[], None],
    timeout_s: float,
) -> dict[str, Any]:
    """Show progress until `read()` returns a Replication whose run has finished; return it.

    `copies()` counts the objects already in the destinations, out of `expected_copies`.
    Raises DrsyncerError on an invalid spec, a child that died, or the deadline.
    """
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    task = progress.add_task("objects in the DR clusters", total=expected_copies)
    stage = Text("waiting for the watcher to pick up the Replication")
    deadline = time.monotonic() + timeout_s
    obj: dict[str, Any] | None = None
    with Live(Group(stage, progress), console=console, refresh_per_second=4, transient=False):
        while True:
            check_alive()
            try:
                obj = read()
                progress.update(task, completed=min(copies(), expected_copies))
            except CategorisedError as exc:
                stage.plain = f"controller cluster did not answer: {exc.message}"
            else:
                message = invalid_spec_message(obj)
                if message:
                    raise DrsyncerError(f"the Replication is invalid: {message}")
                stage.plain = stage_of(obj)
                if run_finished(obj) and obj is not None:
                    progress.update(task, completed=min(copies(), expected_copies))
                    return obj
            if time.monotonic() > deadline:
                raise DrsyncerError(
                    f"no sync finished within {timeout_s:.0f}s (last stage: {stage.plain}); "
                    "see the logs in the work directory"
                )
            time.sleep(POLL_S)  # poll interval
