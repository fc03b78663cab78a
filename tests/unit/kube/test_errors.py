import json
import pickle

import pytest

from drsyncer.errors import Category
from drsyncer.kube.errors import (
    ANNOTATIONS_HINT,
    AlreadyExists,
    ApiError,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    NotServed,
    Unreachable,
    categorise,
    error_from_response,
    parse_retry_after,
)


@pytest.mark.parametrize(
    ("status", "reason", "category"),
    [
        (0, "ConnectionError", Category.RETRYABLE),
        (0, "Timeout", Category.RETRYABLE),
        (0, "TLSError", Category.NON_RETRYABLE),
        (400, "BadRequest", Category.NON_RETRYABLE),
        (401, "Unauthorized", Category.NON_RETRYABLE),
        (403, "Forbidden", Category.NON_RETRYABLE),
        (404, "NotFound", Category.NON_RETRYABLE),
        (409, "Conflict", Category.RETRYABLE),
        (409, "AlreadyExists", Category.RETRYABLE),
        (410, "Expired", Category.RETRYABLE),
        (422, "Invalid", Category.NON_RETRYABLE),
        (429, "TooManyRequests", Category.RETRYABLE),
        (500, "InternalError", Category.RETRYABLE),
        (503, "ServiceUnavailable", Category.RETRYABLE),
        (504, "Timeout", Category.RETRYABLE),
    ],
)
def test_http_failures_fall_into_the_documented_categories(
    status: int, reason: str, category: Category
) -> None:
    assert categorise(status, reason) is category


def _status(code: int, reason: str, message: str, **details: object) -> bytes:
    return json.dumps(
        {
            "kind": "Status",
            "apiVersion": "v1",
            "status": "Failure",
            "code": code,
            "reason": reason,
            "message": message,
            "details": details,
        }
    ).encode()


def test_error_reads_reason_and_message_from_the_status_body() -> None:
    body = _status(422, "Invalid", 'ConfigMap "x" is invalid: metadata.name: Invalid value', name="x")
    error = error_from_response(422, body, {}, cluster="dr1", operation="create configmaps app/x")
    assert (error.status, error.reason, error.invalid) == (422, "Invalid", True)
    assert error.category is Category.NON_RETRYABLE
    assert str(error) == (
        "NonRetryable: create configmaps app/x on dr1: 422 Invalid: "
        'ConfigMap "x" is invalid: metadata.name: Invalid value'
    )
    assert error.details["name"] == "x"


def test_annotations_over_the_limit_say_that_drsyncers_marks_count_too() -> None:
    message = 'ConfigMap "big" is invalid: metadata.annotations: Too long: may not be more than 262144 bytes'
    error = error_from_response(422, _status(422, "Invalid", message), {}, cluster="dr1")
    assert error.category is Category.NON_RETRYABLE
    assert str(error).endswith(f"{message} ({ANNOTATIONS_HINT})")


def test_conflict_and_already_exists_are_told_apart() -> None:
    conflict = error_from_response(409, _status(409, "Conflict", "the object has been modified"), {})
    exists = error_from_response(409, _status(409, "AlreadyExists", "already exists"), {})
    assert conflict.conflict and not conflict.already_exists
    assert exists.already_exists and not exists.conflict


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        ({"Retry-After": "3"}, b"", 3.0),
        ({"retry-after": "0.5"}, b"", 0.5),
        ({}, _status(429, "TooManyRequests", "slow down", retryAfterSeconds=2), 2.0),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, b"", None),
        ({}, b"", None),
    ],
)
def test_retry_after_comes_from_the_header_or_the_status_details(
    headers: dict[str, str], body: bytes, expected: float | None
) -> None:
    assert error_from_response(429, body, headers).retry_after == expected


def test_a_non_json_body_gives_a_short_single_line_message() -> None:
    error = error_from_response(502, b"<html>\n<body>bad gateway</body>\n</html>" + b"x" * 500, {})
    assert error.reason == "BadGateway"
    assert "\n" not in error.api_message
    assert len(error.api_message) <= 200


def test_long_server_messages_are_cut() -> None:
    error = error_from_response(500, _status(500, "InternalError", "y" * 5000), {})
    assert len(error.api_message) < 500


def test_negative_retry_after_is_zero() -> None:
    assert parse_retry_after("-4") == 0.0


def test_api_errors_survive_pickling_for_task_results() -> None:
    error = ApiError(429, "TooManyRequests", "slow", cluster="dr1", operation="get x", retry_after=1.5)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.status, copy.retry_after, str(copy), copy.category) == (
        429,
        1.5,
        str(error),
        Category.RETRYABLE,
    )


@pytest.mark.parametrize(
    ("status", "reason", "expected"),
    [
        (0, "ConnectionError", Unreachable),
        (0, "TLSError", Unreachable),
        (403, "Forbidden", Forbidden),
        (404, "NotFound", NotFound),
        (409, "Conflict", Conflict),
        (409, "AlreadyExists", AlreadyExists),
        (410, "Expired", Gone),
        (422, "Invalid", Invalid),
        (429, "TooManyRequests", ApiError),
        (500, "InternalError", ApiError),
    ],
)
def test_errors_are_of_the_type_their_status_names_and_stay_so_across_pickling(
    status: int, reason: str, expected: type[ApiError]
) -> None:
    error = error_from_response(
        status,
        _status(status, reason, "the server says no"),
        {},
        cluster="dr1",
        operation="replace configmaps app/x",
    )
    assert type(error) is expected
    copied = pickle.loads(pickle.dumps(error))
    assert type(copied) is expected
    assert (copied.status, copied.reason, str(copied)) == (error.status, error.reason, str(error))


def test_a_type_the_cluster_does_not_serve_is_an_api_error_that_waits_for_the_next_sync() -> None:
    error = NotServed("resource type 'widgets' is not served by cluster dr1", cluster="dr1")
    assert isinstance(error, ApiError) and not isinstance(error, NotFound)
    assert error.category is Category.WAIT_FOR_NEXT_SYNC
    assert str(error) == "WaitForNextSync: resource type 'widgets' is not served by cluster dr1"
    copied = pickle.loads(pickle.dumps(error))
    assert type(copied) is NotServed and str(copied) == str(error) and copied.cluster == "dr1"


def test_a_write_etcd_refuses_as_too_large_is_not_retried_and_says_why() -> None:
    body = json.dumps(
        {
            "kind": "Status",
            "status": "Failure",
            "reason": "InternalError",
            "code": 500,
            "message": "etcdserver: request is too large",
        }
    ).encode()
    error = error_from_response(500, body, {}, cluster="dr1", operation="create widgets shop/big")
    assert error.category is Category.NON_RETRYABLE
    assert "1.5 MiB unless its --max-request-bytes says otherwise" in str(error)
    # any other internal error may pass
    other = body.replace(b"etcdserver: request is too large", b"etcdserver: leader changed")
    assert error_from_response(500, other, {}).category is Category.RETRYABLE
