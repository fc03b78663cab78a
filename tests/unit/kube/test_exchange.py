"""Reading one HTTP answer and writing request headers, without a server: the bytes a server sends,
in the pieces a socket may hand them over."""

from __future__ import annotations

import http.client
from collections.abc import Callable

import httptools
import pytest

from drsyncer.kube.exchange import header_lines, read_answer

OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n" + b'{"a": true}'
CHUNKED = b'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{"a"\r\n7\r\n: true}\r\n0\r\n\r\n'


def pieces(data: bytes, size: int) -> Callable[[int], bytes]:
    """A socket's `recv` handing over `data` at most `size` bytes at a time, then end of stream."""
    parts = [data[i : i + size] for i in range(0, len(data), size)]

    def receive(_n: int) -> bytes:
        return parts.pop(0) if parts else b""

    return receive


@pytest.mark.parametrize("size", [1, 7, 65536])
@pytest.mark.parametrize(("raw", "status"), [(OK, 200), (CHUNKED, 201)])
def test_an_answer_is_read_whole_however_the_socket_splits_it(raw: bytes, status: int, size: int) -> None:
    answer = read_answer(pieces(raw, size))
    assert (answer.status, b"".join(answer.chunks), answer.keep_alive) == (status, b'{"a": true}', True)


def test_header_names_are_lower_case_and_repeated_ones_joined() -> None:
    raw = b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\nWarning: a\r\nWarning: b\r\nContent-Length: 0\r\n\r\n"
    answer = read_answer(pieces(raw, 65536))
    assert answer.status == 429
    assert answer.headers == {"retry-after": "3", "warning": "a, b", "content-length": "0"}


def test_an_interim_answer_is_passed_over_for_the_final_one() -> None:
    answer = read_answer(pieces(b"HTTP/1.1 100 Continue\r\n\r\n" + OK, 65536))
    assert (answer.status, b"".join(answer.chunks)) == (200, b'{"a": true}')
    assert answer.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    "raw",
    [
        OK.replace(b"Content-Length: 11", b"Connection: close\r\nContent-Length: 11"),
        OK.replace(b"HTTP/1.1", b"HTTP/1.0"),
    ],
)
def test_a_connection_the_server_will_close_is_not_kept(raw: bytes) -> None:
    assert read_answer(pieces(raw, 65536)).keep_alive is False


def test_a_body_of_no_stated_length_runs_to_the_end_of_the_connection() -> None:
    answer = read_answer(pieces(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + b"x" * 100, 30))
    assert (answer.status, b"".join(answer.chunks), answer.keep_alive) == (200, b"x" * 100, False)


def test_a_connection_that_ends_early_is_told_apart_from_one_that_said_nothing() -> None:
    with pytest.raises(http.client.RemoteDisconnected):
        read_answer(pieces(b"", 1))
    with pytest.raises(http.client.IncompleteRead):
        read_answer(pieces(OK[:-3], 65536))
    with pytest.raises(http.client.IncompleteRead):
        read_answer(pieces(CHUNKED[:-5], 65536))


def test_what_is_not_http_is_refused() -> None:
    with pytest.raises(httptools.HttpParserError):
        read_answer(pieces(b"SSH-2.0-OpenSSH_9.6\r\n\r\n", 65536))


def test_header_lines_are_written_as_http_client_writes_them_and_refuse_line_breaks() -> None:
    assert header_lines({"Accept": "application/json", "authorization": "Bearer t"}) == (
        b"Accept: application/json\r\nauthorization: Bearer t\r\n"
    )
    with pytest.raises(ValueError):
        header_lines({"authorization": "Bearer t\r\nX-Injected: 1"})
