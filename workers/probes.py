"""Liveness by heartbeat file: the worker touches its file while its consumer runs, beat on every
tick; `drsyncer probe` only compares the file's age with a limit, so a probe costs a `stat`, not a
Celery import or a broker round trip (and a broker outage, which a restart cannot fix, does not
restart the pod)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

DEFAULT_FILES = {"worker": "/tmp/drsyncer-worker.heartbeat", "beat": "/tmp/drsyncer-beat.heartbeat"}
HEARTBEAT_INTERVAL_S = 10.0

log = logging.getLogger(__name__)


def heartbeat_file(role: str, configured: str = "") -> Path:
    return Path(configured or DEFAULT_FILES[role])


def touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    now = time.time()
    os.utime(path, (now, now))


def beat(path: Path) -> None:
    """Touch the heartbeat file; a failure is logged, not raised: the probe will fail and say so,
    and the process goes on."""
    try:
        touch(path)
    except OSError as exc:
        log.warning("touching heartbeat file %s failed: %s", path, exc)


def remove(path: Path) -> None:
    path.unlink(missing_ok=True)


def check(path: Path, max_age_s: float, now: float | None = None) -> tuple[bool, str]:
    try:
        age = (time.time() if now is None else now) - path.stat().st_mtime
    except FileNotFoundError:
        return False, f"{path} does not exist (not started, or stopped)"
    if age > max_age_s:
        return False, f"{path} is {age:.0f}s old (limit {max_age_s:.0f}s)"
    return True, f"{path} is {max(age, 0):.0f}s old"


def run(args: argparse.Namespace) -> int:
    configured = args.heartbeat_file or os.environ.get("DRSYNCER_HEARTBEAT_FILE", "")
    ok, message = check(heartbeat_file(args.role, configured), float(args.max_age))
    print(f"{args.role}: {'alive' if ok else 'not alive'}: {message}", file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1
