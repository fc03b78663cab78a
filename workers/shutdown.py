"""A deadline on a worker's shutdown.

Celery's stop sequence talks to Redis (closing the control-command queue, sending the worker-offline
event, acknowledging) and each call waits for its socket timeout and retries; with Redis frozen or
partitioned (connections neither answered nor refused) the whole stop took minutes. From the
moment the stop signal arrives (SIGTERM, SIGQUIT or SIGINT), the worker gets
`DRSYNCER_SHUTDOWN_TIMEOUT`; past it, the pool processes are killed and the worker exits. Tasks it
had not acknowledged stay in Redis's unacknowledged set and are delivered again after the
visibility timeout, as for a worker that vanished.

The clock starts in a handler placed in front of Celery's own (`arm_on_signals`, from the worker
bootstep `ArmOnSignals`, which starts right after Celery installed its handlers), not at Celery's
`worker_shutting_down`: Celery sends that only after its cold-shutdown callback, which first waits
out the soft shutdown, so a deadline armed there ran late by that much. `worker_shutting_down`
still arms it for a signal that comes before the bootstep ran.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable
from typing import Any

from celery import bootsteps

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

    def arm_on_signals(self, *signums: int) -> None:
        """Arm the deadline first when one of `signums` arrives, then run the handler that was there
        (Celery's). Call from the main thread after Celery installed its handlers (`ArmOnSignals`)."""
        if threading.current_thread() is not threading.main_thread():
            log.warning(
                "worker started outside the main thread: the shutdown deadline starts when "
                "Celery begins its shutdown, not at the signal"
            )
            return
        for signum in signums:
            previous = signal.getsignal(signum)
            if not callable(previous):
                continue  # not a signal Celery handles: leave its default action alone

            def handler(num: int, frame: Any, previous: Callable[[int, Any], Any] = previous) -> None:
                self.arm()
                previous(num, frame)

            signal.signal(signum, handler)

    def _expire(self) -> None:
        from billiard.process import active_children

        children = active_children()
        log.error(
            "worker did not stop within %.0f s of being told to (Redis unreachable?); killing %d "
            "pool process(es) and exiting; unacknowledged tasks are delivered again after the "
            "visibility timeout",
            self.timeout_s,
            len(children),
        )
        for child in children:
            if child.pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child.pid, signal.SIGKILL)
        logging.shutdown()
        os._exit(EXIT_DEADLINE)


class ArmOnSignals(bootsteps.StartStopStep):
    """Worker bootstep: Celery's blueprint starts it after `Worker.on_start` installed Celery's signal
    handlers and before the consumer connects, so the deadline counts from the signal from then on."""

    deadline: ShutdownDeadline | None = None  # set by the entry point before the worker starts

    def start(self, parent: Any) -> None:
        if self.deadline is not None:
            self.deadline.arm_on_signals(signal.SIGTERM, signal.SIGQUIT, signal.SIGINT)
