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


# a test of the inner run: it starts a child the way fixtures do and writes "<worker pid> <child pid>"
INNER_TEST = r"""
import os, time
from tests.fixtures.children import popen

def test_starts_a_child():
    child = popen(["sleep", "100000"])
    out = os.environ["PIDS_FILE"]
    with open(out + ".part", "w") as f:
        f.write(f"{os.getpid()} {child.pid}\n")
    os.rename(out + ".part", out)
    time.sleep(100000)  # holds the worker until the run is killed
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_a_killed_pytest_xdist_run_leaves_neither_its_workers_nor_their_children(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # none of the suite's options
    (tmp_path / "test_inner.py").write_text(INNER_TEST)
    pids_file = tmp_path / "pids"
    run = popen(
        [sys.executable, "-m", "pytest", "-n", "1", "-p", "tests.fixtures.children", "-q", str(tmp_path)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO), "PIDS_FILE": str(pids_file)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pids: list[int] = []
    try:
        eventually(pids_file.exists, timeout_s=60, what="the inner test to start its child")
        pids = [int(p) for p in pids_file.read_text().split()]
        worker, child = pids
        assert worker != run.pid, "the inner test ran in the controlling process, not an xdist worker"
        assert _running(worker) and _running(child)

        run.kill()
        run.wait()

        # the kernel's signal is at once; without it, execnet ends an orphaned worker after 5-17 s
        eventually(lambda: not _running(worker), timeout_s=3, what=f"xdist worker {worker} to end")
        eventually(lambda: not _running(child), timeout_s=10, what=f"child {child} to end with its worker")
    finally:
        run.kill()
        run.wait()
        for pid in pids:
            if _running(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
