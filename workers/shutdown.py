"""A deadline on a worker's shutdown.

Celery's stop sequence talks to Redis (closing the control-command queue, sending the worker-offline
event, acknowledging) and each call waits for its socket timeout and retries; with Redis frozen or
partitioned (connections neither answered nor refused) the whole stop took minutes. From the
moment Celery starts shutting down (SIGTERM, SIGQUIT or SIGINT), the worker gets
`DRSYNCER_SHUTDOWN_TIMEOUT`; past it, the pool processes are killed and the worker exits. Tasks it
had not acknowledged stay in Redis's unacknowledged set and are delivered again after the
visibility timeout, as for a worker that vanished.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from typing import Any

log = logging.getLogger(__name__)

# exit status of a worker stopped by its deadline (128 + SIGTERM, as if SIGTERM had killed it)
EXIT_DEADLINE = 128 + signal.SIGTERM


class ShutdownDeadline:
    """Connect `arm` to Celery's `worker_shutting_down` signal in the worker's main process."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._armed = threading.Lock()

    def arm(self, **_: Any) -> None:
        if not self._armed.acquire(blocking=False):
            return  # a second signal during the shutdown; the first deadline stands
        timer = threading.Timer(self.timeout_s, self._expire)
        timer.daemon = True
        timer.name = "shutdown-deadline"
        timer.start()

    def _expire(self) -> None:
        from billiard.process import active_children

        children = active_children()
        log.error("worker did not stop within %.0f s of being told to (Redis unreachable?); killing %d "
                  "pool process(es) and exiting; unacknowledged tasks are delivered again after the "
                  "visibility timeout", self.timeout_s, len(children))
        for child in children:
            if child.pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child.pid, signal.SIGKILL)
        logging.shutdown()
        os._exit(EXIT_DEADLINE)
