"""The informer against a simulated API server: an outage is survived by reconnecting."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from drsyncer.kube import ClusterClient, client_from_kubeconfig
from drsyncer.kube.informer import Informer
from drsyncer.sim import SimCluster
from tests.integration.scheduler.conftest import CONFIGMAPS, NAMESPACES, eventually


@pytest.fixture
def client(sim_cluster: SimCluster) -> Iterator[ClusterClient]:
    client = client_from_kubeconfig(sim_cluster.kubeconfig_dict(), name="sim")
    for name in ("a", "b"):
        client.create(NAMESPACES, None, {"metadata": {"name": name}})
    yield client
    client.close()


@pytest.fixture
def informer(client: ClusterClient) -> Iterator[Informer]:
    informer = Informer(lambda: client, CONFIGMAPS, "a", lambda: None, name="configmaps", watch_timeout_s=1)
    informer.start()
    eventually(informer.synced.is_set, what="the first list")
    yield informer
    informer.stop(wait_s=10)


def _names(informer: Informer) -> set[str]:
    return {name for _, name in informer.objects()}


def _configmap(name: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}}


def test_outage_is_survived_with_backoff_and_reconnect(
    sim_cluster: SimCluster, client: ClusterClient, informer: Informer
) -> None:
    sim_cluster.down()
    eventually(lambda: informer.last_error, what="the outage to be noticed")
    sim_cluster.up()
    client.create(CONFIGMAPS, "a", _configmap("after"))
    eventually(lambda: _names(informer) == {"after"}, timeout_s=15, what="the object made after the outage")
    assert informer.last_error == ""


def test_watch_cut_again_and_again_is_reconnected_quickly_each_time(
    sim_cluster: SimCluster, client: ClusterClient
) -> None:
    informer = Informer(
        lambda: client, CONFIGMAPS, "b", lambda: None, name="configmaps", watch_timeout_s=2, healthy_s=0.5
    )
    informer.start()
    try:
        eventually(informer.synced.is_set, what="the first list")
        for cut in range(5):  # without the backoff starting over, the fifth pause would be 4-8 s
            eventually(lambda: informer.watching_for_s >= 0.5, timeout_s=5, what="a watch that works")
            assert sim_cluster.cut_watches() == 1
            client.create(CONFIGMAPS, "b", _configmap(f"after-cut-{cut}"))
            eventually(
                lambda c=cut: f"after-cut-{c}" in _names(informer),
                timeout_s=3,
                what=f"the object made after cut {cut}",
            )
    finally:
        informer.stop(wait_s=10)


def test_a_burst_of_events_is_read_in_a_few_wake_ups_and_none_is_lost(client: ClusterClient) -> None:
    informer = Informer(
        lambda: client, CONFIGMAPS, "b", lambda: None, name="configmaps", watch_timeout_s=3, batch_s=2.0
    )
    informer.start()
    try:
        eventually(lambda: informer.watching_for_s > 0, what="the watch")
        client.create(CONFIGMAPS, "b", _configmap("first"))
        eventually(lambda: "first" in _names(informer), timeout_s=2, what="a lone event, at once")
        burst = {f"burst-{i}" for i in range(10)}
        for name in sorted(burst):  # while the informer pauses after the first event
            client.create(CONFIGMAPS, "b", _configmap(name))
        eventually(
            lambda: _names(informer) == {"first", *burst}, timeout_s=10, what="every event of the burst"
        )
        assert informer.wakeups <= 3, f"{informer.wakeups} wake-ups for 11 events"
    finally:
        informer.stop(wait_s=10)
