"""The libcurl transport's connections: a pool of handles per client, each keeping its connection
alive; a handle (and so a connection) is never used by two requests at once, never shared with a
forked child, and a request takes a handle another thread used before rather than opening one of
its own (libcurl's shared connection cache is not safe between concurrent threads)."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

from drsyncer.kube import client_from_kubeconfig
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
