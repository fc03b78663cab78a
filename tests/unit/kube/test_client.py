"""ClusterClient over a fake transport: request building and response handling, no server."""

import json
from typing import Any

import pytest
from kubernetes import client as k8s_client

from drsyncer.errors import Category
from drsyncer.kube.client import ClusterClient
from drsyncer.kube.discovery import offline_ref
from drsyncer.kube.errors import ApiError
from drsyncer.kube.retry import RetryPolicy
from drsyncer.kube.transport import Answer, TransportError, _routing

CM = offline_ref("configmaps")
assert CM is not None
FAST = RetryPolicy(max_attempts=3, base_delay_s=0.0, max_retry_after_s=0.0, conflict_attempts=3)


class FakeResponse:
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        block = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self.answer = Answer(status, data, f"HTTP/1.1 {status} X\r\n{block}\r\n".encode())


class FakeTransport:
    """Stands in for the libcurl transport of one server: records what is sent, answers in turn."""

    def __init__(self, *responses: FakeResponse | TransportError) -> None:
        self.responses = list(responses)
        self.requests: list[dict[str, Any]] = []

    def send(self, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> Answer:
        self.requests.append({"method": method, "url": BASE + path, "body": body, "headers": headers})
        outcome = self.responses.pop(0)
        if isinstance(outcome, TransportError):
            raise outcome
        return outcome.answer


BASE = "https://dr1.example:6443"


def make_client(*responses: FakeResponse | TransportError) -> tuple[ClusterClient, FakeTransport]:
    cfg = k8s_client.Configuration(host=BASE)
    cfg.api_key["BearerToken"] = "Bearer zq-9xk"
    client = ClusterClient(
        k8s_client.ApiClient(cfg), name="dr1", origin="kubeconfig Secret ns/s key 'k'", retry=FAST
    )
    transport = FakeTransport(*responses)
    client._transport = transport  # type: ignore[assignment]
    return client, transport


def status(code: int, reason: str, message: str = "") -> dict[str, Any]:
    return {"kind": "Status", "status": "Failure", "code": code, "reason": reason, "message": message}


def page(names: list[str], token: str | None, rv: str = "10") -> dict[str, Any]:
    return {
        "kind": "ConfigMapList",
        "metadata": {"resourceVersion": rv, "continue": token},
        "items": [{"metadata": {"name": n}} for n in names],
    }


def test_get_sends_the_bearer_token_and_returns_a_plain_dict() -> None:
    client, pool = make_client(FakeResponse(200, {"kind": "ConfigMap", "metadata": {"name": "a"}}))
    assert client.get(CM, "app", "a") == {"kind": "ConfigMap", "metadata": {"name": "a"}}
    sent = pool.requests[0]
    assert (sent["method"], sent["url"]) == (
        "GET",
        "https://dr1.example:6443/api/v1/namespaces/app/configmaps/a",
    )
    assert sent["headers"]["authorization"] == "Bearer zq-9xk"


def test_get_of_a_missing_object_is_none() -> None:
    client, _ = make_client(FakeResponse(404, status(404, "NotFound")))
    assert client.get(CM, "app", "a") is None


def test_list_pages_lazily_and_fills_in_api_version_and_kind() -> None:
    client, pool = make_client(
        FakeResponse(200, page(["a", "b"], "t1", rv="42")), FakeResponse(200, page(["c"], None))
    )
    stream = client.list(CM, "app", label_selector="x=y", page_size=2)
    assert stream.resource_version == "42"
    assert len(pool.requests) == 1  # the first page only, until more is consumed
    first = next(stream)
    assert (first["apiVersion"], first["kind"], first["metadata"]["name"]) == ("v1", "ConfigMap", "a")
    assert [o["metadata"]["name"] for o in stream] == ["b", "c"]
    assert [r["url"].split("?")[1] for r in pool.requests] == [
        "limit=2&labelSelector=x%3Dy",
        "limit=2&continue=t1&labelSelector=x%3Dy",
    ]


def test_server_errors_are_retried_and_throttling_counted() -> None:
    client, pool = make_client(
        FakeResponse(500, status(500, "InternalError")),
        FakeResponse(429, status(429, "TooManyRequests"), {"Retry-After": "0"}),
        FakeResponse(201, {"metadata": {"name": "a"}}),
    )
    created = client.create(CM, "app", {"metadata": {"name": "a"}}, dry_run=True)
    assert created == {"metadata": {"name": "a"}}
    assert len(pool.requests) == 3
    assert pool.requests[0]["url"].endswith("/configmaps?dryRun=All&fieldManager=drsyncer")
    assert json.loads(pool.requests[0]["body"]) == {"metadata": {"name": "a"}}
    assert client.counters.get("dr1", "requests") == 3
    assert client.counters.get("dr1", "throttled") == 1
    assert client.counters.get("dr1", "retries") == 2


def test_invalid_is_not_retried_and_reads_well() -> None:
    client, pool = make_client(FakeResponse(422, status(422, "Invalid", 'ConfigMap "a" is invalid: data')))
    with pytest.raises(ApiError) as raised:
        client.create(CM, "app", {"metadata": {"name": "a"}})
    assert len(pool.requests) == 1
    assert str(raised.value) == (
        'NonRetryable: create configmaps app/a on dr1: 422 Invalid: ConfigMap "a" is invalid: data'
    )


def test_unauthorized_names_where_the_credentials_came_from() -> None:
    client, _ = make_client(FakeResponse(401, status(401, "Unauthorized", "Unauthorized")))
    with pytest.raises(ApiError) as raised:
        client.get(CM, "app", "a")
    assert "the credentials from kubeconfig Secret ns/s key 'k' were rejected" in str(raised.value)
    assert "zq-9xk" not in str(raised.value)
    assert raised.value.category is Category.NON_RETRYABLE


@pytest.mark.parametrize(
    ("exc", "reason", "category"),
    [
        (TransportError("connect", "Failed to connect"), "ConnectionError", Category.RETRYABLE),
        (TransportError("timeout", "Operation timed out"), "Timeout", Category.RETRYABLE),
        (TransportError("connection", "Recv failure: reset"), "ConnectionError", Category.RETRYABLE),
        (TransportError("tls", "SSL certificate problem"), "TLSError", Category.NON_RETRYABLE),
    ],
)
def test_transport_failures_become_categorised_api_errors(
    exc: TransportError, reason: str, category: Category
) -> None:
    client, _ = make_client(exc, exc, exc)
    with pytest.raises(ApiError) as raised:
        client.get(CM, "app", "a")
    assert (raised.value.status, raised.value.reason, raised.value.category) == (0, reason, category)


def test_patch_sends_the_content_type_of_its_kind() -> None:
    client, pool = make_client(*(FakeResponse(200, {}) for _ in range(4)))
    client.patch(CM, "app", "a", {"data": {"k": "v"}})
    client.patch(CM, "app", "a", [{"op": "remove", "path": "/data/k"}], patch_type="json")
    client.patch(CM, "app", "a", {"data": {}}, patch_type="strategic", field_manager=None)
    client.patch(CM, "app", "a", {"apiVersion": "v1"}, patch_type="apply", force=True, subresource="status")
    assert [r["headers"]["Content-Type"] for r in pool.requests] == [
        "application/merge-patch+json",
        "application/json-patch+json",
        "application/strategic-merge-patch+json",
        "application/apply-patch+yaml",
    ]
    assert pool.requests[3]["url"].endswith("/configmaps/a/status?fieldManager=drsyncer&force=true")


def test_delete_sends_options_and_treats_gone_as_done() -> None:
    client, pool = make_client(FakeResponse(200, status(200, "")), FakeResponse(404, status(404, "NotFound")))
    client.delete(CM, "app", "a", propagation="Foreground", uid="u1", dry_run=True)
    assert json.loads(pool.requests[0]["body"]) == {
        "apiVersion": "v1",
        "kind": "DeleteOptions",
        "propagationPolicy": "Foreground",
        "dryRun": ["All"],
        "preconditions": {"uid": "u1"},
    }
    assert client.delete(CM, "app", "a") is None


def test_update_rereads_and_rebuilds_after_a_conflict() -> None:
    client, pool = make_client(
        FakeResponse(200, {"metadata": {"name": "a", "resourceVersion": "1"}, "data": {"n": "1"}}),
        FakeResponse(409, status(409, "Conflict", "the object has been modified")),
        FakeResponse(200, {"metadata": {"name": "a", "resourceVersion": "2"}, "data": {"n": "2"}}),
        FakeResponse(200, {"metadata": {"name": "a", "resourceVersion": "3"}}),
    )
    seen: list[Any] = []

    def mutate(current: dict[str, Any] | None) -> dict[str, Any]:
        assert current is not None
        seen.append(current["data"]["n"])
        return {"metadata": {"name": "a"}, "data": {"n": current["data"]["n"] + "+"}}

    result = client.update(CM, "app", "a", mutate)
    assert result == {"metadata": {"name": "a", "resourceVersion": "3"}}
    assert seen == ["1", "2"]
    final = json.loads(pool.requests[3]["body"])
    assert final == {"metadata": {"name": "a", "resourceVersion": "2"}, "data": {"n": "2+"}}


def test_update_creates_when_absent() -> None:
    client, pool = make_client(
        FakeResponse(404, status(404, "NotFound")), FakeResponse(201, {"metadata": {"name": "a"}})
    )
    client.update(CM, "app", "a", lambda current: {"metadata": {"name": "a"}} if current is None else None)
    assert [r["method"] for r in pool.requests] == ["GET", "POST"]


@pytest.mark.parametrize(
    ("server", "tls_server_name", "routing"),
    [
        (
            "https://rancher.example/k8s/clusters/c-1",
            None,
            ("https://rancher.example/k8s/clusters/c-1", "", ""),
        ),
        (
            "https://10.0.0.1:6443",
            "kubernetes",
            ("https://kubernetes:6443", "kubernetes:6443:10.0.0.1:6443", "Host: 10.0.0.1:6443"),
        ),
        (
            "https://[fd00::1]",
            "api.internal",
            ("https://api.internal:443", "api.internal:443:[fd00::1]:443", "Host: [fd00::1]"),
        ),
    ],
)
def test_a_tls_server_name_is_what_the_certificate_is_checked_against_while_the_server_is_reached(
    server: str, tls_server_name: str | None, routing: tuple[str, str, str]
) -> None:
    """(URL base, where the connection goes, Host header): client-go's `tls-server-name` sets the
    TLS name only, never the address dialled nor the Host header."""
    assert _routing(server, tls_server_name) == routing


def test_the_headers_of_an_answer_are_its_own_not_a_proxys_or_a_continue() -> None:
    raw = (
        b"HTTP/1.1 200 Connection established\r\nVia: proxy\r\n\r\n"
        b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\nContent-Type: application/json\r\n\r\n"
    )
    headers = Answer(429, b"", raw).headers
    assert headers["Retry-After"] == "3" and "Via" not in headers


@pytest.mark.parametrize(
    ("answer", "parsed"),
    [
        (b'{"n": 18446744073709551616}', {"n": 2**64}),  # beyond orjson's 64 bits
        (b'{"x": NaN}', None),  # json's reading of NaN
        (b'{"s": "caf\\u00e9 \\ud800"}', {"s": "café \ud800"}),  # a lone surrogate
    ],
)
def test_answers_orjson_refuses_are_read_as_json_reads_them(answer: bytes, parsed: Any) -> None:
    client, _ = make_client(FakeResponse(200, answer))
    got = client.get_json("/x")
    if parsed is None:
        assert got["x"] != got["x"]  # NaN
    else:
        assert got == parsed


def test_bodies_orjson_cannot_encode_are_sent_as_json_encodes_them() -> None:
    client, pool = make_client(FakeResponse(201, {}))
    client.create(CM, "app", {"metadata": {"name": "a"}, "data": {"big": 2**70}, 1: "int key"})
    assert json.loads(pool.requests[0]["body"]) == {
        "metadata": {"name": "a"},
        "data": {"big": 2**70},
        "1": "int key",
    }
