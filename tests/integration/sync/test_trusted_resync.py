"""Scheduled resyncs that trust the change feeds: an unchanged namespace costs no request to either
cluster, and whatever anyone changes (a source object, a copy, a deleted copy, a deleted source, the
rules) is still synced by the next scheduled run. Real Redis, real feed threads, both backends."""

from __future__ import annotations

import dataclasses
import os
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml
from celery.signals import worker_process_shutdown
from kubernetes import client as k8s

from drsyncer.api import keys
from drsyncer.config import WORKER_DEFAULTS, load_settings
from drsyncer.sync.result import TargetResult
from drsyncer.sync.rules import Rules
from drsyncer.sync.watermark import fingerprint
from tests.fixtures.polling import eventually
from tests.integration.sync.conftest import World, counts_of, create, delete, modify, read, rules, seed
from workers import change_feed, jobs
from workers.change_feed import Feed, RedisWatermarks, feed_prefix

PAYLOAD = "x" * 1024
NAMES = ("alpha", "bravo", "charlie", "delta")
CLUSTERS = ("source", "dr1", "dr2")


def _configmap(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"payload": PAYLOAD}}


class Requests:
    """Requests drsyncer's clients sent, watches excepted (the feeds' own)."""

    def __init__(self, world: World) -> None:
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()
        for name in CLUSTERS:
            world.clients[name].counters.observers.append(self.observe)

    def observe(self, cluster: str, verb: str, status: int) -> None:
        if verb != "WATCH":
            with self.lock:
                self.counts[cluster] += 1

    def take(self) -> int:
        with self.lock:
            total = sum(self.counts.values())
            self.counts.clear()
        return total


@pytest.fixture
def store(redis_url: str) -> Iterator[RedisWatermarks]:
    client = redis.Redis.from_url(redis_url)
    memory = RedisWatermarks(client)
    yield memory
    memory.close()
    client.close()


def _run(world: World, store: RedisWatermarks, sync_rules: Rules, trusted: bool) -> list[TargetResult]:
    return world.sync(sync_rules, prune=True, watermarks=store, replication_uid="uid-shop", trusted=trusted)


def test_a_scheduled_resync_reads_nothing_until_something_changes(
    world: World, store: RedisWatermarks
) -> None:
    seed(world, [_configmap(n) for n in NAMES])
    sync_rules = rules(resourceTypes=["configmaps"], syncCRDs=False)
    requests = Requests(world)
    settled = [{"unchanged": len(NAMES), "skipped": 1}] * 2  # kube-root-ca.crt is never copied

    _run(world, store, sync_rules, trusted=False)  # the first run starts the feeds

    # the copies' own creation is recorded by the run; on a real cluster the controller adds
    # kube-root-ca.crt to each new destination namespace, which one more run takes in
    def quiet() -> bool:
        requests.take()
        results = _run(world, store, sync_rules, trusted=True)
        return requests.take() == 0 and [counts_of(r) for r in results] == settled

    eventually(quiet, timeout_s=30, what="a scheduled run that reads nothing")

    # a run that was asked for reads, whatever the feeds say
    assert [counts_of(r) for r in _run(world, store, sync_rules, trusted=False)] == settled
    assert requests.take() > 0

    # changes by anyone else: a source object, a copy edited by hand, a copy deleted, a source deleted
    modify(world, "source", _configmap("bravo"), lambda cm: cm["data"].update(level="2"))

    def edit(cm: dict[str, Any]) -> None:  # the documented way to have a copy rewritten
        cm["data"] = {"payload": "edited"}
        del cm["metadata"]["annotations"][keys.ANNOTATION_SOURCE_HASH]

    modify(world, "dr1", _configmap("alpha"), edit)
    delete(world, "dr2", _configmap("charlie"))
    delete(world, "source", _configmap("delta"))

    def repaired() -> bool:
        _run(world, store, sync_rules, trusted=True)
        for cluster in ("dr1", "dr2"):
            bravo, alpha, charlie = (
                read(world, cluster, _configmap(n)) for n in ("bravo", "alpha", "charlie")
            )
            if not (bravo and bravo["data"].get("level") == "2"):
                return False
            if not (alpha and alpha["data"]["payload"] == PAYLOAD and charlie is not None):
                return False
            if read(world, cluster, _configmap("delta")) is not None:
                return False
        return True

    eventually(repaired, timeout_s=30, what="scheduled runs repairing every change")
    eventually(
        lambda: _quiet(world, store, sync_rules, requests, len(NAMES) - 1),
        timeout_s=30,
        what="a scheduled run that reads nothing after the repairs",
    )

    # a rules change is not covered by any watermark: the next scheduled run rewrites every copy
    changed = dataclasses.replace(sync_rules, keep_node_ports=True)
    assert [counts_of(r) for r in _run(world, store, changed, trusted=True)] == [
        {"updated": len(NAMES) - 1, "skipped": 1}
    ] * 2

    # without running feeds (their leases gone) a scheduled run reads everything again
    store.close()
    requests.take()
    assert [counts_of(r) for r in _run(world, store, changed, trusted=True)] == [
        {"unchanged": len(NAMES) - 1, "skipped": 1}
    ] * 2
    assert requests.take() > 0


