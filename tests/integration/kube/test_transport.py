"""The libcurl transport's connections: one kept per thread, never shared between threads (libcurl's
shared connection cache is not safe between concurrent threads) nor with a forked child."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pycurl

from drsyncer.kube import client_from_kubeconfig
from drsyncer.sim import SimCluster


def test_a_forked_child_opens_its_own_connection_and_the_parents_stays_usable() -> None:
    with SimCluster("dr1", tls=True) as sim, client_from_kubeconfig(sim.kubeconfig_dict()) as client:
        assert client.server_version()
        transport = client._transport
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: a request of its own, its connection count reported, then gone
            code = 1
            try:
                client._version = None  # ask the server again
                client.server_version()
                connects = transport._handle().getinfo(pycurl.NUM_CONNECTS)
                os.write(write, str(connects).encode())
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
        assert transport._handle().getinfo(pycurl.NUM_CONNECTS) == 0


def test_each_thread_keeps_one_connection_of_its_own() -> None:
    with SimCluster("dr1") as sim, client_from_kubeconfig(sim.kubeconfig_dict()) as client:
        transport = client._transport
        together = threading.Barrier(4)  # four threads at once, none reused for a second share

        def requests_of_one_thread(_: int) -> set[int]:
            together.wait(timeout=10)
            ports = set()
            for _ in range(10):
                client.request("GET", "/version")
                ports.add(transport._handle().getinfo(pycurl.LOCAL_PORT))
            return ports

        with ThreadPoolExecutor(4) as pool:
            per_thread = list(pool.map(requests_of_one_thread, range(4)))
        assert [len(ports) for ports in per_thread] == [1, 1, 1, 1]  # kept alive
        assert len(set().union(*per_thread)) == 4  # and no two threads on one connection
