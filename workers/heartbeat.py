"""The worker's heartbeat: a consumer bootstep that touches the heartbeat file from the consumer's
own timer, so the file goes stale when the consumer stops or hangs, not just when the process dies."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from celery import bootsteps

from workers import probes

log = logging.getLogger(__name__)


class Heartbeat(bootsteps.StartStopStep):
    requires = {"celery.worker.consumer.tasks:Tasks"}
    path: Path = probes.heartbeat_file("worker")  # set by the entry point before the worker starts
    interval_s: float = probes.HEARTBEAT_INTERVAL_S

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.tref: Any = None

    def _beat(self) -> None:
        try:
            probes.touch(self.path)
        except OSError as exc:  # the probe will fail and say so; the worker goes on
            log.warning("touching heartbeat file %s failed: %s", self.path, exc)

    def start(self, parent: Any) -> None:
        self._beat()
        self.tref = parent.timer.call_repeatedly(self.interval_s, self._beat)

    def stop(self, parent: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None
        probes.remove(self.path)

    def shutdown(self, parent: Any) -> None:
        self.stop(parent)
