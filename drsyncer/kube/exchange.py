"""One HTTP/1.1 request and its answer on a kept connection of a urllib3 connection pool.

urllib3 makes, verifies (TLS) and keeps the connections; the request is written in one piece and the
answer read with `httptools` (llhttp, the parser of Node.js), without urllib3's and http.client's
per-request layers (request building, retries, redirects, response objects, header parsing through
the `email` package), which cost more CPU than the rest of a request to an API server. Failures are
raised as the urllib3 exceptions its pool raises with retries off, so `ClusterClient` names every
transport failure one way.
"""

from __future__ import annotations

import contextlib
import http.client
import re
import ssl
import zlib
from collections.abc import Mapping
from typing import Any

import httptools
import urllib3

# a request line must not carry these (http.client's rule for a URL)
_UNSENDABLE = re.compile("[\x00-\x20\x7f]")
# methods whose request says its (empty) body's length, as http.client and urllib3 send them
_SENDS_BODY = frozenset({"PATCH", "POST", "PUT"})
_RECEIVE = 65536  # bytes asked of the socket at a time


def header_lines(headers: Mapping[str, str]) -> bytes:
    """`Name: value` lines as http.client writes them (values in Latin-1); a name or value that would
    split the header block is refused as http.client refuses it (ValueError)."""
    lines = []
    for name, value in headers.items():
        if "\r" in name or "\n" in name or ":" in name or "\r" in value or "\n" in value:
            raise ValueError(f"Invalid header {name!r}")
        lines.append(f"{name}: {value}\r\n".encode("latin-1"))
    return b"".join(lines)


def host_line(pool: urllib3.HTTPConnectionPool) -> bytes:
    """The Host header for requests to `pool`'s server: the port only when not the scheme's default,
    an IPv6 address in brackets (as http.client's HTTPConnection.putrequest writes it)."""
    host = str(pool.host)
    if ":" in host:
        host = f"[{host}]"
    default = 443 if pool.scheme == "https" else 80
    if pool.port is not None and pool.port != default:
        host = f"{host}:{pool.port}"
    try:
        encoded = host.encode("ascii")
    except UnicodeEncodeError:
        encoded = host.encode("idna")
    return b"Host: " + encoded + b"\r\n"


def exchange(
    pool: urllib3.HTTPConnectionPool,
    method: str,
    target: str,
    head: bytes,
    payload: bytes | None,
    timeout: urllib3.Timeout,
) -> tuple[int, bytes, Mapping[str, str]]:
    """Send `method target` with the header lines `head` (`host_line` and `header_lines`) and
    `payload` on a connection of `pool`; return (status, body, headers with lower-case names).

    Raises urllib3's exceptions (NewConnectionError, ConnectTimeoutError, SSLError, ReadTimeoutError,
    ProtocolError, DecodeError) for an answer not had; ValueError for a target that cannot be sent.
    """
    if _UNSENDABLE.search(target):
        raise ValueError(f"URL can't contain control characters or spaces: {target!r}")
    length = (
        b""
        if payload is None and method not in _SENDS_BODY
        else b"Content-Length: %d\r\n" % len(payload or b"")
    )
    request = b"".join(
        (
            method.encode("ascii"),
            b" ",
            target.encode("ascii"),
            b" HTTP/1.1\r\n",
            head,
            length,
            b"\r\n",
            payload or b"",
        )
    )
    # the pool's own checkout: a kept connection the server has closed meanwhile is reset
    conn: Any = pool._get_conn()  # (urllib3's HTTPConnection: an http.client one, with TLS)
    keep = False
    try:
        try:
            if conn.sock is None:
                conn.timeout = timeout.connect_timeout
                conn.connect()  # (TLS with the pool's settings, verified as urllib3 verifies)
            sock = conn.sock
            sock.settimeout(timeout.read_timeout)
            # the server may have answered and closed: read the answer (as urllib3 does)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                sock.sendall(request)
            answer = read_answer(sock.recv)
        except urllib3.exceptions.HTTPError:
            raise
        except (OSError, http.client.HTTPException, httptools.HttpParserError, ssl.CertificateError) as exc:
            raise _failure(exc, pool, target) from exc
        keep = answer.keep_alive
    finally:
        if not keep:
            conn.close()
        pool._put_conn(conn)
    data = b"".join(answer.chunks)
    encoding = answer.headers.get("content-encoding")
    if encoding and encoding.strip().lower() != "identity":
        data = _decoded(data, encoding)
    return answer.status, data, answer.headers


