"""What the test fixtures start dies with the test process, however the test process dies."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.children import popen
from tests.fixtures.polling import eventually

REPO = Path(__file__).resolve().parents[2]

# the test process, in small: it starts a child the way fixtures do, from a thread that ends at once
# (like the pool that starts control planes side by side), and prints the child's pid once the child
# has answered after that thread was gone, i.e. when a signal tied to the thread would have been sent
PARENT = r"""
import os, subprocess, sys, threading, time
from tests.fixtures.children import popen

started = {}

def start():
    started["tid"] = threading.get_native_id()
    started["child"] = popen(
        ["sh", "-c", 'read line; echo "$line"; exec sleep 100000'],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )

thread = threading.Thread(target=start)
thread.start()
thread.join()
deadline = time.monotonic() + 10
while os.path.exists(f"/proc/self/task/{started['tid']}"):  # until the kernel has ended the thread
    if time.monotonic() > deadline:
        sys.exit("the starting thread did not end")
    time.sleep(0.01)  # poll interval, not synchronisation
child = started["child"]
try:
    child.stdin.write("ping\n")
    child.stdin.flush()
    answer = child.stdout.readline()
except BrokenPipeError:
    answer = ""
print(child.pid if answer == "ping\n" else f"the child died with its thread (pid {child.pid})", flush=True)
sys.stdin.read()  # until killed
"""


def _running(pid: int) -> bool:
    """The process exists and is not a zombie (a zombie runs nothing; its new parent may be slow to reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_a_child_started_by_a_fixture_dies_when_the_test_process_is_killed() -> None:
    parent = popen(
        [sys.executable, "-c", PARENT],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    child = 0
    try:
        assert parent.stdout is not None
        line = parent.stdout.readline().strip()
        assert line.isdigit(), f"the parent said {line!r}"
        child = int(line)
        assert _running(child)

        parent.kill()
        parent.wait()

        eventually(lambda: not _running(child), timeout_s=10, what=f"child {child} to end with its parent")
    finally:
        parent.kill()
        parent.wait()
        if child and _running(child):
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
