"""A kubeconfig's `tls-server-name` and `proxy-url` reach the connection, as client-go reads them."""

from __future__ import annotations

import select
import socket
import socketserver
import threading
from collections.abc import Iterator

import pytest

from drsyncer.errors import Category
from drsyncer.kube import ApiError, client_from_kubeconfig
from drsyncer.sim import SimCluster


@pytest.fixture(scope="module")
def sim() -> Iterator[SimCluster]:
    # the simulator's certificate names "localhost", the cluster's name and its address
    with SimCluster("dr1", tls=True) as cluster:
        yield cluster


def test_the_certificate_is_checked_against_the_tls_server_name_while_the_url_is_dialled(
    sim: SimCluster,
) -> None:
    config = sim.kubeconfig_dict()
    # "dr1" resolves nowhere: the connection goes to the URL's address, the name is TLS's only
    config["clusters"][0]["cluster"]["tls-server-name"] = "dr1"
    with client_from_kubeconfig(config) as client:
        assert client.server_version()


def test_a_tls_server_name_the_certificate_does_not_carry_is_a_tls_error(sim: SimCluster) -> None:
    config = sim.kubeconfig_dict()
    config["clusters"][0]["cluster"]["tls-server-name"] = "elsewhere.example"
    with client_from_kubeconfig(config) as client, pytest.raises(ApiError) as raised:
        client.server_version()
    assert (raised.value.reason, raised.value.category) == ("TLSError", Category.NON_RETRYABLE)


class _ConnectProxy(socketserver.ThreadingTCPServer):
    """An HTTP proxy that tunnels `CONNECT host:port` and remembers what it was asked for."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Tunnel)
        self.asked: list[str] = []


class _Tunnel(socketserver.BaseRequestHandler):
    server: _ConnectProxy

    def handle(self) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            head += chunk
        method, target = head.split(b" ")[:2]
        if method != b"CONNECT":
            self.request.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        self.server.asked.append(target.decode())
        host, port = target.decode().rsplit(":", 1)
        with socket.create_connection((host, int(port))) as upstream:
            self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            ends = [self.request, upstream]
            while True:
                readable, _, _ = select.select(ends, [], [], 5)
                if not readable:
                    return
                for end in readable:
                    data = end.recv(65536)
                    if not data:
                        return
                    (upstream if end is self.request else self.request).sendall(data)


def test_requests_go_through_the_proxy_url(sim: SimCluster) -> None:
    proxy = _ConnectProxy()
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        config = sim.kubeconfig_dict()
        config["clusters"][0]["cluster"]["proxy-url"] = f"http://127.0.0.1:{proxy.server_address[1]}"
        with client_from_kubeconfig(config) as client:
            assert client.server_version()
        assert proxy.asked == [sim.url.removeprefix("https://")]
    finally:
        proxy.shutdown()
        proxy.server_close()
