"""`CurlTransport`: a cluster's requests and answers through libcurl (`pycurl`), read whole.

Why libcurl and not the stock client's urllib3 for these: a copy is one request per object, and
with urllib3 most of a request's CPU is Python (building the request, `http.client` parsing the
answer's headers with the `email` package) plus a hand-over of the interpreter lock around every
socket call (a dozen per request), which many writer threads turn into context switches. libcurl
does the whole exchange in C with the lock released once. Measured against the simulator, 16
threads creating 4,000 ConfigMaps: 448 µs of CPU per request through urllib3, 202 through libcurl
(docs/performance.md, "HTTP").

Watches stay on the stock client's urllib3 pool: they are read as a stream, a line at a time.

`send_all` sends a batch from one thread through libcurl's multi interface (libcurl-multi(3)): the
transfers run side by side on the transport's handles, the thread waiting (epoll) for any of them,
rather than a thread blocked in each.

The transport keeps a pool of curl handles, each with its own kept-alive connection; a request
takes an idle handle (the one used last first, whose connection is most likely still open), or makes
one when none is idle, and gives it back when its answer is read. A handle is used by one thread at
a time, as libcurl requires (libcurl-thread(3): a handle may move between threads, never be used by
two at once), so the connections a process keeps to a cluster are as many as it sent requests to it
at once (a destination's `DRSYNCER_WRITE_CONCURRENCY`), not one per thread that ever sent one:
before, each of a pool process's write threads kept its own connection to every cluster it wrote to,
about 32 per destination per process. Handles do not share libcurl's connection cache: that cache
is not safe between concurrent threads (libcurl's curl_share_setopt, CURL_LOCK_DATA_CONNECT), and
sharing it crashed worker processes (SIGSEGV) in a copy of 100,000 objects. HTTP/1.1, one request
per connection at a time, as before. Never shared across `fork()`: a forked process leaves its
parent's handles alone and makes its own.

What a `Configuration` says is honoured: the server URL (with a path prefix), the CA (file or
data), client certificate and key files, `verify_ssl`, `tls_server_name` (the name the server's
certificate is checked against, and sent as SNI; the Host header stays the URL's), `proxy` and
`no_proxy`.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import os
import select
import ssl
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import pycurl

Failure = Literal["tls", "connect", "timeout", "connection"]
# a request of a batch (`CurlTransport.send_all`): method, path with its query, body, headers
Request = tuple[str, str, "bytes | None", Mapping[str, str]]

# libcurl's error codes (curl/curl.h, CURLcode) by what drsyncer makes of them
_TLS = frozenset(
    {
        35,  # SSL_CONNECT_ERROR: the handshake failed
        # BAD_FUNCTION_ARGUMENT: met at a request only in setting up TLS (libcurl 8 with OpenSSL
        # answers a client key that does not fit its certificate so)
        43,
        53,  # SSL_ENGINE_NOTFOUND
        54,  # SSL_ENGINE_SETFAILED
        58,  # SSL_CERTPROBLEM: the client certificate
        59,  # SSL_CIPHER
        60,  # PEER_FAILED_VERIFICATION: the server's certificate or its name
        64,  # USE_SSL_FAILED
        66,  # SSL_ENGINE_INITFAILED
        77,  # SSL_CACERT_BADFILE
        80,  # SSL_SHUTDOWN_FAILED
        82,  # SSL_CRL_BADFILE
        83,  # SSL_ISSUER_ERROR
        90,  # SSL_PINNEDPUBKEYNOTMATCH
        91,  # SSL_INVALIDCERTSTATUS
        98,  # SSL_CLIENTCERT: the server wanted a client certificate
    }
)
_CONNECT = frozenset(
    {
        5,  # COULDNT_RESOLVE_PROXY
        6,  # COULDNT_RESOLVE_HOST
        7,  # COULDNT_CONNECT
    }
)
_TIMEOUT = frozenset({28})  # OPERATION_TIMEDOUT: connecting, or no byte for the read timeout


class TransportError(Exception):
    """A request that got no HTTP answer. `failure`: "tls", "connect" (the server or proxy cannot be
    reached), "timeout" or "connection" (cut or garbled on the way); `detail` is libcurl's message,
    which names no credential."""

    def __init__(self, failure: Failure, detail: str) -> None:
        super().__init__(detail)
        self.failure = failure
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP answer, read whole: `status`, `data` (the body's bytes) and the raw header block,
    parsed only when asked (`headers`: name → value, as the server wrote the names)."""

    status: int
    data: bytes
    raw_headers: bytes

    @property
    def headers(self) -> Mapping[str, str]:
        # a proxy's CONNECT answer or a 100 Continue comes first: the last block is the answer's
        block = self.raw_headers.rstrip(b"\r\n").rsplit(b"\r\n\r\n", 1)[-1]
        _status_line, _, fields = block.partition(b"\r\n")
        return dict(http.client.parse_headers(io.BytesIO(fields + b"\r\n\r\n")).items())


