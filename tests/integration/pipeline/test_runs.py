"""Run records and namespace locks in a real Redis: however many namespaces finish at once, exactly one
reports the run; an overtaken delivery reports nothing; the first task to take its lock starts the run."""

from __future__ import annotations

import threading

import pytest
import redis

from drsyncer.status.replication import NamespaceRecord
from drsyncer.status.runs import SUPERSEDED, Claim, RunStore
from drsyncer.sync.result import Outcome, TargetResult
from workers.guards import Mark, NamespaceLock

OWNER = "Replication/dr-system/web/u1"


def _record(ns: str, created: int) -> NamespaceRecord:
    target = TargetResult("dr1", ns, ns)
    target.record("ConfigMap", Outcome.CREATED, created)
    return NamespaceRecord(ns, [target.finish(0.1)], 1.0, 2.0)


def test_concurrent_finishes_store_every_record_and_exactly_one_claims_the_run(redis_url: str) -> None:
    store = RunStore(redis.Redis.from_url(redis_url))
    namespaces = [f"ns-{i:02d}" for i in range(40)]
    assert store.begin(OWNER, "run-1", 10.0) is True
    assert store.begin(OWNER, "run-1", 11.0) is False  # the run had started
    claims = []
    barrier = threading.Barrier(len(namespaces))

    def finish(i: int, ns: str) -> None:
        barrier.wait()
        claim = store.finish(OWNER, "run-1", _record(ns, i), namespaces)
        if claim is not None:
            claims.append(claim)

    threads = [threading.Thread(target=finish, args=(i, ns)) for i, ns in enumerate(namespaces)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(claims) == 1 and claims[0].started_at == 10.0
    records = store.records(OWNER, namespaces)
    assert sum(r.targets[0].totals.created for r in records) == sum(range(len(namespaces)))
    # the next run starts afresh
    assert store.begin(OWNER, "run-1", 20.0) is True


def test_a_change_run_of_one_namespace_reports_alone_and_removed_namespaces_are_forgotten(
    redis_url: str,
) -> None:
    store = RunStore(redis.Redis.from_url(redis_url))
    assert store.finish(OWNER, "schedule", _record("a", 1), ["a", "b"]) is None
    assert store.finish(OWNER, "change-1", _record("a", 2), ["a"]) is not None
    assert store.finish(OWNER, "schedule", _record("b", 3), ["a", "b"]) is not None
    assert {r.source_namespace: r.targets[0].totals.created for r in store.records(OWNER)} == {"a": 2, "b": 3}
    store.forget(OWNER, ["b"])
    assert [r.source_namespace for r in store.records(OWNER)] == ["a"]


def _delivery(task_id: str = "t1", run_id: str = "r1", started_at: float = 200.0) -> NamespaceRecord:
    return NamespaceRecord("web", [], started_at, started_at + 5, task_id=task_id, run_id=run_id)


@pytest.mark.parametrize(
    ("latest", "overtaken"),
    [
        (_delivery(), True),  # a later delivery of the same task finished while this one was frozen
        (None, False),  # nothing recorded yet (or Redis lost it): this delivery reports
        (_delivery(started_at=50.0), False),  # an older record of the same task: this delivery is the newer
        (_delivery(task_id="t0"), False),  # another task's record (an earlier run)
        (_delivery(run_id="r0"), False),
    ],
)
def test_a_frozen_delivery_overtaken_by_its_redelivery_is_not_reported(
    redis_url: str, latest: NamespaceRecord | None, overtaken: bool
) -> None:
    store = RunStore(redis.Redis.from_url(redis_url), prefix=f"test:overtaken:{id(latest)}:")
    if latest is not None:
        assert isinstance(store.finish(OWNER, latest.run_id, latest, ["web"]), Claim)
    frozen = NamespaceRecord("web", [], 100.0, 300.0, task_id="t1", run_id="r1")
    answer = store.finish(OWNER, "r1", frozen, ["web"])
    assert (answer is SUPERSEDED) is overtaken
    kept = store.records(OWNER, ["web"])
    assert kept == ([latest] if overtaken else [frozen])


def test_taking_a_namespace_lock_marks_the_run_started_once_and_a_busy_lock_marks_nothing(
    redis_url: str,
) -> None:
    client = redis.Redis.from_url(redis_url)
    store = RunStore(client, prefix="test:lock-mark:")
    lock = NamespaceLock(client, ttl_s=60)
    first = Mark(*store.start_mark(OWNER, "run-9", 10.0), 60)
    with lock.held("test:lock:a", "task-a", first) as held:
        assert held and held.marked
        # the namespace is busy: another task neither takes it nor marks its own run
        other = Mark(*store.start_mark(OWNER, "run-10", 11.0), 60)
        busy = lock.take("test:lock:a", "task-b", other)
        assert not busy and not busy.marked
        assert store.begin(OWNER, "run-10", 12.0) is True  # run-10 was not marked by the busy task
    # the lock was released; a later task of run-9 takes it but the run had started
    with lock.held("test:lock:a", "task-c", Mark(*store.start_mark(OWNER, "run-9", 13.0), 60)) as held:
        assert held and not held.marked
    last = NamespaceRecord("a", [], 13.0, 14.0, task_id="task-c", run_id="run-9")
    claim = store.finish(OWNER, "run-9", last, ["a"])
    assert isinstance(claim, Claim) and claim.started_at == 10.0


def test_a_namespace_record_releases_its_tasks_lock_and_never_another_tasks(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    store = RunStore(client, prefix="test:release:")
    lock = NamespaceLock(client, ttl_s=60)
    with lock.held("test:lock:release", "task-a") as held:
        record = NamespaceRecord("a", [], 1.0, 2.0, task_id="task-a", run_id="run-1")
        assert store.finish(OWNER, "run-1", record, ["a"], release=("test:lock:release", "task-a"))
        held.released = True
        # free at once: the next task of the namespace takes it while this one reports the run
        assert lock.take("test:lock:release", "task-b")
    assert client.get("test:lock:release") == b"task-b"  # `held` left task-b's lock alone
    # a delivery whose lock was taken over keeps its hands off the new owner's lock, overtaken or not
    late = NamespaceRecord("a", [], 0.5, 3.0, task_id="task-a", run_id="run-1")
    answer = store.finish(OWNER, "run-1", late, ["a"], release=("test:lock:release", "task-a"))
    assert answer is SUPERSEDED and client.get("test:lock:release") == b"task-b"
