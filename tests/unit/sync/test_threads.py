"""The thread pools a process keeps: started ahead of the work that needs them."""

from __future__ import annotations

import threading
import uuid

from drsyncer.sync.threads import kept_pool, start_threads


def test_start_threads_starts_that_many_distinct_threads_which_later_work_runs_on() -> None:
    name = f"test-{uuid.uuid4().hex[:6]}"
    assert start_threads(name, 8, 6, wait_s=5.0) == 6
    started = {t.ident for t in threading.enumerate() if t.name.startswith(name)}
    assert len(started) == 6
    pool = kept_pool(name, 8)
    # the work that follows finds them started: the pool runs it on the threads already there
    used = {pool.submit(threading.get_ident).result() for _ in range(20)}
    assert used <= started


def test_start_threads_stays_within_the_pools_limit() -> None:
    name = f"test-{uuid.uuid4().hex[:6]}"
    assert start_threads(name, 3, 10, wait_s=5.0) == 3
    assert start_threads(name, 3, 0, wait_s=5.0) == 0