class _Handle:
    """A curl handle with the settings every request of the transport shares, and the generation of
    the transport it was made in (a fork, `clear` or `close` since retires it)."""

    __slots__ = ("curl", "generation")

    def __init__(self, curl: Any, generation: int) -> None:
        self.curl = curl
        self.generation = generation


# what epoll watches a socket for, by what libcurl asks (its socket callback's `what`)
_EPOLL_EVENTS = {
    pycurl.POLL_IN: select.EPOLLIN,
    pycurl.POLL_OUT: select.EPOLLOUT,
    pycurl.POLL_INOUT: select.EPOLLIN | select.EPOLLOUT,
    pycurl.POLL_NONE: 0,
}
# a hang-up or error is for libcurl to read (it finds the error on the socket)
_READABLE = select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR


class _Batch:
    """A libcurl multi handle driven through its socket interface (libcurl-multi(3),
    curl_multi_socket_action): libcurl says which sockets to watch and when its next timeout falls,
    and an epoll instance waits for them, so sockets numbered past 1023 are watched as well as any
    (`CurlMulti.select` uses select(2), which cannot). Kept by the transport between batches: the
    connections of a multi's transfers stay in the multi, for the next batch."""

    def __init__(self, generation: int) -> None:
        self.generation = generation
        self.multi = pycurl.CurlMulti()
        self.epoll = select.epoll()
        self.watched: dict[int, int] = {}  # socket → the epoll events it is watched for
        self.timer_at: float | None = None  # when libcurl wants its timeout handled (monotonic)
        self.active = 0  # transfers libcurl runs, as it last said
        self.multi.setopt(pycurl.M_SOCKETFUNCTION, self._on_socket)
        self.multi.setopt(pycurl.M_TIMERFUNCTION, self._on_timer)

    def _on_socket(self, what: int, fd: int, _multi: Any, _data: Any) -> None:
        if what == pycurl.POLL_REMOVE:
            if self.watched.pop(fd, None) is not None:
                with contextlib.suppress(OSError):  # (closed already)
                    self.epoll.unregister(fd)
            return
        events = _EPOLL_EVENTS[what]
        if fd in self.watched:
            try:
                self.epoll.modify(fd, events)
                self.watched[fd] = events
                return
            except OSError:  # closed and opened again under the same number without a remove
                pass
        self.epoll.register(fd, events)
        self.watched[fd] = events

    def _on_timer(self, timeout_ms: int) -> None:
        self.timer_at = None if timeout_ms < 0 else time.monotonic() + timeout_ms / 1000

    def step(self, wait_s: float) -> None:
        """Wait up to `wait_s` for a watched socket or libcurl's timer, then let libcurl act on it."""
        if self.timer_at is not None:
            wait_s = min(wait_s, max(0.0, self.timer_at - time.monotonic()))
        for fd, events in self.epoll.poll(wait_s):
            flags = (pycurl.CSELECT_IN if events & _READABLE else 0) | (
                pycurl.CSELECT_OUT if events & select.EPOLLOUT else 0
            )
            self.active = self.multi.socket_action(fd, flags)[1]
        if self.timer_at is not None and self.timer_at <= time.monotonic():
            self.timer_at = None
            self.active = self.multi.socket_action(pycurl.SOCKET_TIMEOUT, 0)[1]

    def finished(self) -> list[tuple[Any, TransportError | None]]:
        """The transfers that ended since the last call, each with its error (None: answered)."""
        done: list[tuple[Any, TransportError | None]] = []
        while True:
            queued, ok, failed = self.multi.info_read()
            done.extend((curl, None) for curl in ok)
            done.extend(
                (curl, TransportError(_failure(code), str(message))) for curl, code, message in failed
            )
            if not queued:
                return done

    def idle(self) -> bool:
        """Whether libcurl runs no transfer and has no timer set."""
        return self.active == 0 and self.timer_at is None

    def close(self) -> None:
        self.multi.close()
        self.epoll.close()


