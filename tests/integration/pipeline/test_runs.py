"""Run records in a real Redis: however many namespaces finish at once, exactly one reports the run."""

from __future__ import annotations

import threading

import redis

from drsyncer.status.replication import NamespaceRecord
from drsyncer.status.runs import RunStore
from drsyncer.sync.result import Outcome, TargetResult

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
