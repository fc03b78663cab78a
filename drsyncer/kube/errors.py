"""Errors from talking to a Kubernetes API, each with the category that says what to do about it.

Building an `ApiError` from a response is pure (status, headers, body bytes in; error out), so the
categorisation table is unit-tested without a server.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from drsyncer.errors import CategorisedError, Category

# a Status message is the server's words; long ones are cut so a status field stays readable
_MAX_MESSAGE = 400

# what kube-apiserver answers (500 InternalError) when etcd refuses a write over its request limit
# (etcd's --max-request-bytes, 1.5 MiB by default): no retry makes it fit
ETCD_TOO_LARGE = "etcdserver: request is too large"
TOO_LARGE_HINT = (
    "the object is larger than the cluster's etcd takes in one write, 1.5 MiB unless its "
    "--max-request-bytes says otherwise"
)
# kube-apiserver's refusal of annotations over 256 KiB in all (apimachinery ValidateAnnotationsSize)
ANNOTATIONS_TOO_LONG = "metadata.annotations: Too long"
ANNOTATIONS_HINT = (
    "a copy carries drsyncer's ownership and provenance annotations besides the source's, under "
    "1 KiB in all: a source whose annotations come that close to the limit cannot be copied until "
    "they shrink"
)

# statuses where the same request may well succeed later without anyone changing anything
_RETRYABLE_STATUSES = frozenset({408, 409, 410, 425, 429, 500, 502, 503, 504})


def categorise(status: int, reason: str = "") -> Category:
    """The category of an HTTP failure; `status` 0 means no response (connection, timeout)."""
    if status == 0:
        # connection refused, reset or timed out: the cluster may be back soon
        return Category.NON_RETRYABLE if reason == "TLSError" else Category.RETRYABLE
    if status in _RETRYABLE_STATUSES:
        return Category.RETRYABLE
    if status >= 500:
        return Category.RETRYABLE
    # 400 BadRequest, 401, 403, 404 (unknown type or object), 405, 413, 415, 422 Invalid: a person
    # has to change the object, the credentials or the cluster first
    return Category.NON_RETRYABLE


class ApiError(CategorisedError):
    """A Kubernetes API request that failed, with the fields of the server's `Status` body.

    Constructing one gives the subclass its status names (`ApiError(409, "AlreadyExists", ...)` is an
    `AlreadyExists`), so callers catch what they mean (`except Conflict:`) instead of comparing codes:

    ========================  ====================================================================
    NotFound                  404: no such object (a missing collection is `NotServed`, from discovery)
    Conflict                  409 other than AlreadyExists: the object changed since it was read, or a
                              delete's uid/resourceVersion precondition failed
    AlreadyExists             409 AlreadyExists on create
    Forbidden                 403: authorization, admission, or a field the API refuses to change
    Invalid                   422: validation failed (immutable fields included)
    Gone                      410: a list or watch position the server no longer holds
    Unreachable               no HTTP answer (status 0): connection refused or reset, timeout, TLS
    NotServed                 the cluster's discovery does not serve the type (raised before any request)
    ========================  ====================================================================

    Other statuses (400, 401, 429, 5xx) stay plain `ApiError`; their category says what to do.
    """

    def __new__(cls, status: int, reason: str, *_args: Any, **_kwargs: Any) -> ApiError:
        if cls is ApiError:
            cls = _class_for(status, reason)
        return super().__new__(cls)

    def __init__(
        self,
        status: int,
        reason: str,
        message: str,
        *,
        cluster: str = "",
        operation: str = "",
        retry_after: float | None = None,
        details: Mapping[str, Any] | None = None,
        category: Category | None = None,
    ) -> None:
        self.status = status
        self.reason = reason
        self.api_message = message
        self.cluster = cluster
        self.operation = operation
        self.retry_after = retry_after
        self.details: Mapping[str, Any] = details or {}
        where = f" on {cluster}" if cluster else ""
        what = f"{operation}{where}: " if operation else (f"{cluster}: " if cluster else "")
        code = f"{status} {reason}" if status else reason
        text = f"{what}{code}" + (f": {message}" if message and message != reason else "")
        super().__init__(category or categorise(status, reason), text)

    # the properties below read like the old status checks; new code catches the subclasses

    @property
    def not_found(self) -> bool:
        return isinstance(self, NotFound)

    @property
    def conflict(self) -> bool:
        """An optimistic-concurrency failure: the object changed since it was read."""
        return isinstance(self, Conflict)

    @property
    def already_exists(self) -> bool:
        return isinstance(self, AlreadyExists)

    @property
    def throttled(self) -> bool:
        return self.status == 429

    @property
    def invalid(self) -> bool:
        return isinstance(self, Invalid)

    def __reduce__(self) -> tuple[Any, ...]:
        # keyword-only fields would be lost by the default pickling (Celery results carry errors);
        # rebuilding through ApiError picks the same subclass again
        return (
            _rebuild_api_error,
            (
                self.status,
                self.reason,
                self.api_message,
                self.cluster,
                self.operation,
                self.retry_after,
                dict(self.details),
                self.category,
            ),
        )


class NotFound(ApiError):
    """404: the object does not exist."""


class Conflict(ApiError):
    """409 (not AlreadyExists): a write's resourceVersion or a delete's precondition no longer holds;
    read the object again before deciding anything."""


class AlreadyExists(ApiError):
    """409 AlreadyExists: a create met an object of that name."""


class Forbidden(ApiError):
    """403: refused by authorization or admission (see `Status.details.causes` for field refusals)."""


class Invalid(ApiError):
    """422: the object failed validation (an immutable field changed, a bad value)."""


class Gone(ApiError):
    """410: a list continue token or watch position has expired; list again."""


class Unreachable(ApiError):
    """No HTTP answer: connection refused or reset, timeout, or a TLS failure (status 0)."""


class NotServed(ApiError):
    """The cluster does not serve a resource type (by its discovery). Retried at the next sync: a CRD
    can be installed at any time. The message is the one given, without a status code."""

    def __new__(cls, message: str, *, cluster: str = "") -> NotServed:
        return Exception.__new__(cls)

    def __init__(self, message: str, *, cluster: str = "") -> None:
        self.status = 404
        self.reason = "NotServed"
        self.api_message = message
        self.cluster = cluster
        self.operation = ""
        self.retry_after = None
        self.details = {}
        CategorisedError.__init__(self, Category.WAIT_FOR_NEXT_SYNC, message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_not_served, (self.api_message, self.cluster))


def _class_for(status: int, reason: str) -> type[ApiError]:
    if status == 409:
        return AlreadyExists if reason == "AlreadyExists" else Conflict
    return _BY_STATUS.get(status, ApiError)


_BY_STATUS: dict[int, type[ApiError]] = {
    0: Unreachable,
    403: Forbidden,
    404: NotFound,
    410: Gone,
    422: Invalid,
}


def _rebuild_api_error(
    status: int,
    reason: str,
    message: str,
    cluster: str,
    operation: str,
    retry_after: float | None,
    details: dict[str, Any],
    category: Category,
) -> ApiError:
    return ApiError(
        status,
        reason,
        message,
        cluster=cluster,
        operation=operation,
        retry_after=retry_after,
        details=details,
        category=category,
    )


def _rebuild_not_served(message: str, cluster: str) -> NotServed:
    return NotServed(message, cluster=cluster)


_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Gone",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "Timeout",
}


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds form, the one the API server sends)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None  # an HTTP date: too rare from an API server to be worth parsing
    return max(0.0, seconds)


def error_from_response(
    status: int, body: bytes, headers: Mapping[str, str], *, cluster: str = "", operation: str = ""
) -> ApiError:
    """An `ApiError` from a non-2xx response, reading the Kubernetes `Status` body when there is one."""
    reason = _REASONS.get(status, f"HTTP{status}")
    message = ""
    details: Mapping[str, Any] = {}
    try:
        status_body = json.loads(body) if body else None
    except ValueError:
        status_body = None
    if isinstance(status_body, dict) and status_body.get("kind") == "Status":
        reason = str(status_body.get("reason") or reason)
        message = str(status_body.get("message") or "")
        raw_details = status_body.get("details")
        details = raw_details if isinstance(raw_details, dict) else {}
    elif body and status_body is None:
        # not JSON (a proxy's HTML page, say): keep a short, single-line excerpt
        message = " ".join(body[:200].decode("utf-8", "replace").split())
    if len(message) > _MAX_MESSAGE:
        message = message[:_MAX_MESSAGE] + "…"
    category = None
    if status == 500 and ETCD_TOO_LARGE in message:
        # the same write will never fit: say why, and do not send it again
        category = Category.NON_RETRYABLE
        message += f" ({TOO_LARGE_HINT})"
    elif status == 422 and ANNOTATIONS_TOO_LONG in message:
        # the source's own annotations fit: what tipped them over is drsyncer's marks
        message += f" ({ANNOTATIONS_HINT})"
    retry_after = parse_retry_after(_header(headers, "Retry-After"))
    if retry_after is None and isinstance(details.get("retryAfterSeconds"), int | float):
        retry_after = float(details["retryAfterSeconds"])
    return ApiError(
        status,
        reason,
        message,
        cluster=cluster,
        operation=operation,
        retry_after=retry_after,
        details=details,
        category=category,
    )


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, val in headers.items():
        if key.lower() == lowered:
            return val
    return None


class KubeconfigError(CategorisedError):
    """A kubeconfig that cannot be read or used; `condition` is the RemoteCluster condition it fails.

    Messages name the Secret and key and the kubeconfig field, never a value from the kubeconfig.
    """

    def __init__(self, category: Category, message: str, *, condition: str = "KubeconfigValid") -> None:
        super().__init__(category, message)
        self.condition = condition

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_kubeconfig_error, (self.category, self.message, self.condition))


def _rebuild_kubeconfig_error(category: Category, message: str, condition: str) -> KubeconfigError:
    return KubeconfigError(category, message, condition=condition)