# curl objects a forked child inherited: held for the child's whole life and never cleaned up there,
# because cleaning up a connection closes it the TLS way (a close_notify written on a socket the
# parent still uses)
_INHERITED: list[Any] = []
_LIVE: weakref.WeakSet[CurlTransport] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for transport in list(_LIVE):
        transport._forget_parents()


os.register_at_fork(after_in_child=_after_fork_in_child)


class CurlTransport:
    """Requests to one API server. Thread-safe: each thread sends through a handle of its own.

    `timeout` is (connect, read) in seconds: the read timeout is how long an answer may stall (no
    byte received), as urllib3's; a whole answer may take longer while bytes keep coming.
    """

    def __init__(self, configuration: Any, timeout: tuple[float, float]) -> None:
        self._cfg = configuration
        self._timeout = timeout
        host = str(configuration.host).rstrip("/")
        self._base, self._connect_to, self._host_header = _routing(host, configuration.tls_server_name)
        self._lock = threading.Lock()
        self._generation = 0
        self._handles: set[Any] = set()  # to close; only this process's
        self._idle: list[_Handle] = []  # not sending now, the last given back at the end
        self._batches: list[_Batch] = []  # not sending now
        self.connects = 0  # connections opened (for tests and figures)
        _LIVE.add(self)

    def send(
        self,
        method: str,
        path: str,
        body: bytes | None,
        headers: Mapping[str, str],
    ) -> Answer:
        """Send `method` to the server URL + `path` (which carries the query) and read the answer.
        Raises TransportError when no HTTP answer came."""
        handle = self._take()
        try:
            return self._send(handle.curl, method, path, body, headers)
        finally:
            self._give(handle)

    def send_all(
        self,
        count: int,
        request: Callable[[int], Request],
        answered: Callable[[int, Answer | TransportError], bool],
        *,
        concurrency: int,
        reserve: Callable[[], float],
    ) -> int:
        """Send requests 0 to `count` - 1 in order, at most `concurrency` at once, all from the calling
        thread: libcurl's multi interface drives the transfers (`_Batch`), so a batch costs no thread
        per request nor the hand-overs of the interpreter lock between them.

        `request(i)` builds request i (method, path with its query, body, headers) as it is about to
        start, and `answered(i, answer)` is called with its Answer or TransportError as soon as it
        ends, so a batch holds the bodies and answers of the requests under way only; when it returns
        True no more requests are started (those under way still end). `reserve` is called before each
        request starts and returns the seconds it must wait (a rate limiter's reservation); it starts
        no sooner. Returns how many were started: requests 0 to that number - 1."""
        batch = self._take_batch()
        running: dict[Any, tuple[int, _Handle, list[bytes], list[bytes]]] = {}
        started = 0
        due = 0.0  # when request `started` may start, its token reserved; 0: not reserved yet
        stop = False
        try:
            while True:
                while not stop and started < count and len(running) < concurrency:
                    if not due:
                        due = time.monotonic() + reserve()
                    if due > time.monotonic():
                        break
                    handle = self._take()
                    try:
                        chunks, head = self._prepare(handle.curl, *request(started))
                        batch.multi.add_handle(handle.curl)
                    except BaseException:
                        self._give(handle)
                        raise
                    running[handle.curl] = (started, handle, chunks, head)
                    started += 1
                    due = 0.0
                if not running:
                    if stop or started == count:
                        return started
                    time.sleep(max(0.0, due - time.monotonic()))  # a reservation to wait for, alone
                    continue
                # until a socket is ready or libcurl's timer is due, or the next reservation when a
                # transfer slot is free for it
                wait = 1.0
                if due and not stop and len(running) < concurrency:
                    wait = max(0.0, min(wait, due - time.monotonic()))
                batch.step(wait)
                for curl, error in batch.finished():
                    index, handle, chunks, head = running.pop(curl)
                    batch.multi.remove_handle(curl)
                    code = 0 if error else curl.getinfo(pycurl.RESPONSE_CODE)
                    self._give(handle)
                    if error is None:
                        stop = answered(index, Answer(code, b"".join(chunks), b"".join(head))) or stop
                    else:
                        stop = answered(index, error) or stop
                if running and batch.idle():
                    # libcurl runs none of them and reported none done: never wait for them forever
                    for curl, (index, handle, _, _) in list(running.items()):
                        del running[curl]
                        batch.multi.remove_handle(curl)
                        self._give(handle)
                        stop = answered(index, TransportError("connection", "the transfer was lost")) or stop
        finally:
            # an exception (a callback's, a signal's): the handles go back, their transfers dropped
            # (libcurl closes a connection whose transfer was removed before it ended)
            for curl, (_, handle, _, _) in running.items():
                batch.multi.remove_handle(curl)
                self._give(handle)
            self._give_batch(batch)

    def _send(
        self, curl: Any, method: str, path: str, body: bytes | None, headers: Mapping[str, str]
    ) -> Answer:
        chunks, head = self._prepare(curl, method, path, body, headers)
        try:
            curl.perform()
        except pycurl.error as exc:
            code, message = exc.args[0], str(exc.args[1] if len(exc.args) > 1 else exc)
            raise TransportError(_failure(code), message) from None
        return Answer(curl.getinfo(pycurl.RESPONSE_CODE), b"".join(chunks), b"".join(head))

    def _prepare(
        self, curl: Any, method: str, path: str, body: bytes | None, headers: Mapping[str, str]
    ) -> tuple[list[bytes], list[bytes]]:
        """Set `curl` up for one request; (the answer's body chunks, its header lines) as it comes."""
        chunks: list[bytes] = []
        head: list[bytes] = []
        curl.setopt(pycurl.URL, self._base + path)
        lines = [f"{k}: {v}" for k, v in headers.items()]
        # no `Expect: 100-continue` round trip before a body; the Host of the URL, not of a TLS name
        lines.append("Expect:")
        if self._host_header:
            lines.append(self._host_header)
        curl.setopt(pycurl.HTTPHEADER, lines)
        if body is not None:
            curl.setopt(pycurl.POSTFIELDS, body)
            if method == "POST":
                curl.unsetopt(pycurl.CUSTOMREQUEST)
            else:
                curl.setopt(pycurl.CUSTOMREQUEST, method)
        else:
            curl.setopt(pycurl.HTTPGET, 1)
            if method == "GET":
                curl.unsetopt(pycurl.CUSTOMREQUEST)
            else:
                curl.setopt(pycurl.CUSTOMREQUEST, method)
        curl.setopt(pycurl.WRITEFUNCTION, chunks.append)
        curl.setopt(pycurl.HEADERFUNCTION, head.append)
        return chunks, head

    def clear(self) -> None:
        """Drop the kept connections: each next request connects afresh (a rotated client
        certificate is presented only on a new connection). What a request or batch is using is
        closed as it is given back, never under it."""
        with self._lock:
            self._generation += 1
            retired, self._idle = self._idle, []
            self._handles.difference_update(h.curl for h in retired)
            batches, self._batches = self._batches, []
        for handle in retired:
            handle.curl.close()
        for batch in batches:
            batch.close()

    def close(self) -> None:
        """Close this process's handles and connections (`clear`); a later request opens new ones."""
        self.clear()

    def _forget_parents(self) -> None:
        """In a forked child: the parent's handles, batches and connections are kept (not cleaned
        up, see _INHERITED) and never used; the lock may have been held by a parent's thread."""
        _INHERITED.extend(self._handles)
        _INHERITED.extend(self._batches)
        self._lock = threading.Lock()
        self._handles = set()
        self._idle = []
        self._batches = []
        self._generation += 1

    def prepare(self, count: int) -> None:
        """Have `count` handles idle now rather than made by the first requests (no connection is
        opened)."""
        with self._lock:  # (a process getting ready: nothing else is waiting for it)
            for _ in range(count - len(self._idle)):
                handle = _Handle(self._configured(), self._generation)
                self._handles.add(handle.curl)
                self._idle.insert(0, handle)  # behind the ones that have a connection

    def _take(self) -> _Handle:
        with self._lock:
            if self._idle:
                return self._idle.pop()
            generation = self._generation
        curl = self._configured()  # outside the lock: other requests go on meanwhile
        with self._lock:
            self._handles.add(curl)
        return _Handle(curl, generation)

    def _give(self, handle: _Handle) -> None:
        try:
            connects = handle.curl.getinfo(pycurl.NUM_CONNECTS)
        except pycurl.error:  # closed by a close() while it was sending
            connects = 0
        with self._lock:
            self.connects += connects
            if handle.generation == self._generation and handle.curl in self._handles:
                self._idle.append(handle)
                return
            # retired by a clear() or close() while it was sending (a fork already let go of it)
            retire = handle.curl in self._handles
            self._handles.discard(handle.curl)
        if retire:
            handle.curl.close()

    def _take_batch(self) -> _Batch:
        with self._lock:
            if self._batches:
                return self._batches.pop()
            generation = self._generation
        return _Batch(generation)

    def _give_batch(self, batch: _Batch) -> None:
        with self._lock:
            if batch.generation == self._generation:
                self._batches.append(batch)
                return
        batch.close()  # retired by a clear() or close() while it was sending

    def _configured(self) -> Any:
        cfg = self._cfg
        curl = pycurl.Curl()
        curl.setopt(pycurl.NOSIGNAL, 1)  # timeouts without SIGALRM: requests run on many threads
        curl.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_1_1)
        curl.setopt(pycurl.FOLLOWLOCATION, 0)
        curl.setopt(pycurl.PROXY, cfg.proxy or "")  # "" : no proxy, whatever the environment says
        if cfg.proxy and cfg.no_proxy:
            curl.setopt(pycurl.NOPROXY, cfg.no_proxy)
        if self._connect_to:
            curl.setopt(pycurl.CONNECT_TO, [self._connect_to])
        if cfg.verify_ssl:
            curl.setopt(pycurl.SSL_VERIFYPEER, 1)
            curl.setopt(pycurl.SSL_VERIFYHOST, 2)
        else:
            curl.setopt(pycurl.SSL_VERIFYPEER, 0)
            curl.setopt(pycurl.SSL_VERIFYHOST, 0)
        if cfg.ca_cert_data:
            data = cfg.ca_cert_data
            curl.setopt(pycurl.CAINFO_BLOB, data.encode() if isinstance(data, str) else data)
        elif cfg.ssl_ca_cert:
            curl.setopt(pycurl.CAINFO, cfg.ssl_ca_cert)
        else:
            # no CA named: the system's trust store as Python's OpenSSL finds it (SSL_CERT_FILE and
            # SSL_CERT_DIR included), which is what urllib3 trusted; libcurl's own default is the
            # path its build machine had
            system = ssl.get_default_verify_paths()
            if system.cafile:
                curl.setopt(pycurl.CAINFO, system.cafile)
            if system.capath:
                curl.setopt(pycurl.CAPATH, system.capath)
        if cfg.cert_file:
            curl.setopt(pycurl.SSLCERT, cfg.cert_file)
        if cfg.key_file:
            curl.setopt(pycurl.SSLKEY, cfg.key_file)
        _set_timeout(curl, self._timeout)
        return curl


