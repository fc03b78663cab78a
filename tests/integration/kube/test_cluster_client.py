"""ClusterClient against a simulated cluster: paging, retries, conflicts, discovery, threads, rate limit."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from drsyncer.errors import CategorisedError, Category
from drsyncer.kube import ApiError, ClusterClient, RateBudget, RetryPolicy, client_from_kubeconfig
from drsyncer.kube.ratelimit import rate_limiter_for
from drsyncer.sim import SimCluster
from tests.fixtures.crds import widget_crd
from tests.fixtures.polling import eventually

# enough attempts that a 30 % fault rate never exhausts them in practice (0.3**12 per request)
PATIENT = RetryPolicy(max_attempts=12, base_delay_s=0.01, max_delay_s=0.05)


@pytest.fixture
def sim() -> Iterator[SimCluster]:
    with SimCluster("dr1", tls=True, token=True) as cluster:
        yield cluster


@pytest.fixture
def client(sim: SimCluster) -> Iterator[ClusterClient]:
    with client_from_kubeconfig(sim.kubeconfig_dict(), retry=PATIENT) as c:
        c.create(c.resolve("namespaces"), None, {"metadata": {"name": "app"}})
        yield c


def configmap(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data or {"k": name}}


def test_list_streams_every_object_page_by_page(client: ClusterClient, sim: SimCluster) -> None:
    cm = client.resolve("configmaps")
    for i in range(23):
        client.create(cm, "app", configmap(f"cm-{i:02d}"))
    sim.reset_counters()
    stream = client.list(cm, "app", page_size=4)
    assert stream.resource_version
    first = next(stream)
    assert sim.counters()["list"]["configmaps"] == 1  # only the first page was read
    names = [first["metadata"]["name"]] + [o["metadata"]["name"] for o in stream]
    assert sorted(names) == [f"cm-{i:02d}" for i in range(23)]
    assert sim.counters()["list"]["configmaps"] == 6
    assert first["kind"] == "ConfigMap" and first["apiVersion"] == "v1"


def test_label_selectors_filter_lists(client: ClusterClient) -> None:
    cm = client.resolve("cm")
    for i in range(4):
        body = configmap(f"cm-{i}")
        body["metadata"]["labels"] = {"tier": "a" if i % 2 else "b"}
        client.create(cm, "app", body)
    assert sorted(o["metadata"]["name"] for o in client.list(cm, "app", label_selector="tier=a")) == [
        "cm-1",
        "cm-3",
    ]


def test_throttling_is_waited_out_as_the_server_asks_and_retried_to_success(
    client: ClusterClient, sim: SimCluster
) -> None:
    cm = client.resolve("configmaps")
    waits: list[float] = []
    client.sleep = waits.append  # record the waits instead of spending them
    sim.faults.set(error_rates={"create": {429: 0.3}}, retry_after_s=2)
    for i in range(20):
        client.create(cm, "app", configmap(f"cm-{i}"))
    sim.faults.clear()
    assert len(list(client.list(cm, "app"))) == 20
    throttled = client.counters.get(client.name, "throttled")
    assert throttled > 0
    assert len(waits) == throttled
    assert all(2.0 <= w < 2.5 for w in waits)  # Retry-After plus a little jitter


def test_a_cluster_that_answered_nothing_through_a_whole_policy_is_tried_once_per_call_until_it_answers(
    client: ClusterClient, sim: SimCluster, caplog: pytest.LogCaptureFixture
) -> None:
    # one destination down must not hold each namespace sync's other destinations for the policy's
    # pauses on every read (about 6 s with the default policy) once it is known to be away
    caplog.set_level(logging.INFO, logger="drsyncer.kube.client")
    cm = client.resolve("configmaps")
    client.create(cm, "app", configmap("kept"))
    waits: list[float] = []
    client.sleep = waits.append
    sim.down()
    with pytest.raises(ApiError) as first:
        list(client.list(cm, "app"))
    assert first.value.category is Category.RETRYABLE
    assert len(waits) == PATIENT.max_attempts - 1  # the whole policy, the first time
    assert "no answer" in caplog.text and client.name in caplog.text

    waits.clear()
    for call in (lambda: client.get(cm, "app", "kept"), lambda: client.create(cm, "app", configmap("x"))):
        with pytest.raises(ApiError) as again:
            call()
        assert again.value.category is Category.RETRYABLE  # still a failure to retry at the next sync
    assert waits == []  # each call tried once, without a pause

    sim.up()
    assert client.get(cm, "app", "kept") is not None  # the first answer ends it
    assert "answers again" in caplog.text
    sim.down()
    with pytest.raises(ApiError):
        client.get(cm, "app", "kept")
    assert len(waits) == PATIENT.max_attempts - 1  # away again: the whole policy again first
    sim.up()


def test_an_answer_to_a_batched_create_ends_a_time_away_and_a_tls_failure_begins_none(
    client: ClusterClient, sim: SimCluster
) -> None:
    cm = client.resolve("configmaps")
    waits: list[float] = []
    client.sleep = waits.append
    sim.down()
    with pytest.raises(ApiError):
        client.get(cm, "app", "any")
    sim.up()
    created = client.create_all(cm, "app", [configmap("batched")], concurrency=1)
    assert isinstance(created[0], dict)  # answered: the cluster is back
    waits.clear()
    sim.down()
    with pytest.raises(ApiError):
        client.get(cm, "app", "batched")
    assert len(waits) == PATIENT.max_attempts - 1  # retried in full: the batch's answer ended it
    sim.up()

    # a name the server's certificate does not carry: the TLS failure is not retried, and it says
    # nothing of the cluster being away, so a connection refused after it is retried in full
    config = sim.kubeconfig_dict()
    config["clusters"][0]["cluster"]["tls-server-name"] = "not-this-server.example"
    with client_from_kubeconfig(config, retry=PATIENT) as untrusting:
        untrusting.sleep = waits.append
        waits.clear()
        with pytest.raises(ApiError) as tls:
            untrusting.get(cm, "app", "batched")
        assert tls.value.reason == "TLSError" and waits == []
        sim.down()
        with pytest.raises(ApiError) as refused:
            untrusting.get(cm, "app", "batched")
        assert refused.value.reason == "ConnectionError"
        assert len(waits) == PATIENT.max_attempts - 1
    sim.up()


def test_server_errors_are_retried_with_backoff(client: ClusterClient, sim: SimCluster) -> None:
    cm = client.resolve("configmaps")
    sim.faults.set(error_rates={"create": {500: 0.2, 503: 0.1}, "get": {500: 0.3}})
    for i in range(20):
        client.create(cm, "app", configmap(f"cm-{i}"))
        assert client.get(cm, "app", f"cm-{i}") is not None
    sim.faults.clear()
    assert client.counters.get(client.name, "retries") > 0
    assert len(list(client.list(cm, "app"))) == 20


def test_a_conflicting_update_is_reread_and_rebuilt(client: ClusterClient, sim: SimCluster) -> None:
    cm = client.resolve("configmaps")
    client.create(cm, "app", configmap("shared", count="0"))
    rounds: list[str] = []

    def increment(current: dict[str, Any] | None) -> dict[str, Any]:
        assert current is not None
        rounds.append(current["data"]["count"])
        if len(rounds) == 1:
            # another writer changes the object between our read and our write
            other = client_from_kubeconfig(sim.kubeconfig_dict())
            theirs = other.get(cm, "app", "shared")
            assert theirs is not None
            theirs["data"]["count"] = "10"
            other.replace(cm, "app", theirs)
            other.close()
        current["data"]["count"] = str(int(current["data"]["count"]) + 1)
        return current

    result = client.update(cm, "app", "shared", increment)
    assert rounds == ["0", "10"]
    assert result is not None and result["data"]["count"] == "11"


def test_a_stale_replace_is_a_retryable_conflict(client: ClusterClient) -> None:
    cm = client.resolve("configmaps")
    created = client.create(cm, "app", configmap("a"))
    client.replace(cm, "app", {**created, "data": {"k": "changed"}})
    with pytest.raises(ApiError) as raised:
        client.replace(cm, "app", created)  # still carries the old resourceVersion
    assert raised.value.conflict and raised.value.category is Category.RETRYABLE


def test_typed_errors_for_missing_invalid_and_existing(client: ClusterClient) -> None:
    cm = client.resolve("configmaps")
    assert client.get(cm, "app", "nope") is None
    assert client.delete(cm, "app", "nope") is None
    client.create(cm, "app", configmap("a"))
    with pytest.raises(ApiError) as exists:
        client.create(cm, "app", configmap("a"))
    assert exists.value.already_exists
    with pytest.raises(ApiError) as invalid:
        client.create(cm, "app", configmap("Not_Valid"))
    assert invalid.value.status == 422
    assert invalid.value.category is Category.NON_RETRYABLE
    assert "create configmaps app/Not_Valid on dr1: 422 Invalid" in str(invalid.value)


def test_dry_run_writes_nothing(client: ClusterClient) -> None:
    cm = client.resolve("configmaps")
    answer = client.create(cm, "app", configmap("a"), dry_run=True)
    assert answer["metadata"]["name"] == "a"
    assert client.get(cm, "app", "a") is None


def test_patches_and_the_status_subresource(client: ClusterClient) -> None:
    cm = client.resolve("configmaps")
    client.create(cm, "app", configmap("a", one="1"))
    client.patch(cm, "app", "a", {"data": {"two": "2"}})
    client.patch(cm, "app", "a", [{"op": "remove", "path": "/data/one"}], patch_type="json")
    obj = client.get(cm, "app", "a")
    assert obj is not None and obj["data"] == {"two": "2"}
    deploy = client.resolve("deploy")
    assert "status" in deploy.subresources
    client.create(
        deploy,
        "app",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "c", "image": "nginx"}]},
                },
            },
        },
    )
    client.patch(deploy, "app", "web", {"status": {"observedGeneration": 7}}, subresource="status")
    web = client.get(deploy, "app", "web", subresource="status")
    assert web is not None and web["status"]["observedGeneration"] == 7


def test_a_new_crd_resolves_after_invalidation(client: ClusterClient) -> None:
    with pytest.raises(Exception, match="'widgets' is not served"):
        client.resolve("widgets")
    crd = client.resolve("customresourcedefinitions.apiextensions.k8s.io")
    client.create(crd, None, widget_crd(short_names=("wg",), subresources={"status": {}}))
    # served a moment after the create, once Established
    widgets = eventually(
        lambda: client.discovery.invalidate() or client.resolve("wg"),
        what="widgets to be served",
        tolerate=(CategorisedError,),
    )
    assert (widgets.api_version, widgets.plural, widgets.namespaced) == ("example.com/v1", "widgets", True)
    assert client.resolve("widgets.example.com") == widgets
    client.create(
        widgets,
        "app",
        {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 1}},
    )
    assert [w["metadata"]["name"] for w in client.list(widgets, "app")] == ["w"]
    assert widgets in client.discovery.resolve_many(["*"])


def test_a_cluster_that_is_down_gives_a_retryable_connection_error(sim: SimCluster) -> None:
    with client_from_kubeconfig(
        sim.kubeconfig_dict(), retry=RetryPolicy(max_attempts=2, base_delay_s=0.01)
    ) as client:
        sim.down()
        with pytest.raises(ApiError) as raised:
            client.server_version()
        assert (raised.value.reason, raised.value.category) == ("ConnectionError", Category.RETRYABLE)
        sim.up()
        # the listener comes back asynchronously
        assert eventually(client.server_version, tolerate=(ApiError,), what="the cluster to answer again")


def test_one_client_serves_many_threads(client: ClusterClient, sim: SimCluster) -> None:
    cm = client.resolve("configmaps")
    sim.faults.set(latency_ms=20)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda i: client.create(cm, "app", configmap(f"cm-{i}")), range(64)))
    sim.faults.clear()
    assert len(list(client.list(cm, "app", page_size=10))) == 64


def test_two_clients_sharing_a_redis_budget_stay_within_it(sim: SimCluster, redis_url: str) -> None:
    budget = RateBudget(qps=20, burst=5)
    # two clients with their own connections to Redis and to the cluster, as two workers would have
    clients = [
        client_from_kubeconfig(
            sim.kubeconfig_dict(), limiter=rate_limiter_for("dr-system/dr1", budget, redis_url)
        )
        for _ in range(2)
    ]
    sim.reset_counters()
    start = time.monotonic()
    deadline = start + 1.5
    sent = [0, 0]

    def hammer(i: int) -> None:
        while time.monotonic() < deadline:
            clients[i].request("GET", "/version")
            sent[i] += 1

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    elapsed = time.monotonic() - start
    # every request sent was admitted by the shared bucket: burst plus qps over the elapsed time
    assert sum(sent) <= budget.burst + budget.qps * elapsed + 1, (sent, elapsed)
    assert min(sent) > 0
    assert sum(sent) >= 0.6 * (budget.burst + budget.qps * 1.5), sent
    for c in clients:
        c.close()


def test_watch_reports_changes_after_a_list(client: ClusterClient) -> None:
    cm = client.resolve("configmaps")
    client.create(cm, "app", configmap("before"))
    listed = client.list(cm, "app")
    assert [o["metadata"]["name"] for o in listed] == ["before"]
    events = client.watch(cm, "app", resource_version=listed.resource_version, timeout_s=5)
    client.create(cm, "app", configmap("after"))
    client.delete(cm, "app", "before")
    seen = []
    for event in events:
        if event["type"] != "BOOKMARK":
            seen.append((event["type"], event["object"]["metadata"]["name"]))
        if len(seen) == 2:
            break
    events.close()  # type: ignore[attr-defined]
    assert seen == [("ADDED", "after"), ("DELETED", "before")]


def test_watch_from_a_forgotten_position_is_gone(client: ClusterClient, sim: SimCluster) -> None:
    cm = client.resolve("configmaps")
    for i in range(5):
        client.create(cm, "app", configmap(f"cm-{i}"))
    with pytest.raises(ApiError) as raised:
        for _ in client.watch(cm, "app", resource_version="1", timeout_s=5):
            pass
    assert raised.value.status == 410
