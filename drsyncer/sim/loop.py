"""The one asyncio event loop, on a background thread, that serves every simulated cluster of a process."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None


def shared_loop() -> tuple[asyncio.AbstractEventLoop, threading.Thread]:
    global _loop, _thread
    with _lock:
        if _loop is None or _thread is None or not _thread.is_alive():
            loop = asyncio.new_event_loop()
            ready = threading.Event()

            def run() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()

            thread = threading.Thread(target=run, name="drsyncer-sim-loop", daemon=True)
            thread.start()
            ready.wait()
            _loop, _thread = loop, thread
        return _loop, _thread


def run_on_loop(coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
    """Run `coro` on the shared loop from any other thread and wait for its result."""
    loop, thread = shared_loop()
    if threading.current_thread() is thread:
        raise RuntimeError("run_on_loop called from the simulator's own event loop")
    return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)
