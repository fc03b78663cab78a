"""Child processes of the demo: started with their output in a log file, stopped without orphans.

Each child leads a process group of its own, so Ctrl-C in the terminal reaches only the demo (which
then stops the children in order), and a child that forks (Celery's prefork pool) is stopped with
everything it started: SIGTERM to the child, then SIGKILL to its whole group after a deadline.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from drsyncer.errors import DrsyncerError

TAIL_LINES = 25


class ChildDied(DrsyncerError):
    """A child process ended while the demo needed it; the message names it and its log."""


@dataclass
class Child:
    """One running child process and the file its output goes to."""

    name: str
    argv: list[str]
    log_path: Path
    process: subprocess.Popen[bytes]
    tier: int = 0  # stopped after every child of a higher tier has gone
    started_at: float = field(default_factory=time.monotonic)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def tail(self, lines: int = TAIL_LINES) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def check(self) -> None:
        """Raise `ChildDied` (with the end of its log) if the process has ended."""
        code = self.process.poll()
        if code is None:
            return
        raise ChildDied(
            f"{self.name} (pid {self.pid}) exited with status {code}; "
            f"last lines of {self.log_path}:\n{self.tail()}"
        )


def drsyncer_argv(*args: str) -> list[str]:
    """The `drsyncer` command run with this interpreter, so no PATH lookup can pick another install."""
    return [sys.executable, "-m", "drsyncer.cli", *args]


class Children:
    """The demo's children, stopped in reverse order of start."""

    def __init__(self, workdir: Path, environ: Mapping[str, str] | None = None) -> None:
        self.workdir = workdir
        self.environ = dict(os.environ if environ is None else environ)
        self.started: list[Child] = []

    def start(
        self, name: str, argv: Sequence[str], env: Mapping[str, str] | None = None, *, tier: int = 0
    ) -> Child:
        log_path = self.workdir / "logs" / f"{name}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "wb") as log:  # a fresh log: a reused work directory holds the last run's
            try:
                process = subprocess.Popen(
                    list(argv),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.workdir,
                    env={**self.environ, **(env or {})},
                    start_new_session=True,
                )
            except OSError as exc:
                raise DrsyncerError(f"cannot start {name} ({argv[0]}): {exc.strerror or exc}") from None
        child = Child(name, list(argv), log_path, process, tier)
        self.started.append(child)
        return child

    def check(self) -> None:
        for child in self.started:
            child.check()

    def stop(self, deadline_s: float = 15.0) -> list[str]:
        """Stop the children tier by tier, highest first (the components before the Redis and the
        clusters they would otherwise keep reconnecting to): SIGTERM, up to `deadline_s` to exit, then
        SIGKILL to what is left with its process group. Returns the names of those that had to be
        killed."""
        killed: list[str] = []
        for tier in sorted({c.tier for c in self.started}, reverse=True):
            killed += _stop_all([c for c in reversed(self.started) if c.tier == tier], deadline_s)
        self.started = []
        return killed


def _stop_all(children: list[Child], deadline_s: float) -> list[str]:
    for child in children:
        if child.alive():
            _signal(child.pid, signal.SIGTERM)
    end = time.monotonic() + deadline_s
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.process.wait(timeout=max(0.0, end - time.monotonic()))
    killed: list[str] = []
    for child in children:
        if child.alive():
            killed.append(child.name)
        # the group also holds what the child forked (pool processes) if the child left them behind
        _signal_group(child.pid, signal.SIGKILL)
        if child.alive():
            child.process.wait()
    return killed


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)
