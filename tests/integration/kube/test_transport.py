"""The libcurl transport's connections: a pool of handles per client, each keeping its connection
alive; a handle (and so a connection) is never used by two requests at once, never shared with a
forked child, and a request takes a handle another thread used before rather than opening one of
its own (libcurl's shared connection cache is not safe between concurrent threads)."""

from __future__ import annotations

import http.server
import os
import resource
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from kubernetes import config

from drsyncer.errors import CategorisedError, Category
from drsyncer.kube import ClusterClient, ResourceRef, client_from_kubeconfig
from drsyncer.kube.errors import Unreachable
from drsyncer.kube.ratelimit import LocalRateLimiter, RateBudget
from drsyncer.kube.retry import Attempt
from drsyncer.sim import SimCluster
from tests.fixtures.polling import eventually


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
        kinds = [type(a).__name__ if isinstance(a, dict) else type(a.error).__name__ for a in answers]
        assert kinds == ["dict"] * 5 + ["AlreadyExists"] + ["dict"] * 14
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
    assert 3 <= len(sent) <= 4 and all(
        isinstance(a, Attempt) and isinstance(a.error, Unreachable) for a in sent
    )
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

        def answered(index: int, answer: object) -> bool:
            building.discard(index)
            answers[index] = getattr(answer, "status", 0)
            return False

        started = transport.send_all(12, request, answered, concurrency=3, reserve=lambda: 0.0)
        # a large object's body exists while its request is under way, not for the whole batch
        assert started == 12 and max(under_way) == 3
        assert answers == dict.fromkeys(range(12), 200)


def test_batches_take_the_connections_an_earlier_batch_left() -> None:
    with SimCluster("dr1") as sim, client_from_kubeconfig(sim.kubeconfig_dict()) as client:
        configmaps = client.resolve("configmaps")
        client.create(client.resolve("namespaces"), None, {"metadata": {"name": "batch"}})
        sim.faults.set(latency_ms=20)
        before = client._transport.connects
        for start in (0, 20, 40):
            batch = [{"metadata": {"name": f"cm-{i}"}} for i in range(start, start + 20)]
            assert all(
                isinstance(a, dict) for a in client.create_all(configmaps, "batch", batch, concurrency=4)
            )
        assert client._transport.connects - before <= 4


def test_a_client_closed_while_its_batch_runs_ends_the_batch() -> None:
    with SimCluster("dr1") as sim, client_from_kubeconfig(sim.kubeconfig_dict()) as client:
        configmaps = client.resolve("configmaps")
        client.create(client.resolve("namespaces"), None, {"metadata": {"name": "batch"}})
        sim.faults.set(latency_ms=100)
        answers: list[object] = []
        sent_before = client.counters.get(client.name, "requests")
        batch = threading.Thread(
            target=lambda: answers.extend(
                client.create_all(configmaps, "batch", _configmaps(64), concurrency=8)
            )
        )
        batch.start()
        # the point of the race: the first answers in, most creates not started yet
        eventually(lambda: client.counters.get(client.name, "requests") > sent_before, what="a first answer")
        client.close()
        batch.join(timeout=30)
        assert not batch.is_alive(), "the batch went on after its client was closed"
        assert len(answers) == 64
        sim.faults.set(latency_ms=0)
        assert client.server_version()  # a closed client opens new connections


