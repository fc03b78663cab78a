"""Fault injection and counters, from Python and from the /_sim admin endpoint; TLS and tokens."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import Counter
from typing import Any
from unittest.mock import ANY

import pytest
import urllib3
from kubernetes import client
from kubernetes.client.rest import ApiException

from drsyncer.sim import SimCluster, SimFleet
from tests.fixtures.polling import eventually


def _no_retries(cluster: SimCluster) -> client.ApiClient:
    api: client.ApiClient = cluster.api_client()
    api.configuration.retries = 0
    api.rest_client.pool_manager.connection_pool_kw["retries"] = 0
    return api


def test_latency_is_added_to_every_request(sim_cluster: SimCluster, core: client.CoreV1Api) -> None:
    sim_cluster.faults.set(latency_ms=150, jitter_ms=10)
    started = time.monotonic()
    core.list_namespace()
    assert time.monotonic() - started >= 0.13
    sim_cluster.faults.clear()
    started = time.monotonic()
    core.list_namespace()
    assert time.monotonic() - started < 0.1


def test_error_rate_of_one_answers_429_with_retry_after(
    sim_cluster: SimCluster, core: client.CoreV1Api
) -> None:
    sim_cluster.faults.set(error_rates={"create": {429: 1.0}}, retry_after_s=3)
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    assert err.value.status == 429
    assert err.value.headers["Retry-After"] == "3"
    assert json.loads(err.value.body)["details"]["retryAfterSeconds"] == 3
    assert json.loads(err.value.body)["reason"] == "TooManyRequests"
    assert core.list_namespaced_config_map("default").items == []  # other verbs are untouched


@pytest.mark.parametrize(("code", "reason"), [(500, "InternalError"), (503, "ServiceUnavailable")])
def test_server_errors_can_be_injected_per_verb_and_resource(
    sim_cluster: SimCluster, code: int, reason: str
) -> None:
    sim_cluster.faults.set(error_rates={"get/secrets": {code: 1.0}})
    with _no_retries(sim_cluster) as api:
        core = client.CoreV1Api(api)
        with pytest.raises(ApiException) as err:
            core.read_namespaced_secret("x", "default")
        assert (err.value.status, json.loads(err.value.body)["reason"]) == (code, reason)
        with pytest.raises(ApiException) as missing:
            core.read_namespaced_config_map("x", "default")
        assert missing.value.status == 404


def test_error_rates_are_roughly_the_configured_probability(sim_cluster: SimCluster) -> None:
    sim_cluster.faults.set(error_rates={"list": {500: 0.3, 503: 0.2}})
    codes = [sim_cluster.faults.pick_error("list", "configmaps") for _ in range(4000)]
    assert 0.25 < codes.count(500) / 4000 < 0.35
    assert 0.15 < codes.count(503) / 4000 < 0.25


def test_down_refuses_connections_and_up_serves_again_on_the_same_port(sim_cluster: SimCluster) -> None:
    port = sim_cluster.port
    with _no_retries(sim_cluster) as api:
        core = client.CoreV1Api(api)
        core.list_namespace()
        sim_cluster.down()
        with pytest.raises(urllib3.exceptions.HTTPError):
            core.list_namespace(_request_timeout=2)
        sim_cluster.up()
        assert sim_cluster.port == port
        assert core.list_namespace().items


def test_no_connection_made_while_going_down_is_served_or_left_hanging(sim_cluster: SimCluster) -> None:
    # connections opened as fast as three threads can while down() runs: some are accepted in the
    # same loop turn as the close; once down() returned each must be refused or reset, as by a server
    # that went down, neither answered nor left open without an answer
    opened: list[socket.socket] = []
    stop = threading.Event()

    def open_connections() -> None:
        while not stop.is_set() and len(opened) < 300:
            with contextlib.suppress(OSError):
                opened.append(socket.create_connection(("127.0.0.1", sim_cluster.port), timeout=2))

    outcomes: Counter[str] = Counter()
    for _ in range(5):
        opened.clear()
        stop.clear()
        threads = [threading.Thread(target=open_connections) for _ in range(3)]
        for thread in threads:
            thread.start()
        eventually(lambda: len(opened) >= 20, what="connections being opened")
        sim_cluster.down()
        stop.set()
        for thread in threads:
            thread.join()
        for connection in opened:
            with connection:
                try:
                    connection.settimeout(2)
                    connection.sendall(b"GET /version HTTP/1.1\r\nHost: sim\r\n\r\n")
                    outcomes["answered" if connection.recv(64) else "closed"] += 1
                except TimeoutError:
                    outcomes["silent"] += 1
                except OSError:
                    outcomes["reset"] += 1
        sim_cluster.up()
    assert outcomes["answered"] == outcomes["silent"] == 0, outcomes
    assert outcomes["closed"] + outcomes["reset"] >= 100, outcomes


def test_cut_watches_drops_open_streams_mid_stream_and_cuts_new_ones_for_a_while(
    sim_cluster: SimCluster,
) -> None:
    with _no_retries(sim_cluster) as api:
        core = client.CoreV1Api(api)
        stream = core.list_namespaced_config_map(
            "default", watch=True, timeout_seconds=30, _preload_content=False
        )
        deadline = time.monotonic() + 5
        while sim_cluster.cut_watches(refuse_s=2) != 1:  # the stream registers once it is served
            assert time.monotonic() < deadline, "the watch never opened"
        with pytest.raises(urllib3.exceptions.HTTPError):  # no closing chunk: a cut, not an end
            stream.read()
        again = core.list_namespaced_config_map(
            "default", watch=True, timeout_seconds=30, _preload_content=False
        )
        with pytest.raises(urllib3.exceptions.HTTPError):
            again.read()
        assert core.list_namespaced_config_map("default").items == []  # other requests are served
        eventually(lambda: not sim_cluster.hub.cutting(), 5, "the cut to end")
        served = core.list_namespaced_config_map(
            "default", watch=True, timeout_seconds=1, _preload_content=False
        )
        assert served.read() == b""  # a watch that ended on its own: the window is over


def test_counters_count_requests_per_verb_and_resource(
    sim_cluster: SimCluster, core: client.CoreV1Api
) -> None:
    core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    core.read_namespaced_config_map("a", "default")
    core.read_namespaced_config_map("a", "default")
    core.patch_namespaced_config_map("a", "default", {"data": {"k": "v"}})
    core.list_namespaced_secret("default")
    core.delete_namespaced_config_map("a", "default")
    assert sim_cluster.counters() == {
        "create": {"configmaps": 1},
        "get": {"configmaps": 2},
        "patch": {"configmaps": 1},
        "list": {"secrets": 1},
        "delete": {"configmaps": 1},
    }
    assert sim_cluster.writes() == 3
    sim_cluster.reset_counters()
    assert sim_cluster.counters() == {} and sim_cluster.writes() == 0


def _admin(cluster: SimCluster, method: str, action: str, body: Any = None) -> tuple[int, Any]:
    ca = cluster.ca_pem
    http = (
        urllib3.PoolManager(retries=False, cert_reqs="CERT_REQUIRED", ca_cert_data=ca.decode())
        if ca
        else urllib3.PoolManager(retries=False)
    )
    headers = {"Content-Type": "application/json"}
    if cluster.token:
        headers["Authorization"] = f"Bearer {cluster.token}"
    response = http.request(
        method,
        f"{cluster.url}/_sim/{action}",
        headers=headers,
        body=json.dumps(body).encode() if body is not None else None,
        timeout=5,
    )
    return response.status, json.loads(response.data)


def test_admin_endpoint_sets_faults_reads_and_resets_counters(
    sim_cluster: SimCluster, core: client.CoreV1Api
) -> None:
    status, settings = _admin(
        sim_cluster, "PUT", "faults", {"latency_ms": 5, "error_rates": {"delete": {"503": 1}}}
    )
    assert status == 200 and settings["error_rates"] == {"delete": {"503": 1.0}}
    assert sim_cluster.faults.settings.latency_ms == 5
    with pytest.raises(ApiException) as err:
        core.delete_namespace("default")
    assert err.value.status == 503
    assert _admin(sim_cluster, "DELETE", "faults")[1]["error_rates"] == {}
    status, counts = _admin(sim_cluster, "GET", "counters")
    assert counts["counters"]["delete"]["namespaces"] >= 1 and counts["writes"] >= 1
    _admin(sim_cluster, "DELETE", "counters")
    assert sim_cluster.counters() == {}
    assert _admin(sim_cluster, "PUT", "faults", {"error_rates": {"fly": {"500": 1}}})[0] == 400


def test_admin_endpoint_takes_the_cluster_down_for_a_while(sim_cluster: SimCluster) -> None:
    assert _admin(sim_cluster, "POST", "down?seconds=0.5")[0] == 200
    deadline = time.monotonic() + 5
    while sim_cluster.is_up and time.monotonic() < deadline:
        time.sleep(0.01)  # poll interval, bounded by the deadline above
    assert not sim_cluster.is_up
    while not sim_cluster.is_up and time.monotonic() < deadline:
        time.sleep(0.01)  # poll interval, bounded by the deadline above
    assert _admin(sim_cluster, "GET", "healthz")[0] == 200


def test_tls_fleet_with_tokens_serves_each_cluster_on_its_own_port(sim_fleet: Any) -> None:
    fleet: SimFleet = sim_fleet(["source", "dr1"], tls=True, token=True)
    assert len({c.port for c in fleet}) == 2
    for cluster in fleet:
        assert cluster.url.startswith("https://127.0.0.1:")
        with cluster.api_client() as api:
            client.CoreV1Api(api).create_namespace({"metadata": {"name": f"only-{cluster.name}"}})
    with fleet["dr1"].api_client() as api:
        names = [n.metadata.name for n in client.CoreV1Api(api).list_namespace().items]
    assert "only-dr1" in names and "only-source" not in names
    assert _admin(fleet["dr1"], "GET", "healthz") == (200, {"cluster": "dr1", "resourceVersion": ANY})


def test_fleet_kubeconfig_has_one_context_per_cluster(sim_fleet: Any, tmp_path: Any) -> None:
    from kubernetes import config

    fleet: SimFleet = sim_fleet(["controller", "source"])
    path = fleet.write_kubeconfig(tmp_path / "kc")
    contexts, _ = config.list_kube_config_contexts(str(path))
    assert [c["name"] for c in contexts] == ["controller", "source"]
    api = config.new_client_from_config(str(path), context="source")
    assert api.configuration.host == fleet["source"].url


def test_going_down_ends_open_watches_promptly(sim_cluster: SimCluster) -> None:
    from kubernetes import watch

    with _no_retries(sim_cluster) as api:
        core = client.CoreV1Api(api)
        stream = watch.Watch().stream(core.list_namespaced_config_map, "default", timeout_seconds=30)
        core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
        assert next(stream)["type"] == "ADDED"
        started = time.monotonic()
        sim_cluster.down()
        with pytest.raises((urllib3.exceptions.HTTPError, StopIteration)):
            next(stream)
        assert time.monotonic() - started < 5
        sim_cluster.up()
        assert [i.metadata.name for i in core.list_namespaced_config_map("default").items] == ["a"]


def test_an_injected_409_is_already_exists_on_create_and_conflict_on_update(
    sim_cluster: SimCluster, core: client.CoreV1Api
) -> None:
    core.create_namespaced_config_map("default", {"metadata": {"name": "kept"}, "data": {"a": "1"}})
    sim_cluster.faults.set(error_rates={"create": {409: 1.0}, "update": {409: 1.0}})
    with pytest.raises(ApiException) as created:
        core.create_namespaced_config_map("default", {"metadata": {"name": "new"}})
    assert (created.value.status, json.loads(created.value.body)["reason"]) == (409, "AlreadyExists")
    with pytest.raises(ApiException) as updated:
        core.replace_namespaced_config_map(
            "kept", "default", {"metadata": {"name": "kept"}, "data": {"a": "2"}}
        )
    assert (updated.value.status, json.loads(updated.value.body)["reason"]) == (409, "Conflict")
    sim_cluster.faults.clear()
    # the writes did not happen
    assert [c.metadata.name for c in core.list_namespaced_config_map("default").items] == ["kept"]
    assert core.read_namespaced_config_map("kept", "default").data == {"a": "1"}


def test_409_is_refused_for_reads(sim_cluster: SimCluster) -> None:
    with pytest.raises(ValueError, match="writes only"):
        sim_cluster.faults.set(error_rates={"get": {409: 0.5}})
