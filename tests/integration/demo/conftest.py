"""Running `drsyncer demo` as a user would: a subprocess, its output read line by line."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from drsyncer.kube import ClusterClient, client_from_kubeconfig_file
from tests.fixtures import children

# `  dr1   17   1   2   0   <1s   17   ok`:
# cluster, created, updated, unchanged, failed, duration, copies found, check
SUMMARY_ROW = re.compile(r"^\s*(dr\d)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(\d+)\s+(\S+)\s*$")
SCALED = re.compile(r"^\s*(dr\d): scaled to zero: (.*)$")


@dataclass
class Summary:
    created: int
    updated: int
    unchanged: int
    failed: int
    found: int
    check: str
    scaled: dict[str, int]  # "namespace/name" → original replicas


def parse_summary(output: str) -> dict[str, Summary]:
    rows: dict[str, Summary] = {}
    for line in output.splitlines():
        match = SUMMARY_ROW.match(line)
        if match:
            cluster, created, updated, unchanged, failed, _duration, found, check = match.groups()
            counts = (int(created), int(updated), int(unchanged), int(failed), int(found))
            rows[cluster] = Summary(*counts, check, {})
    for line in output.splitlines():
        match = SCALED.match(line)
        if match and match.group(1) in rows:
            for item in match.group(2).split(", "):
                name, _, change = item.partition(" ")
                rows[match.group(1)].scaled[name] = int(change.split("→")[0])
    return rows


def demo_env(tmp_path: Path, path: str | None = None) -> dict[str, str]:
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONUNBUFFERED": "1", "COLUMNS": "120"}
    if path is not None:
        env["PATH"] = path
    return env


def demo_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "drsyncer.cli", "demo", *args]


def run_demo(
    tmp_path: Path, *args: str, timeout_s: float = 240, path: str | None = None
) -> subprocess.CompletedProcess[str]:
    # SIGTERM: the demo stops the processes it started before it exits
    return children.run(
        demo_argv(*args),
        death_signal=signal.SIGTERM,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env=demo_env(tmp_path, path),
        stdin=subprocess.DEVNULL,
    )


def dr_client(kubeconfig: Path, context: str) -> ClusterClient:
    return client_from_kubeconfig_file(kubeconfig, context=context, name=context)


def descendants(pid: int) -> set[int]:
    """Every process below `pid`, from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # the command name in parentheses may hold spaces; fields after it are space-separated
        fields = stat.rsplit(")", 1)[1].split()
        parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