def _set_timeout(curl: Any, timeout: tuple[float, float]) -> None:
    curl.setopt(pycurl.CONNECTTIMEOUT_MS, max(1, int(timeout[0] * 1000)))
    # a stall: under 1 byte/s over the read timeout (libcurl counts it in whole seconds)
    curl.setopt(pycurl.LOW_SPEED_LIMIT, 1)
    curl.setopt(pycurl.LOW_SPEED_TIME, max(1, round(timeout[1])))


def _failure(code: int) -> Failure:
    if code in _TLS:
        return "tls"
    if code in _CONNECT:
        return "connect"
    if code in _TIMEOUT:
        return "timeout"
    return "connection"


def _routing(host: str, tls_server_name: str | None) -> tuple[str, str, str]:
    """(URL base, CONNECT_TO entry, Host header) for a server URL: with a TLS server name the URL
    names it (so libcurl sends it as SNI and checks the certificate against it), CONNECT_TO sends
    the connection to the real address, and the Host header keeps the real one."""
    if not tls_server_name:
        return host, "", ""
    url = urlsplit(host)
    port = url.port or (443 if url.scheme == "https" else 80)
    real = url.hostname or ""
    bracketed = f"[{real}]" if ":" in real else real
    base = f"{url.scheme}://{tls_server_name}:{port}{url.path}"
    return base, f"{tls_server_name}:{port}:{bracketed}:{port}", f"Host: {url.netloc}"
