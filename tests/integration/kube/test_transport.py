"""The libcurl transport's connections: a pool of handles per client, each keeping its connection
alive; a handle (and so a connection) is never used by two requests at once, never shared with a
forked child, and a request takes a handle another thread used before rather than opening one of
its own (libcurl's shared connection cache is not safe between concurrent threads)."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from drsyncer.kube import client_from_kubeconfig
from drsyncer.kube.errors import Unreachable
from drsyncer.kube.ratelimit import LocalRateLimiter, RateBudget
from drsyncer.sim import SimCluster


def test_a_forked_child_opens_its_own_connection_and_the_parents_stays_usable() -> None:
    with SimCluster("dr1", tls=True) as sim, client_from_kubeconfig(sim.kubeconfig_dict()) as client:
        assert client.server_version()
        transport = client._transport
        assert transport.connects == 1
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: a request of its own, its connection count reported, then gone
            code = 1
            try:
                client._version = None  # ask the server again
                client.server_version()
                os.write(write, str(transport.connects - 1).encode())
                code = 0
            finally:
                os._exit(code)
        os.close(write)
        _, status = os.waitpid(pid, 0)
        assert os.WEXITSTATUS(status) == 0
        assert os.read(read, 16) == b"1"  # a connection of its own, not the parent's
        os.close(read)
        client._version = None
        client.server_version()
        # the kept connection was neither closed nor written to by the child: reused as it was
        assert transport.connects == 1


def test_requests_one_after_another_from_many_threads_share_one_kept_connection() -> None:
    with SimCluster("dr1") as sim, client_from_kubeconfig(sim.kubeconfig_dict()) as client:
        transport = client._transport
        client.prepare_handles(4)  # handles ready, none connected: the connected one is taken first
        one_at_a_time = threading.Lock()

        def requests_of_one_thread(_: int) -> None:
            for _ in range(5):
                with one_at_a_time:
                    client.request("GET", "/version")

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(requests_of_one_thread, range(8)))
        assert transport.connects == 1


def test_requests_at_once_never_share_a_connection_and_keep_theirs_for_the_next() -> None:
    with SimCluster("dr1") as sim, client_from_kubeconfig(sim.kubeconfig_dict()) as client:
        transport = client._transport
        sim.faults.set(latency_ms=50)  # four requests under way together
        together = threading.Barrier(4)

        def rounds(_: int) -> None:
            for _ in range(5):
                together.wait(timeout=10)
                client.request("GET", "/version")

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(rounds, range(4)))
        # a connection carries one request at a time (HTTP/1.1): the first round opened four, and the
        # next rounds took them again rather than opening more
        assert transport.connects == 4
        assert len(transport._handles) == 4


def test_dropping_the_connections_makes_the_next_request_connect_afresh() -> None:
    with SimCluster("dr1") as sim, client_from_kubeconfig(sim.kubeconfig_dict()) as client:
        client.request("GET", "/version")
        client.drop_connections()
        client.request("GET", "/version")
        client.request("GET", "/version")
        assert client._transport.connects == 2


def _configmaps(count: int) -> list[dict[str, object]]:
    return [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i}"}} for i in range(count)]


def test_a_batch_of_creates_runs_at_most_its_concurrency_at_once_and_answers_in_order() -> None:
    with SimCluster("dr1") as sim, client_from_kubeconfig(sim.kubeconfig_dict()) as client:
        configmaps = client.resolve("configmaps")
        client.create(client.resolve("namespaces"), None, {"metadata": {"name": "batch"}})
        client.create(configmaps, "batch", _configmaps(8)[5])  # the sixth exists already
        transport = client._transport
        before = transport.connects
        sim.faults.set(latency_ms=30)
        answers = client.create_all(configmaps, "batch", _configmaps(20), concurrency=4)
        # one connection per transfer under way: four at once at most, kept for the next ones
        assert transport.connects - before <= 4
        assert [type(a).__name__ for a in answers] == ["dict"] * 5 + ["AlreadyExists"] + ["dict"] * 14
        created = [a["name"] for a in answers if isinstance(a, dict)]
        assert created == [f"cm-{i}" for i in range(20) if i != 5]
        names = {cm["metadata"]["name"] for cm in client.list(configmaps, "batch")}
        assert {f"cm-{i}" for i in range(20)} <= names


def test_a_batch_of_creates_stays_inside_the_rate_budget() -> None:
    budget = RateBudget(qps=40, burst=4)
    with (
        SimCluster("dr1") as sim,
        client_from_kubeconfig(sim.kubeconfig_dict(), limiter=LocalRateLimiter(budget)) as client,
    ):
        client.create(client.resolve("namespaces"), None, {"metadata": {"name": "batch"}})
        configmaps = client.resolve("configmaps")
        started = time.monotonic()
        answers = client.create_all(configmaps, "batch", _configmaps(24), concurrency=8)
        took = time.monotonic() - started
        assert all(isinstance(a, dict) for a in answers)
        # the burst at once, then one per 1/qps: the 24th no sooner than 20/40 s after the first
        assert took >= (24 - budget.burst) / budget.qps - 0.02


def test_a_batch_of_creates_to_a_server_that_is_gone_stops_after_a_few_unanswered() -> None:
    with SimCluster("dr1") as sim:
        kubeconfig = sim.kubeconfig_dict()
        with client_from_kubeconfig(kubeconfig) as client:
            configmaps = client.resolve("configmaps")
    # the server stopped: its port refuses connections
    with client_from_kubeconfig(kubeconfig) as client:
        answers = client.create_all(configmaps, "batch", _configmaps(40), concurrency=2, give_up_after=3)
    sent = [a for a in answers if a is not None]
    assert 3 <= len(sent) <= 4 and all(isinstance(a, Unreachable) for a in sent)
    assert answers[len(sent) :] == [None] * (40 - len(sent))


def test_a_batch_builds_each_request_as_it_starts_and_holds_no_more_than_its_concurrency() -> None:
    with SimCluster("dr1") as sim, client_from_kubeconfig(sim.kubeconfig_dict()) as client:
        transport = client._transport
        sim.faults.set(latency_ms=20)
        under_way: list[int] = []  # requests built and not answered yet, after each build
        building = set()

        def request(index: int) -> tuple[str, str, None, dict[str, str]]:
            building.add(index)
            under_way.append(len(building))
            return ("GET", "/version", None, {"Accept": "application/json"})

        answers: dict[int, int] = {}

        def answered(index: int, answer: object) -> None:
            building.discard(index)
            answers[index] = getattr(answer, "status", 0)

        started = transport.send_all(
            12, request, answered, concurrency=3, reserve=lambda: 0.0, give_up_after=3
        )
        # a large object's body exists while its request is under way, not for the whole batch
        assert started == 12 and max(under_way) == 3
        assert answers == dict.fromkeys(range(12), 200)
