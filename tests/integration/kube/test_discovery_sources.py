"""Discovery read as aggregated documents agrees with the per-group-version walk, on the simulator and
on kube-apiserver; a second process's client reuses a reading kept in Redis."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import redis

from drsyncer.kube import client_from_kubeconfig
from drsyncer.kube.discovery import (
    AGGREGATED_ACCEPT,
    ServedResources,
    is_aggregated,
    offline_ref,
    read_served_resources,
)
from drsyncer.kube.discovery_cache import KEY_PREFIX, RedisDiscovery
from drsyncer.kube.errors import NotServed
from drsyncer.sim import SimCluster
from tests.fixtures.backends import World
from tests.fixtures.crds import widget_crd
from tests.fixtures.polling import eventually


def described(served: ServedResources) -> set[tuple[Any, ...]]:
    """Every field of every ref (verbs and subresources take no part in ResourceRef equality)."""
    return {(r, r.singular, r.short_names, r.verbs, r.subresources) for r in served.refs}


def test_aggregated_discovery_finds_what_walking_every_group_version_finds(
    kube: Callable[..., World],
) -> None:
    world = kube(["src"])
    client = client_from_kubeconfig(world["src"].kubeconfig_dict(), name="src")
    asked: list[str] = []

    def get_json(path: str) -> dict[str, Any]:
        asked.append(path)
        return client.get_json(path)  # Accept: application/json: the plain documents

    try:
        walked = read_served_resources(get_json)
        roots = {path: client.request("GET", path, accept=AGGREGATED_ACCEPT) for path in ("/api", "/apis")}
        assert all(is_aggregated(doc) for doc in roots.values()), "the server offers aggregated discovery"
        aggregated = read_served_resources(lambda p: {}, roots.__getitem__)
        assert len(asked) > 10  # the walk: /api, /api/v1, /apis and one request per group version
        assert described(aggregated) == described(walked)
        assert aggregated.preferred == walked.preferred
        deployments = aggregated.candidates("deploy")[0]
        assert (deployments.api_version, deployments.namespaced) == ("apps/v1", True)
        assert {"status", "scale"} <= deployments.subresources
        assert aggregated.candidates("ns")[0].namespaced is False
        assert aggregated.candidates("hpa")[0].api_version == "autoscaling/v2"  # the preferred version
    finally:
        client.close()


def test_a_second_process_reads_discovery_from_redis_and_a_miss_reads_the_server(redis_url: str) -> None:
    connection = redis.Redis.from_url(redis_url)
    with SimCluster("dr1") as sim:
        first = client_from_kubeconfig(sim.kubeconfig_dict(), name="dr1")
        second = client_from_kubeconfig(sim.kubeconfig_dict(), name="dr1")  # as another process builds it
        key = KEY_PREFIX + first.identity
        try:
            for c in (first, second):
                c.shared_discovery = RedisDiscovery(connection, c.identity)
            before = sim.discovery_requests()
            crds = first.resolve("crd")
            assert sim.discovery_requests() - before == 2  # /api and /apis, aggregated
            assert 0 < connection.ttl(key) <= 300 and b"customresourcedefinitions" in (
                connection.get(key) or b""
            )

            assert second.resolve("deploy").api_version == "apps/v1"
            assert sim.discovery_requests() - before == 2  # nothing more asked of the server

            # a type served since: the name is missed, so (once the copy is older than the
            # miss-refresh interval, 2 s) the server is read again and the shared copy replaced
            first.create(crds, None, widget_crd())
            widgets = eventually(lambda: second.resolve("widgets"), what="widgets", tolerate=(NotServed,))
            assert widgets.api_version == "example.com/v1"
            assert sim.discovery_requests() - before == 4
            assert b"widgets" in (connection.get(key) or b"")
            # the first client's miss finds the fresh shared copy: no request
            assert first.resolve("widget") == widgets
            assert sim.discovery_requests() - before == 4
        finally:
            first.close()
            second.close()


def test_while_one_process_reads_discovery_the_others_wait_for_its_copy(redis_url: str) -> None:
    connection = redis.Redis.from_url(redis_url)
    served = ServedResources(
        tuple(r for r in (offline_ref("cm"), offline_ref("deploy")) if r), frozenset({"v1"})
    )
    reader = RedisDiscovery(connection, "0123456789abcdef")
    assert reader.load(300) is None  # nothing kept: this process reads the server, holding the lease
    assert connection.exists(reader.lease_key)

    polls: list[float] = []

    def poll(seconds: float) -> None:
        polls.append(seconds)
        if len(polls) == 2:
            reader.save(served)  # the reader is done while the other polls

    waiter = RedisDiscovery(connection, "0123456789abcdef", sleep=poll)
    kept = waiter.load(300)
    assert kept is not None and kept[0].refs == served.refs and len(polls) == 2
    assert not connection.exists(reader.lease_key)

    # a reader that failed: the others read the server themselves at once
    connection.delete(reader.key)
    assert reader.load(300) is None
    reader.abandon()
    assert not connection.exists(reader.lease_key)
    # a reader that never finishes (its process died): the others wait a while, then read the server
    assert reader.load(300) is None
    assert RedisDiscovery(connection, "0123456789abcdef", wait_s=0.2).load(300) is None


def test_a_process_getting_ready_takes_a_kept_reading_but_never_reads_the_server_or_holds_others_up(
    redis_url: str,
) -> None:
    connection = redis.Redis.from_url(redis_url)
    with SimCluster("dr1") as sim:
        ready = client_from_kubeconfig(sim.kubeconfig_dict(), name="dr1")
        other = client_from_kubeconfig(sim.kubeconfig_dict(), name="dr1")
        try:
            for c in (ready, other):
                c.shared_discovery = RedisDiscovery(connection, c.identity, wait_s=5.0)
            connection.delete(KEY_PREFIX + ready.identity, KEY_PREFIX + ready.identity + ":reading")
            before = sim.discovery_requests()

            # nothing kept: nothing read, and no lease taken that would make another process wait
            assert ready.discovery.load_shared() is False
            assert sim.discovery_requests() == before
            assert not connection.exists(KEY_PREFIX + ready.identity + ":reading")
            started = time.monotonic()
            other.resolve("cm")  # reads the server at once and keeps the reading
            assert time.monotonic() - started < 2.0 and sim.discovery_requests() - before == 2

            assert ready.discovery.load_shared() is True
            assert ready.resolve("deploy").api_version == "apps/v1"
            assert sim.discovery_requests() - before == 2  # the kept reading, nothing more asked
        finally:
            ready.close()
            other.close()
