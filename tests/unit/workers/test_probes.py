"""Liveness by heartbeat file age."""

from __future__ import annotations

import os
from pathlib import Path

from workers import probes


def test_fresh_file_is_alive_and_old_or_missing_is_not(tmp_path: Path) -> None:
    path = tmp_path / "hb"
    assert probes.check(path, 60)[0] is False
    probes.touch(path)
    assert probes.check(path, 60)[0] is True
    old = path.stat().st_mtime - 120
    os.utime(path, (old, old))
    ok, message = probes.check(path, 60)
    assert not ok and "120s old" in message
    probes.remove(path)
    assert not path.exists()


def test_default_files_per_role() -> None:
    assert probes.heartbeat_file("worker").name == "drsyncer-worker.heartbeat"
    assert probes.heartbeat_file("beat", "/x/beat") == Path("/x/beat")