def _quiet(world: World, store: RedisWatermarks, sync_rules: Rules, requests: Requests, copies: int) -> bool:
    requests.take()
    results = _run(world, store, sync_rules, trusted=True)
    return (
        requests.take() == 0 and [counts_of(r) for r in results] == [{"unchanged": copies, "skipped": 1}] * 2
    )


@pytest.mark.sim_only("refuses every watch of one cluster")
def test_a_destination_whose_feeds_cannot_run_is_read_on_every_scheduled_run(
    world: World, store: RedisWatermarks, caplog: pytest.LogCaptureFixture
) -> None:
    world.sim("dr2").faults.set(error_rates={"watch": {503: 1.0}}, retry_after_s=0)
    seed(world, [_configmap(n) for n in NAMES])
    sync_rules = rules(resourceTypes=["configmaps"], syncCRDs=False)
    requests = Requests(world)
    _run(world, store, sync_rules, trusted=False)

    for _ in range(3):
        requests.take()
        _, dr2 = _run(world, store, sync_rules, trusted=True)
        assert counts_of(dr2) == {"unchanged": len(NAMES), "skipped": 1}
        assert requests.counts["dr2"] > 0  # read, as without feeds
    assert "change feed of configmaps on dr2 stopped" in caplog.text

    # dr1's feeds run: once its watermark holds, dr1 is not read while dr2 is
    def dr1_settled() -> bool:
        requests.take()
        _run(world, store, sync_rules, trusted=True)
        return requests.counts["dr1"] == 0 and requests.counts["dr2"] > 0

    eventually(dr1_settled, timeout_s=30, what="dr1 settled while dr2 is read")


def test_a_pool_process_that_exits_ends_its_feeds_so_runs_elsewhere_read_at_once(
    world: World, redis_url: str, tmp_path: Path
) -> None:
    # a worker's pool process runs the feeds in its context; a run in another process must not trust
    # them once that process is gone (SIGTERM, worker_max_tasks_per_child), not even until the
    # leases lapse
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(world.clusters["source"].kubeconfig_dict()))
    settings = load_settings(
        {
            "DRSYNCER_REDIS_URL": redis_url,
            "DRSYNCER_KUBECONFIG": str(kubeconfig),
            "DRSYNCER_KUBE_CONTEXT": "source",
        },
        defaults=WORKER_DEFAULTS,
        in_cluster_namespace=lambda: None,
    )
    previous, jobs._context = jobs._context, None
    ctx = jobs.context(settings)
    elsewhere = RedisWatermarks(redis.Redis.from_url(redis_url))
    try:
        source = world.clients["source"]
        key = (source.identity, "configmaps", world.ns, "")
        ctx.watermarks.watch(source, [source.resolve("configmaps")])
        assert elsewhere.snapshot([key])[key] is not None  # the feed runs, and another process sees it

        worker_process_shutdown.send(sender=None, pid=os.getpid(), exitcode=0)

        assert elsewhere.snapshot([key])[key] is None
    finally:
        elsewhere.redis.close()
        ctx.close()
        jobs._context = previous


def test_a_feed_whose_starting_lease_lapsed_and_was_taken_leaves_it_to_the_other_process(
    world: World, redis_url: str
) -> None:
    # one feed per type and cluster: a process whose watch took longer to open than the lease lasts
    # finds another process's lease in its place, and must not take it over
    client = redis.Redis.from_url(redis_url)
    source = world.clients["source"]
    ref = source.resolve("configmaps")
    lease = f"{feed_prefix(source.identity, ref.group_resource)}:epoch"
    client.set(lease, "starting:other", px=15_000)
    feed = Feed(client, source, ref, "starting:mine")
    try:
        feed.start()
        eventually(lambda: feed.live.is_set() or not feed.running, timeout_s=10, what="the feed to decide")
        assert not feed.live.is_set()
        assert client.get(lease) == b"starting:other"
    finally:
        feed.stop()
        client.close()


