"""Thread pools a process keeps for its whole life, one per purpose.

A sync would otherwise start (and join) threads for every namespace, chunk and destination; a pool
kept by the process starts threads only while none is idle. One per process id: a forked worker
process (Celery's prefork pool) starts its own, the parent's threads do not exist in it.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

_pools: dict[tuple[str, int], ThreadPoolExecutor] = {}
_lock = threading.Lock()


def kept_pool(name: str, max_threads: int) -> ThreadPoolExecutor:
    """This process's pool `name` (its threads are named after it), of at most `max_threads`."""
    key = (name, os.getpid())
    pool = _pools.get(key)
    if pool is None:
        with _lock:
            pool = _pools.get(key)
            if pool is None:
                pool = _pools[key] = ThreadPoolExecutor(max_threads, thread_name_prefix=name)
    return pool


__all__ = ["kept_pool"]
