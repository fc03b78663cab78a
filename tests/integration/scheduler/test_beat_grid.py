"""Beat's interval entries keep to their owner's grid in Redis (a real redis-server), so a late send
does not push later runs back, and the workers' `nextSyncTime` names the time beat will send."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import redis
from celery.schedules import crontab, schedule
from redbeat.decoder import RedBeatJSONDecoder
from redbeat.schedulers import get_redis

from drsyncer.api.parse import parse_replication
from drsyncer.api.replication import Replication
from drsyncer.api.schedule import interval_run_slot, schedule_key
from drsyncer.status.replication import next_sync_time
from scheduler.celery_app import make_app
from workers.beat import GridEntry, HeartbeatRedBeatScheduler

HOUR = timedelta(hours=1)
OWNER = {"kind": "Replication", "namespace": "dr-system", "name": "web", "uid": "u-1", "generation": 1}


def _entry(app, every: timedelta) -> GridEntry:  # type: ignore[no-untyped-def]
    return GridEntry(
        name="drsyncer:dr-system/web:web",
        task="drsyncer.sync_namespace",
        schedule=schedule(run_every=every),
        kwargs={"replication": OWNER},
        app=app,
    ).save()


def _replication(schedule: str) -> Replication:
    return parse_replication(
        {
            "apiVersion": "dr-syncer.io/v1alpha1",
            "kind": "Replication",
            "metadata": {"name": "web", "namespace": "dr-system"},
            "spec": {
                "sourceCluster": "src",
                "destinationCluster": "dr1",
                "sourceNamespace": "web",
                "schedule": schedule,
            },
        }
    )


def _stored_last_run_at(app, entry: GridEntry) -> datetime:  # type: ignore[no-untyped-def]
    """What beat reads back from Redis on its next tick."""
    raw = get_redis(app).hget(entry.key, "meta")
    when: datetime = json.loads(raw, cls=RedBeatJSONDecoder)["last_run_at"]
    return when


def test_a_send_is_recorded_at_its_grid_slot_not_at_the_time_it_went_out(redis_url: str) -> None:
    app = make_app(redis_url)
    entry = _entry(app, HOUR)
    # sending an hour-long entry now is, for its grid, a send up to an hour late
    before = datetime.now(UTC)
    sent = next(entry)
    after = datetime.now(UTC)
    key = schedule_key("Replication", "dr-system", "web")
    slots = {interval_run_slot(key, HOUR, before), interval_run_slot(key, HOUR, after)}
    stored = _stored_last_run_at(app, entry)
    assert stored in slots and sent.last_run_at in slots
    # so the next run is due one interval after the slot, not one interval after the send, and never
    # sooner than half an interval after it
    assert sent.due_at == stored + HOUR
    assert before + HOUR / 2 <= sent.due_at <= after + HOUR * 1.5


def test_the_workers_next_sync_time_is_when_beat_sends_next(redis_url: str) -> None:
    app = make_app(redis_url)
    started = datetime.now(UTC)
    sent = next(_entry(app, HOUR))
    model = _replication("@every 1h")
    # a run beat sent, reported when it ends
    assert next_sync_time(model, None, datetime.now(UTC), scheduled_start=started) == sent.due_at


def test_cron_entries_are_left_to_the_cron(redis_url: str) -> None:
    app = make_app(redis_url)
    entry = GridEntry(
        name="drsyncer:dr-system/web:cron",
        task="drsyncer.sync_namespace",
        schedule=crontab(minute="*/5"),
        kwargs={"replication": OWNER},
        app=app,
    ).save()
    before = datetime.now(UTC)
    sent = next(entry)
    assert sent.last_run_at >= before - timedelta(seconds=1)


def test_a_tick_sends_every_due_entry_once_and_drops_entries_deleted_meanwhile(redis_url: str) -> None:
    """Beat reads a tick's due entries together (workers.beat.HeartbeatRedBeatScheduler.schedule);
    each due one goes out exactly once, one not due yet stays, a deleted one leaves the schedule."""
    app = make_app(redis_url)
    app.conf.redbeat_redis_url = redis_url
    queue = "beat-grid-wave"
    names = [f"drsyncer:dr-system/wave:ns-{i}" for i in range(12)]
    for name in [*names, "drsyncer:dr-system/later:ns"]:
        entry = GridEntry(
            name=name,
            task="drsyncer.sync_namespace",
            schedule=schedule(run_every=HOUR if name.endswith("later:ns") else timedelta(seconds=30)),
            kwargs={"replication": {**OWNER, "name": name.split("/")[1].split(":")[0]}, "entry": name},
            options={"queue": queue},
            app=app,
        )
        entry.last_run_at = None  # never sent: due now (as the watcher writes a new entry)
        entry.save()
    client = get_redis(app)
    # the hour-long entry was sent a moment ago: not due; another entry's hash went away, its key did not
    later = GridEntry(
        name="drsyncer:dr-system/later:ns",
        task="drsyncer.sync_namespace",
        schedule=schedule(run_every=HOUR),
        app=app,
    )
    next(GridEntry.from_key(later.key, app=app))
    gone = GridEntry(name="drsyncer:dr-system/gone:ns", task="t", schedule=schedule(run_every=HOUR), app=app)
    client.zadd(app.redbeat_conf.schedule_key, {gone.key: 0})

    scheduler = HeartbeatRedBeatScheduler(app, lock_key=None, max_interval=1)
    assert sorted(scheduler.schedule) == sorted(names)  # the due ones, the not-due one beyond max_interval
    scheduler.tick()
    scheduler.tick()  # a second tick right after: nothing is due again

    sent = [json.loads(raw) for raw in client.lrange(queue, 0, -1)]
    entries = [json.loads(base64.b64decode(m["body"]))[1]["entry"] for m in sent]
    assert sorted(entries) == sorted(names)
    assert client.zscore(app.redbeat_conf.schedule_key, gone.key) is None
    # what a send recorded: the grid slot, due again one period later
    stored = GridEntry.from_key(GridEntry(name=names[0], task="t", app=app).key, app=app)
    assert stored.total_run_count == 1 and stored.due_at > datetime.now(UTC)

    # an entry the watcher deletes while a tick is sending it stays deleted
    deleted = GridEntry.from_key(later.key, app=app)
    scheduler.reserve(deleted)  # as Celery's apply_async does before the send
    deleted.delete()
    scheduler.tick()
    assert not client.exists(later.key) and client.zscore(app.redbeat_conf.schedule_key, later.key) is None
    scheduler.close()


class _CountedConnection(redis.Connection):
    """redis-py's connection, counting its sends: one send is one round trip (a pipeline's included)."""

    sent = 0

    def send_packed_command(self, command: object, check_health: bool = True) -> None:
        type(self).sent += 1
        super().send_packed_command(command, check_health)  # type: ignore[arg-type]


def test_a_wave_of_due_entries_is_published_in_a_few_round_trips_and_all_arrive(redis_url: str) -> None:
    app = make_app(redis_url)
    app.conf.redbeat_redis_url = redis_url
    queue = "beat-grid-batch"
    names = [f"drsyncer:dr-system/batch:ns-{i}" for i in range(40)]
    for name in names:
        entry = GridEntry(
            name=name,
            task="drsyncer.sync_namespace",
            schedule=schedule(run_every=timedelta(seconds=30)),
            kwargs={"replication": {**OWNER, "name": "batch"}, "entry": name},
            options={"queue": queue},
            app=app,
        )
        entry.last_run_at = None
        entry.save()
    scheduler = HeartbeatRedBeatScheduler(app, lock_key=None, max_interval=1)
    # the broker connection beat publishes on, before its first command
    scheduler.producer.channel.connection_class = _CountedConnection
    try:
        scheduler.tick()
        client = get_redis(app)
        sent = [
            json.loads(base64.b64decode(json.loads(raw)["body"]))[1]["entry"]
            for raw in client.lrange(queue, 0, -1)
        ]
        assert sorted(sent) == sorted(names)
        # one pipeline for the 40 messages (SEND_BATCH 64), not a round trip each (47 in all then);
        # the first send's declaration of the queue and its binding take a few more
        assert 0 < _CountedConnection.sent <= 10
        stored = GridEntry.from_key(GridEntry(name=names[-1], task="t", app=app).key, app=app)
        assert stored.total_run_count == 1
    finally:
        scheduler.close()


def test_a_cron_restricting_both_days_fires_on_a_day_matching_either_as_next_sync_time_says(
    redis_url: str,
) -> None:
    """Cron (and Kubernetes' CronJob, and the Go operator) runs `0 2 15 * MON` on the 15th and on
    every Monday; Celery's crontab alone would run it only on a Monday that is the 15th."""
    app = make_app(redis_url)
    entry = GridEntry(
        name="drsyncer:dr-system/web:days",
        task="drsyncer.sync_namespace",
        schedule=crontab(minute="0", hour="2", day_of_month="15", day_of_week="MON"),
        kwargs={"replication": OWNER},
        app=app,
    ).save()
    loaded = GridEntry.from_key(entry.key, app=app)  # as beat reads it back from Redis
    tuesday = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    loaded.last_run_at = tuesday
    loaded.schedule.nowfun = lambda: datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    monday = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
    assert loaded.due_at == monday
    loaded.schedule.nowfun = lambda: monday + timedelta(seconds=5)
    assert loaded.is_due()[0]  # Monday the 7th, not the 15th
    loaded.last_run_at = monday
    assert loaded.due_at == datetime(2026, 12, 14, 2, 0, tzinfo=UTC)  # the next Monday comes first
    loaded.last_run_at = datetime(2026, 12, 14, 2, 0, tzinfo=UTC)
    assert loaded.due_at == datetime(2026, 12, 15, 2, 0, tzinfo=UTC)  # then the 15th, a Tuesday
    # the workers' nextSyncTime after each run names the same times
    model = _replication("0 2 15 * MON")
    assert next_sync_time(model, None, tuesday) == monday
    assert next_sync_time(model, None, datetime(2026, 12, 14, 2, 0, tzinfo=UTC)) == datetime(
        2026, 12, 15, 2, 0, tzinfo=UTC
    )