def test_a_large_feed_record_is_kept_as_its_digest_and_still_tells_changes(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(change_feed, "KEPT_NAMES", 3)
    client = redis.Redis.from_url(redis_url)
    store = RedisWatermarks(client)
    record = {f"cm-{i}": str(100 + i) for i in range(6)}
    client.hset("record", mapping=dict(record))

    kept = store._record("record")

    assert isinstance(kept, int)  # more names than are kept
    assert fingerprint(("e1", kept)) == fingerprint(("e1", record))
    client.hset("record", "cm-2", "999")
    assert fingerprint(("e1", store._record("record"))) != fingerprint(("e1", kept))
    # what a run's own writes replaced in a digest is not known: no watermark is made of it
    assert fingerprint(("e1", kept), {"cm-1": "7"}) is None
    client.close()


def test_one_read_gives_every_feed_state_and_watermark_and_a_long_record_is_paged(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(change_feed, "SCAN_COUNT", 3)  # records of more names are paged
    client = redis.Redis.from_url(redis_url)
    store = RedisWatermarks(client)
    live, starting = feed_prefix("c1", "configmaps"), feed_prefix("c1", "namespaces")
    client.set(f"{live}:epoch", "e1")
    client.set(f"{starting}:epoch", "starting:e2")  # its watch is not open yet: not trusted
    short = {"cm-a": "11", "cm-b": "12"}
    long = {f"cm-{i}": str(100 + i) for i in range(5)}
    client.hset(f"{live}:e1:ns:short", mapping=dict(short))
    client.hset(f"{live}:e1:ns:long", mapping=dict(long))
    client.set(f"{change_feed.WATERMARK_PREFIX}:m1", '{"digest": "d"}')
    keys = [
        ("c1", "configmaps", "short", ""),
        ("c1", "configmaps", "long", ""),
        ("c1", "configmaps", "quiet", ""),  # nothing changed there since the feed started
        ("c1", "namespaces", "", "short"),
        ("c9", "configmaps", "short", ""),  # no feed at all
        ("c1", "configmaps", "short", "cm-a"),  # one object's entry
        ("c1", "configmaps", "short", "cm-z"),
    ]

    states, marks = store.read(keys, ["m1", "m2"])

    assert states == {
        keys[0]: ("e1", short),
        keys[1]: ("e1", long),
        keys[2]: ("e1", {}),
        keys[3]: None,
        keys[4]: None,
        keys[5]: ("e1", {"cm-a": "11"}),
        keys[6]: ("e1", {}),
    }
    assert marks == {"m1": {"digest": "d"}, "m2": None}
    client.close()


def test_one_flush_thread_keeps_every_feed_and_a_feed_that_lost_its_lease_stops_alone(
    world: World, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # leases renewed every 0.1 s, so losing one shows at once
    monkeypatch.setattr(change_feed, "LEASE_S", 0.3)
    client = redis.Redis.from_url(redis_url)
    store = RedisWatermarks(client)
    try:
        seed(world, [_configmap("flushed")])
        for name in ("source", "dr1"):
            store.watch(world.clients[name], [world.clients[name].resolve("configmaps")])
        feeds = {
            name: store._feeds[(world.clients[name].identity, "configmaps")] for name in ("source", "dr1")
        }
        assert all(f.live.is_set() for f in feeds.values())
        assert [t.name for t in threading.enumerate()].count("feed-flush") == 1
        if world.get("dr1", f"/api/v1/namespaces/{world.ns}") is None:
            k8s.CoreV1Api(world.stock["dr1"]).create_namespace({"metadata": {"name": world.ns}})
        create(world, "dr1", _configmap("flushed"))
        modify(world, "source", _configmap("flushed"), lambda o: o["data"].update(payload="y"))

        def recorded(name: str) -> bool:
            feed = feeds[name]
            return client.hexists(f"{feed.prefix}:{feed.epoch}:ns:{world.ns}", "flushed")

        eventually(lambda: recorded("source") and recorded("dr1"), timeout_s=10, what="both changes recorded")
        # another process took the source feed's lease: that feed stops, the other runs on
        client.set(f"{feeds['source'].prefix}:epoch", "another-epoch")
        eventually(lambda: not feeds["source"].running, timeout_s=5, what="the source feed to stop")
        assert feeds["dr1"].running and feeds["dr1"].live.is_set()
        assert client.get(f"{feeds['source'].prefix}:epoch") == b"another-epoch"
    finally:
        store.close()
        client.close()
