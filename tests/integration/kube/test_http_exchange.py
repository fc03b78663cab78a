"""ClusterClient's request exchange against a plain HTTP server that answers as servers in front of
an API server may: behind a path, closing connections, chunked, compressed, dropping idle
connections, too slow. One in-process server for the module; each test says how it answers."""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from kubernetes import client as k8s_client
from urllib3.util.wait import wait_for_read

from drsyncer.kube import ApiError, ClusterClient, RetryPolicy
from tests.fixtures.polling import builtin_ref, eventually

CM = builtin_ref("configmaps")
ONCE = RetryPolicy(max_attempts=1, conflict_attempts=1)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    # how the next answers are sent: chunked, close (Connection: close), drop (closed unsaid), gzip,
    # delay_s
    mode: dict[str, Any]
    seen: list[dict[str, Any]]
    connections: set[tuple[str, int]]

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (the timeout test) resets its connection: expected here


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless an answer says otherwise
    server: Server

    def log_message(self, *_args: Any) -> None:
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.connections.add(self.client_address)
        self.server.seen.append(
            {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
        )
        mode = self.server.mode
        if mode.get("delay_s"):
            time.sleep(mode["delay_s"])  # the slow server under test, not a synchronisation
        status = 201 if self.command == "POST" else 200
        data = json.dumps(
            {"kind": "ConfigMap", "metadata": {"name": "a"}, "echo": json.loads(body or b"{}")}
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if mode.get("gzip"):
            data = gzip.compress(data)
            self.send_header("Content-Encoding", "gzip")
        if mode.get("close"):
            self.send_header("Connection", "close")
        if mode.get("close") or mode.get("drop"):
            self.close_connection = True
        if mode.get("chunked"):
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for start in range(0, len(data), 7):
                piece = data[start : start + 7]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _answer


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    srv = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def fresh(server: Server) -> Server:
    server.mode, server.seen, server.connections = {}, [], set()
    return server


def client_of(server: Server, path: str = "", timeout: tuple[float, float] = (5.0, 60.0)) -> ClusterClient:
    cfg = k8s_client.Configuration(host=f"http://127.0.0.1:{server.server_address[1]}{path}")
    cfg.api_key["BearerToken"] = "Bearer zq-9xk"
    return ClusterClient(k8s_client.ApiClient(cfg), name="dr1", retry=ONCE, timeout=timeout)


def test_requests_carry_the_servers_path_credentials_and_body_on_one_kept_connection(fresh: Server) -> None:
    with client_of(fresh, "/k8s/clusters/c-1/") as client:
        created = client.create(CM, "app", {"metadata": {"name": "a"}, "data": {"k": "v"}})
        assert client.get(CM, "app", "a") == {"kind": "ConfigMap", "metadata": {"name": "a"}, "echo": {}}
    assert created["echo"] == {"metadata": {"name": "a"}, "data": {"k": "v"}}
    post, get = fresh.seen
    assert (post["method"], post["path"]) == (
        "POST",
        "/k8s/clusters/c-1/api/v1/namespaces/app/configmaps?fieldManager=drsyncer",
    )
    assert get["path"] == "/k8s/clusters/c-1/api/v1/namespaces/app/configmaps/a"
    assert post["headers"]["authorization"] == "Bearer zq-9xk"
    assert post["headers"]["Content-Type"] == "application/json"
    assert post["headers"]["Host"] == f"127.0.0.1:{fresh.server_address[1]}"
    assert "Content-Length" not in get["headers"]
    assert len(fresh.connections) == 1  # the second request reused the first one's connection


def test_a_server_closing_each_connection_is_answered_anew_each_time(fresh: Server) -> None:
    fresh.mode["close"] = True
    with client_of(fresh) as client:
        for _ in range(3):
            assert client.get_json("/version")["metadata"] == {"name": "a"}
    assert len(fresh.connections) == 3


def test_chunked_and_compressed_answers_are_read_whole(fresh: Server) -> None:
    with client_of(fresh) as client:
        fresh.mode = {"chunked": True}
        assert client.create(CM, "app", {"metadata": {"name": "b"}})["echo"]["metadata"] == {"name": "b"}
        fresh.mode = {"gzip": True}
        assert client.get_json("/version")["kind"] == "ConfigMap"
        fresh.mode = {}
        assert client.get_json("/version")["kind"] == "ConfigMap"  # the connection is still good
    assert len(fresh.connections) == 1


def test_a_kept_connection_the_server_dropped_is_replaced_without_an_error(fresh: Server) -> None:
    with client_of(fresh) as client:
        fresh.mode["drop"] = True  # answer as if keeping the connection, then close it (an idle timeout)
        assert client.get_json("/version")
        fresh.mode = {}
        pool = client._held_pool()
        assert pool is not None and pool.pool is not None
        kept = [c for c in list(pool.pool.queue) if c is not None and c.sock is not None]
        eventually(lambda: all(wait_for_read(c.sock, timeout=0) for c in kept), what="the server's close")
        assert client.get_json("/version")
    assert len(fresh.connections) == 2


def test_an_answer_slower_than_the_read_timeout_is_a_retryable_timeout(fresh: Server) -> None:
    fresh.mode["delay_s"] = 0.5
    with client_of(fresh, timeout=(5.0, 0.1)) as client, pytest.raises(ApiError) as raised:
        client.get_json("/version")
    assert (raised.value.status, raised.value.reason) == (0, "Timeout")


def test_a_server_that_is_not_listening_is_a_connection_error() -> None:
    cfg = k8s_client.Configuration(host="http://127.0.0.1:9")  # discard: nothing listens there
    with (
        ClusterClient(k8s_client.ApiClient(cfg), name="dr1", retry=ONCE) as client,
        pytest.raises(ApiError) as raised,
    ):
        client.get_json("/version")
    assert (raised.value.status, raised.value.reason) == (0, "ConnectionError")