def test_a_batch_watches_sockets_numbered_past_1023(tmp_path: Path) -> None:
    """select(2) cannot watch a descriptor numbered 1024 or more; a worker with many clusters'
    connections open has such descriptors."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1300:
        pytest.skip(f"the open-file limit ({hard}) leaves no descriptor past 1023")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1300), hard))
    filler = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        with SimCluster("dr1") as sim, client_from_kubeconfig(sim.kubeconfig_dict()) as client:
            configmaps = client.resolve("configmaps")
            client.create(client.resolve("namespaces"), None, {"metadata": {"name": "batch"}})
            sim.faults.set(latency_ms=50)
            cpu, wall = time.thread_time(), time.monotonic()
            answers = client.create_all(configmaps, "batch", _configmaps(40), concurrency=8)
            cpu, wall = time.thread_time() - cpu, time.monotonic() - wall
        assert all(isinstance(a, dict) for a in answers)
        # waiting, not spinning: a busy loop takes as much CPU as time passes
        assert cpu < wall / 2, f"{cpu:.2f} s of CPU in {wall:.2f} s"
    finally:
        for fd in filler:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_batch_answered_429_starts_no_more_and_leaves_the_rest_unsent() -> None:
    with SimCluster("dr1") as sim, client_from_kubeconfig(sim.kubeconfig_dict()) as client:
        configmaps = client.resolve("configmaps")
        client.create(client.resolve("namespaces"), None, {"metadata": {"name": "batch"}})
        sim.faults.set(latency_ms=20, error_rates={"create": {429: 1.0}}, retry_after_s=1)
        answers = client.create_all(configmaps, "batch", _configmaps(100), concurrency=8)
        throttled = [a for a in answers if isinstance(a, Attempt)]
        # those already under way when the first 429 came, no more: the rest go as single requests
        assert 1 <= len(throttled) <= 8 and all(a.error.status == 429 for a in throttled)
        assert answers[len(throttled) :] == [None] * (100 - len(throttled))


def test_each_request_of_a_batch_carries_the_credentials_of_its_moment(tmp_path: Path) -> None:
    with SimCluster("dr1", token="first") as sim:
        kubeconfig = sim.kubeconfig_dict()
        api_client = config.new_client_from_config_dict(kubeconfig)
        configuration = api_client.configuration
        asked = [0]

        def refresh(cfg: object) -> None:  # the token changes under the batch: the server takes the old
            asked[0] += 1
            if asked[0] == 6:
                configuration.api_key["BearerToken"] = "Bearer second"

        def renew(_sent: object) -> bool:  # a plugin that cannot give a credential
            raise CategorisedError(Category.NON_RETRYABLE, "the credential plugin failed")

        client = ClusterClient(api_client, name="dr1", on_unauthorized=renew)
        try:
            configmaps = client.resolve("configmaps")
            client.create(client.resolve("namespaces"), None, {"metadata": {"name": "batch"}})
            configuration.refresh_api_key_hook = refresh
            answers = client.create_all(configmaps, "batch", _configmaps(12), concurrency=2)
        finally:
            client.close()
    created = [a for a in answers if isinstance(a, dict)]
    refused = [a for a in answers if isinstance(a, Attempt)]
    # the first requests went with the token of their moment and were created; the later ones carried
    # the new token, and the renewal's failure is theirs alone
    assert 1 <= len(created) <= 6 and len(created) + len(refused) == 12
    assert all(a.error.message == "the credential plugin failed" for a in refused)


class _Proxy(http.server.BaseHTTPRequestHandler):
    """A server in front of the API answering writes with a sign-in page, as an expired proxy session
    does."""

    def do_GET(self) -> None:
        self._page()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._page()

    def _page(self) -> None:
        body = b"<html>Please sign in</html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


def test_a_create_answered_with_something_other_than_json_is_not_taken_for_created() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        kubeconfig = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "p", "cluster": {"server": f"http://127.0.0.1:{server.server_port}"}}],
            "users": [{"name": "p", "user": {}}],
            "contexts": [{"name": "p", "context": {"cluster": "p", "user": "p"}}],
            "current-context": "p",
        }
        configmaps = ResourceRef("", "v1", "ConfigMap", "configmaps", namespaced=True)
        with client_from_kubeconfig(kubeconfig) as client:
            answers = client.create_all(configmaps, "batch", _configmaps(4), concurrency=2)
    finally:
        server.shutdown()
    assert all(isinstance(a, Attempt) and a.error.reason == "InvalidResponse" for a in answers)
