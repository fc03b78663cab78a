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


def start_threads(name: str, max_threads: int, count: int, wait_s: float) -> int:
    """Start `count` threads of this process's pool `name` now (fewer when `max_threads` or `wait_s`
    says so); returns how many started. For a process getting ready before its first task: a pool
    otherwise starts each thread inside the work that first needs it."""
    pool = kept_pool(name, max_threads)
    count = max(0, min(count, max_threads))
    if count == 0:
        return 0
    # each job holds its thread until all have started, so `count` distinct threads run them
    together = threading.Barrier(count)

    def job() -> bool:
        try:
            together.wait(wait_s)
        except threading.BrokenBarrierError:
            return False
        return True

    jobs = [pool.submit(job) for _ in range(count)]
    return sum(1 for j in jobs if j.result())


__all__ = ["kept_pool", "start_threads"]