class Answer:
    """One response as the parser reports it (the `httptools` callbacks)."""

    __slots__ = ("chunks", "complete", "headers", "keep_alive", "parser", "started", "status")

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.status = 0
        self.headers: dict[str, str] = {}
        self.chunks: list[bytes] = []
        self.started = False  # headers complete: a body that runs to the connection's close is whole
        self.complete = False
        self.keep_alive = False

    def on_message_begin(self) -> None:
        # (again after an interim 1xx answer: only the final answer is kept)
        self.headers, self.chunks, self.started = {}, [], False

    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        self.headers[key] = f"{self.headers[key]}, {text}" if key in self.headers else text

    def on_headers_complete(self) -> None:
        self.started = True

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        status = self.parser.get_status_code()
        if not 100 <= status < 200:
            self.status, self.complete = status, True
            self.keep_alive = self.parser.should_keep_alive()


def read_answer(receive: Any) -> Answer:
    """Read one response with `receive(n)` (a socket's `recv`) until the parser has all of it; a body
    of no stated length runs to the end of the connection. Raises http.client's RemoteDisconnected
    (nothing came) or IncompleteRead (part of it came) when the connection ends early,
    httptools.HttpParserError for what is not HTTP."""
    answer = Answer()
    received = False
    while not answer.complete:
        data = receive(_RECEIVE)
        if not data:
            if not received:
                raise http.client.RemoteDisconnected("Remote end closed connection without response")
            if answer.started and _runs_to_close(answer.headers):
                answer.status, answer.complete = answer.parser.get_status_code(), True
                break
            raise http.client.IncompleteRead(b"".join(answer.chunks))
        received = True
        answer.parser.feed_data(data)
    return answer


def _runs_to_close(headers: Mapping[str, str]) -> bool:
    # a body neither chunked nor of stated length ends when the server closes (RFC 9112 6.3)
    return "content-length" not in headers and "chunked" not in headers.get("transfer-encoding", "").lower()


def _failure(exc: BaseException, pool: urllib3.HTTPConnectionPool, url: str) -> urllib3.exceptions.HTTPError:
    """The urllib3 exception its connection pool raises for `exc` (with retries off)."""
    if isinstance(exc, TimeoutError) or (isinstance(exc, ssl.SSLError) and "timed out" in str(exc)):
        return urllib3.exceptions.ReadTimeoutError(pool, url, f"Read timed out. ({exc})")
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return urllib3.exceptions.SSLError(exc)
    return urllib3.exceptions.ProtocolError("Connection aborted.", exc)


def _decoded(data: bytes, encoding: str) -> bytes:
    """A body sent with a content coding although none was asked for (no Accept-Encoding): gzip and
    deflate are undone, as urllib3 undoes them."""
    if encoding.strip().lower() in ("gzip", "x-gzip", "deflate"):
        try:
            return zlib.decompress(data, zlib.MAX_WBITS | 32)  # a gzip or zlib header, told apart
        except zlib.error:
            try:
                return zlib.decompress(data, -zlib.MAX_WBITS)  # deflate without a zlib header
            except zlib.error as exc:
                raise urllib3.exceptions.DecodeError(f"the answer's {encoding} body is damaged") from exc
    raise urllib3.exceptions.DecodeError(
        f"the answer has content coding {encoding!r}, which drsyncer cannot read"
    )
