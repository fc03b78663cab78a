"""The worker's heartbeat: a consumer bootstep that touches the heartbeat file from the consumer's
own timer, so the file goes stale when the consumer stops or hangs, not just when the process dies.

While the consumer has no connection to Redis (at start, or after losing it) its timer does not run:
the consumer is inside kombu's retry loop. A thread then touches the file for as long as those tries
go on, so a Redis outage, which a restart cannot end, does not fail the liveness probe; tries that
stop moving (a consumer hung while reconnecting) let the file go stale again."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from celery import bootsteps

from workers import probes

# kombu pauses at most 30 s between tries (Connection.ensure_connection's interval_max); Celery counts
# a try once per round over all of a broker's addresses (Sentinel's several), each of which may take
# a connect timeout when packets are dropped. Without a new try for this long, the consumer is stuck.
RECONNECT_PROGRESS_S = 300.0


def _tries(consumer: Any) -> int:
    """Failed tries to reach the broker since the consumer last connected (Celery's own count, which
    it sets back to 0 once connected)."""
    return int(getattr(consumer, "broker_connection_retry_attempt", 0) or 0)


def stands_in(connected: bool, tries: int, since_last_try_s: float) -> bool:
    """Whether the file is touched for the consumer's timer, which does not run while the consumer
    is not connected: only once a try to reach the broker has failed (`tries`, Celery's count since
    the last connection) and while a new try came within `RECONNECT_PROGRESS_S` (seconds)."""
    return not connected and tries > 0 and since_last_try_s <= RECONNECT_PROGRESS_S


class Heartbeat(bootsteps.StartStopStep):
    requires = {"celery.worker.consumer.tasks:Tasks"}
    path: Path = probes.heartbeat_file("worker")  # set by the entry point before the worker starts
    interval_s: float = probes.HEARTBEAT_INTERVAL_S

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.tref: Any = None
        self._done = threading.Event()
        self._reconnecting = threading.Thread(
            target=self._while_reconnecting, args=(parent,), name="heartbeat-reconnecting", daemon=True
        )
        self._reconnecting.start()

    def _beat(self) -> None:
        probes.beat(self.path)

    def _while_reconnecting(self, consumer: Any) -> None:
        seen, moved = _tries(consumer), time.monotonic()
        while not self._done.wait(self.interval_s):
            tries = _tries(consumer)
            if tries != seen:
                seen, moved = tries, time.monotonic()
            if stands_in(self.tref is not None, tries, time.monotonic() - moved):
                self._beat()

    def start(self, parent: Any) -> None:
        self._beat()
        self.tref = parent.timer.call_repeatedly(self.interval_s, self._beat)

    def stop(self, parent: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None
        probes.remove(self.path)

    def shutdown(self, parent: Any) -> None:
        self._done.set()
        self._reconnecting.join(timeout=self.interval_s)
        self.stop(parent)
