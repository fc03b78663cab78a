"""A schedule entry whose previous run still waits in the queue is not sent again (workers/beat.py):
with no worker taking tasks the queue holds one run per entry however many slots pass, and the entry
is sent again once a worker has started the waiting run, or once the queue is empty."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
import redis
from celery.schedules import schedule

from drsyncer.task_contract import SYNC_QUEUE, ReplicationRef, SyncJob, Target, queued_key
from scheduler.celery_app import make_app
from tests.fixtures.polling import eventually
from workers.beat import GridEntry, HeartbeatRedBeatScheduler
from workers.jobs import taken_from_queue

JOB = SyncJob(
    ReplicationRef("Replication", "dr-system", "web", "u-1", 1), "prod", "shop", (Target("dr1", "shop"),)
)
NAME = "drsyncer:dr-system/web:shop"


@pytest.fixture
def beat(redis_url: str):  # type: ignore[no-untyped-def]
    app = make_app(redis_url)
    app.conf.redbeat_redis_url = redis_url
    entry = GridEntry(
        name=NAME,
        task="drsyncer.sync_namespace",
        schedule=schedule(run_every=timedelta(seconds=1)),
        kwargs=JOB.to_kwargs(),
        options={"queue": SYNC_QUEUE},
        app=app,
    )
    entry.last_run_at = None  # never sent: due now
    entry.save()
    scheduler = HeartbeatRedBeatScheduler(app, lock_key=None, max_interval=1)
    yield scheduler
    scheduler.close()


def _runs(scheduler: HeartbeatRedBeatScheduler) -> int:
    entry = GridEntry.from_key(GridEntry(name=NAME, task="t", app=scheduler.app).key, app=scheduler.app)
    return int(entry.total_run_count)


def _waiting(client: redis.Redis) -> int:
    """The entry's count of runs sent and not started (0 without a key)."""
    return int(client.get(queued_key(NAME)) or 0)


def _next_slot(scheduler: HeartbeatRedBeatScheduler) -> None:
    """Tick until the entry's next slot has passed (sent or held back)."""
    before = _runs(scheduler)

    def passed() -> bool:
        scheduler.tick()
        return _runs(scheduler) > before

    eventually(passed, timeout_s=10, what="the entry's next slot")


def test_an_entry_whose_run_still_waits_is_not_sent_again_until_a_worker_starts_it(
    beat: HeartbeatRedBeatScheduler, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = redis.Redis.from_url(redis_url)
    assert JOB.entry == NAME  # what the worker takes off is the count beat adds to
    caplog.set_level(logging.WARNING, logger="workers.beat")

    beat.tick()
    assert client.llen(SYNC_QUEUE) == 1
    for _ in range(3):  # three slots with no worker: nothing more is queued
        _next_slot(beat)
    assert client.llen(SYNC_QUEUE) == 1
    assert _waiting(client) == 1
    warnings = [r.getMessage() for r in caplog.records if "still waits in the queue" in r.getMessage()]
    assert len(warnings) == 1, warnings  # said once a minute, not once a slot
    assert "Replication dr-system/web, namespace shop" in warnings[0]

    # a worker takes the waiting run and starts it: the next slot sends again
    message = json.loads(client.rpop(SYNC_QUEUE))
    assert message["headers"]["task"] == "drsyncer.sync_namespace"
    taken_from_queue(client, JOB)
    assert not client.exists(queued_key(NAME))  # no key is left once nothing waits
    _next_slot(beat)
    assert client.llen(SYNC_QUEUE) == 1


def test_a_worker_that_starts_the_run_before_beat_counts_its_send_leaves_no_count_behind(
    beat: HeartbeatRedBeatScheduler, redis_url: str
) -> None:
    # beat counts a tick's sends once the tick has published them; an idle worker has often started
    # the task by then. The count is sends less starts in either order: it must not be left at 1
    client = redis.Redis.from_url(redis_url)
    client.lpush(SYNC_QUEUE, "another entry's run")  # the queue is not empty: holding back applies
    for _ in range(3):
        taken_from_queue(client, JOB)  # the worker starts the run first, then beat counts the send
        _next_slot(beat)
        client.lpop(SYNC_QUEUE)  # (the run the worker took)
        assert _waiting(client) == 0
    # so the next slot is sent and the one after it is held back while that run waits
    sent_and_held = []
    for _ in range(2):
        _next_slot(beat)
        sent_and_held.append((_waiting(client), client.llen(SYNC_QUEUE)))
    assert sent_and_held == [(1, 2), (1, 2)]


def test_an_empty_queue_holds_no_entry_back_whatever_the_count_says(
    beat: HeartbeatRedBeatScheduler, redis_url: str
) -> None:
    client = redis.Redis.from_url(redis_url)
    beat.tick()
    client.delete(SYNC_QUEUE)  # purged by hand: the count stays, the run is gone
    assert _waiting(client) == 1
    _next_slot(beat)
    assert client.llen(SYNC_QUEUE) == 1
    assert 0 < client.ttl(queued_key(NAME)) <= 3600
