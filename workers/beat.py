"""Beat's scheduler: RedBeat as it is, plus a heartbeat file touched on every tick (for
`drsyncer probe beat`). A beat waiting for RedBeat's lock does not tick and so does not touch it:
the probe's limit must allow for `DRSYNCER_BEAT_LOCK_TIMEOUT`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from redbeat import RedBeatScheduler

from workers import probes

log = logging.getLogger(__name__)


class HeartbeatRedBeatScheduler(RedBeatScheduler):
    heartbeat_path: Path = probes.heartbeat_file("beat")  # set by the entry point

    def tick(self, *args: Any, **kwargs: Any) -> Any:
        interval = super().tick(*args, **kwargs)
        try:
            probes.touch(self.heartbeat_path)
        except OSError as exc:
            log.warning("touching heartbeat file %s failed: %s", self.heartbeat_path, exc)
        return interval
