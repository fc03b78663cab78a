"""The redbeat store against a real Redis: exact reconcile, idempotence, scope, last run kept."""

from __future__ import annotations

from datetime import UTC, datetime

from redbeat import RedBeatSchedulerEntry
from redbeat.schedulers import get_redis

from scheduler.celery_app import make_app
from scheduler.entries import Job, ReplicationRef, Target
from scheduler.store import ScheduleStore


def _job(namespace: str, name: str, source_ns: str, generation: int = 1, schedule: str = "@every 10s") -> Job:
    return Job(
        ReplicationRef("Replication", namespace, name, "uid", generation),
        "prod",
        source_ns,
        (Target("dr1", source_ns),),
        "Scheduled",
        schedule,
    )


def _desired(*jobs: Job) -> dict[str, Job]:
    return {j.name: j for j in jobs}


def test_reconcile_adds_updates_removes_and_is_idempotent(redis_url: str) -> None:
    store = ScheduleStore(make_app(redis_url))
    a, b = _job("ns", "r", "web"), _job("ns", "r", "shop")
    first = store.reconcile(_desired(a, b))
    assert sorted(first.added) == sorted([a.name, b.name]) and not first.updated and not first.removed
    assert store.reconcile(_desired(a, b)).empty

    changed = store.reconcile(_desired(_job("ns", "r", "web", generation=2)))
    assert changed.updated == [a.name] and changed.removed == [b.name]
    assert store.names() == {a.name}
    assert store.load(a.name).kwargs["replication"]["generation"] == 2


def test_an_update_keeps_when_the_entry_last_ran(redis_url: str) -> None:
    app = make_app(redis_url)
    store = ScheduleStore(app)
    job = _job("ns", "r", "web")
    store.reconcile(_desired(job))
    ran = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    store.load(job.name).reschedule(ran)  # what beat does after sending the task

    store.reconcile(_desired(_job("ns", "r", "web", schedule="@every 1m")))
    entry = RedBeatSchedulerEntry.from_key(store.key(job.name), app=app)
    assert entry.last_run_at == ran
    assert entry.schedule.run_every.total_seconds() == 60


def test_a_namespaced_store_leaves_other_namespaces_and_kept_prefixes_alone(redis_url: str) -> None:
    app = make_app(redis_url)
    everything = ScheduleStore(app)
    other = _job("other", "r", "web")
    everything.reconcile(_desired(other, _job("ns", "r", "web"), _job("ns", "sel", "a")))

    store = ScheduleStore(app, "ns")
    changes = store.reconcile({}, keep=["drsyncer:ns/sel:"])
    assert changes.removed == ["drsyncer:ns/r:web"]
    assert everything.names() == {other.name, "drsyncer:ns/sel:a"}


def test_a_half_written_entry_is_found_and_removed(redis_url: str) -> None:
    app = make_app(redis_url)
    store = ScheduleStore(app)
    schedule_key = app.redbeat_conf.schedule_key
    get_redis(app).zadd(schedule_key, {store.key("drsyncer:ns/gone:web"): 1})  # no hash: a crash mid-write
    assert store.reconcile({}).removed == ["drsyncer:ns/gone:web"]
    assert get_redis(app).zcard(schedule_key) == 0


def test_an_updated_cron_restricting_both_days_is_scored_for_a_day_matching_either(redis_url: str) -> None:
    app = make_app(redis_url)
    store = ScheduleStore(app)
    job = _job("ns", "r", "web", schedule="0 3 * * *")
    store.reconcile(_desired(job))
    ran = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # a Tuesday
    store.load(job.name).reschedule(ran)

    # the 15th or a Monday: Monday 7 December, where a day both the 15th and a Monday is in 2027
    store.reconcile(_desired(_job("ns", "r", "web", schedule="0 2 15 * MON")))
    score = get_redis(app).zscore(app.redbeat_conf.schedule_key, store.key(job.name))
    assert score == datetime(2026, 12, 7, 2, 0, tzinfo=UTC).timestamp()
