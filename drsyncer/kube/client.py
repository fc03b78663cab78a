"""`ClusterClient`: requests to one cluster as plain JSON dicts, rate-limited, retried, categorised.

It wraps a stock `kubernetes.client.ApiClient` for its configuration (server, TLS, credentials).
Requests go through libcurl (drsyncer.kube.transport), watches through the stock client's urllib3
pool, read as a stream. Bodies are parsed with `orjson` (`json` for what orjson refuses), never into
the generated model classes, and paged lists are read one page at a time. Thread-safe.
"""

from __future__ import annotations

import builtins
import copy
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Literal

import orjson
import urllib3
from kubernetes import client as k8s_client
from urllib3.util import parse_url

from drsyncer.errors import CategorisedError, Category
from drsyncer.kube import audit, journal
from drsyncer.kube.counters import RequestCounters
from drsyncer.kube.discovery import AGGREGATED_ACCEPT, Discovery, ResourceRef, SharedDiscovery
from drsyncer.kube.errors import ApiError, NotFound, Unreachable, error_from_response
from drsyncer.kube.ratelimit import RateLimiter, Unlimited
from drsyncer.kube.requests import (
    DEFAULT_FIELD_MANAGER,
    PATCH_CONTENT_TYPES,
    PatchType,
    object_name,
    query_string,
    resource_path,
    write_params,
)
from drsyncer.kube.retry import DEFAULT_POLICY, Attempt, RetryPolicy, call_with_retries, retry_on_conflict
from drsyncer.kube.transport import Answer, CurlTransport, Failure, Request, TransportError

log = logging.getLogger(__name__)

NAMESPACES = ResourceRef(
    "",
    "v1",
    "Namespace",
    "namespaces",
    False,
    "namespace",
    ("ns",),
    frozenset({"get", "list", "create", "update", "patch", "delete", "watch"}),
    frozenset({"status", "finalize"}),
)

# kube-apiserver answers a list with this Accept header as a PartialObjectMetadataList (the items'
# metadata only) for every resource it serves itself; a server that cannot (some aggregated APIs)
# takes the second clause and sends the full list (apiserver pkg/endpoints/handlers/response.go, 1.34)
METADATA_LIST_ACCEPT = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
PARTIAL_LIST_KIND = "PartialObjectMetadataList"
# the same for a watch (each event's object) and a get (the object): a PartialObjectMetadata
METADATA_WATCH_ACCEPT = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json"
METADATA_ACCEPT = METADATA_WATCH_ACCEPT

# retries are drsyncer's (drsyncer.kube.retry), never urllib3's: what urllib3 makes of
# `retries=False, redirect=False` on every request (Retry.from_int), made once (a Retry is immutable)
_NO_RETRIES = urllib3.Retry(total=False, redirect=False)

Propagation = Literal["Background", "Foreground", "Orphan"]
Mutate = Callable[[dict[str, Any] | None], dict[str, Any] | None]


class ObjectStream(Iterator[dict[str, Any]]):
    """Objects of a paged list, fetched one page at a time as they are consumed.

    The first page is read on creation, so a bad request fails at the call; `resource_version` is
    the list's resourceVersion (from the first page), the point a watch can start from.
    `metadata_only`: the server answered a PartialObjectMetadataList (items hold `metadata` only,
    given the type's apiVersion and kind); False for full objects.
    """

    def __init__(self, fetch: Callable[[str | None], dict[str, Any]], ref: ResourceRef) -> None:
        self._fetch = fetch
        self._ref = ref
        first = fetch(None)
        self.resource_version: str = str((first.get("metadata") or {}).get("resourceVersion", ""))
        self.metadata_only = first.get("kind") == PARTIAL_LIST_KIND
        self._pages = self._walk(first)

    def _walk(self, page: dict[str, Any]) -> Iterator[dict[str, Any]]:
        while True:
            items = page.get("items") or []
            token = (page.get("metadata") or {}).get("continue")
            del page  # hold one page at a time
            for item in items:
                # list items omit apiVersion and kind (metadata items name PartialObjectMetadata);
                # callers need the type's to plan and to write
                if self.metadata_only:
                    item["apiVersion"], item["kind"] = self._ref.api_version, self._ref.kind
                else:
                    item.setdefault("apiVersion", self._ref.api_version)
                    item.setdefault("kind", self._ref.kind)
                yield item
            del items
            if not token:
                return
            page = self._fetch(str(token))

    def __next__(self) -> dict[str, Any]:
        return next(self._pages)

    def __iter__(self) -> ObjectStream:
        return self


class ClusterClient:
    """Everything drsyncer does to one cluster. `name` appears in errors; `origin` says where the
    credentials came from (e.g. the kubeconfig Secret), for 401/403 and TLS messages."""

    def __init__(
        self,
        api_client: k8s_client.ApiClient,
        *,
        name: str,
        origin: str = "",
        limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        counters: RequestCounters | None = None,
        timeout: tuple[float, float] = (5.0, 60.0),
        on_close: Callable[[], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        on_unauthorized: Callable[[Mapping[str, str]], bool] | None = None,
    ) -> None:
        self.api_client = api_client
        self.name = name
        self.origin = origin
        self.limiter: RateLimiter = limiter or Unlimited()
        self.retry = retry or DEFAULT_POLICY
        self.counters = counters or RequestCounters()
        self.sleep = sleep  # the wait between retries; replaceable to observe it
        self._timeout = urllib3.Timeout(connect=timeout[0], read=timeout[1])
        self._on_close = on_close
        # renews a plugin's or token file's credential after a 401 (given the rejected request's
        # headers); True: worth one more try
        self._on_unauthorized = on_unauthorized
        self._host = str(api_client.configuration.host).rstrip("/")
        self._prefix = parse_url(self._host).path or ""  # a server URL may carry a path (a proxy's)
        self._transport = CurlTransport(api_client.configuration, timeout)
        # watches only (streamed); a request goes through the transport
        self._pool: urllib3.PoolManager = api_client.rest_client.pool_manager
        # the host's connection pool, held: the manager's lookup (URL parsing, key building) costs
        # about as much as the rest of a request's preparation
        self._host_pool: urllib3.HTTPConnectionPool | None = None
        self._discovery: Discovery | None = None
        self._discovery_lock = threading.Lock()
        # where other processes' discovery of this cluster is kept (set before the first resolve)
        self.shared_discovery: SharedDiscovery | None = None
        self._version: str | None = None  # gitVersion, as /version last answered
        self._identity: str | None = None
        # the last call got no answer through its whole retry policy: each call now tries once until
        # the cluster answers one (`_known_away`)
        self._away = False

    # -- plumbing ---------------------------------------------------------------------------------

    def _headers(self, content_type: str | None, accept: str | None = None) -> dict[str, str]:
        cfg = self.api_client.configuration
        headers = {"Accept": accept or "application/json", "User-Agent": "drsyncer"}
        if content_type:
            headers["Content-Type"] = content_type
        # auth_settings() runs the configuration's refresh hook, so expiring tokens are renewed
        for setting in cfg.auth_settings().values():
            if setting.get("in") == "header" and setting.get("value"):
                headers[str(setting["key"])] = str(setting["value"])
        if "authorization" not in headers and cfg.username is not None:
            headers["authorization"] = cfg.get_basic_auth_token()
        return headers

    def _send_once(
        self,
        method: str,
        path: str,
        body: Any,
        content_type: str | None,
        operation: str,
        renewed: bool = False,
        accept: str | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """(HTTP status, parsed body) of one attempt; ApiError for a failure."""
        payload = None if body is None else dump_json(body)
        waited = self.limiter.acquire()
        self.counters.record_wait(self.name, waited)
        headers = self._headers(content_type, accept)
        try:
            answer = self._transport.send(method, path, payload, headers)
        except TransportError as exc:
            self.counters.record(self.name, method, 0)
            raise self._transport_error(exc.failure, exc.detail, operation) from None
        status = answer.status
        self.counters.record(self.name, method, status)
        renew = self._on_unauthorized
        if status == 401 and not renewed and renew is not None and renew(headers):
            return self._send_once(method, path, body, content_type, operation, renewed=True, accept=accept)
        return status, self._parsed(answer, operation)

    def _parsed(self, answer: Answer, operation: str) -> dict[str, Any]:
        """An answer's body as a dict; ApiError for an error status or a body that is not JSON."""
        status, data = answer.status, answer.data
        if status >= 400:
            raise self._api_error(status, data, answer.headers, operation)
        if not data:
            return {}
        try:
            parsed = load_json(data)
        except ValueError:
            raise ApiError(
                status,
                "InvalidResponse",
                "the server's answer is not JSON",
                cluster=self.name,
                operation=operation,
            ) from None
        return parsed if isinstance(parsed, dict) else {"value": parsed}

    def _open(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str], timeout: urllib3.Timeout
    ) -> Any:
        """Open a watch through the host's urllib3 connection pool; the response is not read yet."""
        pool = self._pool
        if not isinstance(pool, urllib3.PoolManager) or isinstance(pool, urllib3.ProxyManager):
            # through a proxy the manager builds the request line itself
            return pool.request(
                method,
                self._host + path,
                body=body,
                headers=headers,
                timeout=timeout,
                retries=_NO_RETRIES,
                preload_content=False,
            )
        host_pool = self._host_pool
        if host_pool is None or host_pool.pool is None:  # first use, or closed since (the manager cleared)
            host_pool = self._host_pool = pool.connection_from_url(self._host)
        # what PoolManager.urlopen passes on for a request without a proxy (urllib3 2.x poolmanager.py)
        return host_pool.urlopen(
            method,
            self._prefix + path,
            body=body,
            headers=headers,
            timeout=timeout,
            retries=_NO_RETRIES,
            preload_content=False,
            assert_same_host=False,
            redirect=False,
        )

    def _api_error(self, status: int, data: bytes, headers: Mapping[str, str], operation: str) -> ApiError:
        error = error_from_response(status, data, headers, cluster=self.name, operation=operation)
        if status == 401:
            source = f"the credentials from {self.origin}" if self.origin else "the credentials"
            return ApiError(
                401,
                error.reason,
                f"{source} were rejected (expired or revoked token, or an untrusted client certificate)",
                cluster=self.name,
                operation=operation,
            )
        return error

    def _transport_error(self, failure: Failure, detail: str, operation: str) -> ApiError:
        if failure == "tls":
            where = f" in {self.origin}" if self.origin else ""
            hint = f"check certificate-authority-data (and the client certificate, if any){where}"
            return ApiError(
                0,
                "TLSError",
                f"TLS with {self._host} failed ({_short(detail)}); {hint}, or set "
                "spec.insecureSkipTLSVerify on the RemoteCluster",
                cluster=self.name,
                operation=operation,
            )
        if failure == "connect":
            return ApiError(
                0,
                "ConnectionError",
                f"cannot connect to {self._host}",
                cluster=self.name,
                operation=operation,
            )
        if failure == "timeout":
            return ApiError(
                0, "Timeout", f"no answer from {self._host} in time", cluster=self.name, operation=operation
            )
        return ApiError(
            0,
            "ConnectionError",
            f"connection to {self._host} failed ({_short(detail)})",
            cluster=self.name,
            operation=operation,
        )

    def _stream_error(self, exc: urllib3.exceptions.HTTPError, operation: str) -> ApiError:
        """What a watch's urllib3 failure is, as a request's would be."""
        if isinstance(exc, urllib3.exceptions.SSLError):
            return self._transport_error("tls", str(exc), operation)
        if isinstance(exc, urllib3.exceptions.NewConnectionError):
            return self._transport_error("connect", str(exc), operation)
        if isinstance(exc, urllib3.exceptions.TimeoutError):
            return self._transport_error("timeout", str(exc), operation)
        return self._transport_error("connection", type(exc).__name__, operation)

    def _on_retry(self, attempt: int, error: ApiError, delay: float) -> None:
        self.counters.record_retry(self.name)
        log.debug("retrying %s after %.2fs (attempt %d): %s", error.operation, delay, attempt, error)

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        content_type: str | None = None,
        operation: str = "",
        write: audit.Write | None = None,
        accept: str | None = None,
        after: Attempt | None = None,
    ) -> dict[str, Any]:
        """One API call with the rate limit and the retry policy (429, 5xx, timeouts; never 409).
        A `write` is recorded in the audit log with its outcome, once, after the retries. `accept`
        replaces the Accept header (default `application/json`). `after`: this call's first attempt,
        made already (`create_all`); the call goes on as the policy would after it
        (`call_with_retries`' `previous`), or raises its error."""
        op = operation or f"{method} {path}"
        ctype = content_type or ("application/json" if body is not None else None)
        try:
            code, answer = call_with_retries(
                lambda: self._send_once(method, path, body, ctype, op, accept=accept),
                self.retry,
                sleep=self.sleep,
                on_retry=self._on_retry,
                previous=after,
                give_up=self._known_away,
            )
        except CategorisedError as exc:  # (renewing the credentials after a 401 may fail too)
            if isinstance(exc, ApiError):  # (an HTTP answer, or none at all)
                self._answered(exc)
            if write is not None:
                audit.record(self.name, write, audit.ERROR, *_code_and_reason(exc))
            raise
        self._answered(None)
        if write is not None:
            audit.record(self.name, write, audit.SUCCESS, code)
            if not write.dry_run:
                self._note(write, answer)
        return answer

    def _known_away(self, error: ApiError) -> bool:
        """Whether `error` is to be raised at once rather than retried: it is no answer at all
        (`_no_answer`) from a cluster whose last call got none through all the tries its retry
        policy allows, and no call was answered since. A cluster that is down would otherwise hold
        every call for the policy's pauses (about 6 s with the default), and with it every namespace
        sync's other destinations, which wait for each destination's listing; each call still tries
        once, so the first answer ends it."""
        return self._away and _no_answer(error)

    def _answered(self, error: ApiError | None) -> None:
        """Note how a call ended: None or an HTTP answer (an error status too) ends a time away;
        no answer at all through the call's retries begins one; a TLS failure does neither."""
        if isinstance(error, Unreachable) and not _no_answer(error):
            return  # a TLS failure: not retried anyway, and the server was there
        away = error is not None and _no_answer(error)
        if away == self._away:
            return
        self._away = away
        if away:  # (the failure itself is reported where the request was made)
            log.info(
                "cluster %s: no answer (%s); its requests are tried once each, without pauses, until "
                "it answers one",
                self.name,
                error,
            )
        else:
            log.info("cluster %s answers again; its requests are retried as usual", self.name)

    def _note(self, write: audit.Write, answer: Mapping[str, Any]) -> None:
        # the version this write left, for the write journal (a delete that only marked the object,
        # for finalizers, leaves it in place with a new version)
        meta = answer.get("metadata") if answer.get("kind") != "Status" else None
        meta = meta if isinstance(meta, Mapping) else {}
        gone = write.verb == "delete" and not meta.get("deletionTimestamp")
        if write.subresource == "eviction":
            gone = True
        version = journal.DELETED if gone else str(meta.get("resourceVersion") or "")
        journal.note(self.identity, write.resource, write.namespace, meta.get("name") or write.name, version)

    @property
    def identity(self) -> str:
        """A short stable id of the cluster this client talks to as `name` (16 hex digits of the
        server URL and name): the change feed's and watermarks' key for it, free of credentials."""
        if self._identity is None:
            self._identity = hashlib.sha256(f"{self._host}|{self.name}".encode()).hexdigest()[:16]
        return self._identity

    def get_json(self, path: str) -> dict[str, Any]:
        return self.request("GET", path)

    # -- discovery --------------------------------------------------------------------------------

    @property
    def discovery(self) -> Discovery:
        with self._discovery_lock:
            if self._discovery is None:
                self._discovery = Discovery(
                    self.get_json,
                    cluster=self.name,
                    get_root=self._get_discovery_root,
                    shared=self.shared_discovery,
                )
            return self._discovery

    def _get_discovery_root(self, path: str) -> dict[str, Any]:
        # aggregated discovery where served (every group version in one answer), else the plain list
        return self.request("GET", path, accept=AGGREGATED_ACCEPT)

    def resolve(self, name: str) -> ResourceRef:
        """A resource type by plural, singular, kind, short name or `name.group`."""
        return self.discovery.resolve(name)

    def ref_for(self, obj: Mapping[str, Any]) -> ResourceRef:
        """The resource type of an object, by its apiVersion and kind."""
        return self.discovery.for_object(obj)

    def server_version(self) -> str:
        """The cluster's `gitVersion` (`v1.34.4`), read from /version now; kept for `known_version`."""
        version = str(self.request("GET", "/version", operation="get server version").get("gitVersion", ""))
        self._version = version
        return version

    def known_version(self) -> str:
        """The `gitVersion` /version answered last (a reachability or health check reads it), else read
        now: what the cluster refuses to change in place depends on it."""
        return self._version if self._version is not None else self.server_version()

    # -- objects ----------------------------------------------------------------------------------

    def get(
        self,
        ref: ResourceRef,
        namespace: str | None,
        name: str,
        *,
        subresource: str | None = None,
        metadata_only: bool = False,
    ) -> dict[str, Any] | None:
        """The object, or None when it does not exist.

        `metadata_only`: ask for a PartialObjectMetadata (`METADATA_ACCEPT`), `{"apiVersion":
        "meta.k8s.io/v1", "kind": "PartialObjectMetadata", "metadata": {...}}`; a server that cannot
        answer so sends the full object (its own apiVersion and kind tell which it is).
        """
        try:
            return self.request(
                "GET",
                resource_path(ref, namespace, name, subresource),
                operation=_op("get metadata of" if metadata_only else "get", ref, namespace, name),
                accept=METADATA_ACCEPT if metadata_only else None,
            )
        except NotFound:
            return None

    def list(
        self,
        ref: ResourceRef,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        page_size: int = 500,
        metadata_only: bool = False,
    ) -> ObjectStream:
        """Every object of a type (in `namespace`, or in all namespaces), paged with limit/continue.

        `metadata_only`: ask for a PartialObjectMetadataList (`METADATA_LIST_ACCEPT`): each item is
        `{"apiVersion", "kind", "metadata"}` of the type, a fraction of the bytes of a full object; a
        server that cannot answer so sends full objects, which the stream's `metadata_only` tells.
        """
        path = resource_path(ref, namespace)
        operation = _op("list metadata of" if metadata_only else "list", ref, namespace, None)
        accept = METADATA_LIST_ACCEPT if metadata_only else None

        def fetch(token: str | None) -> dict[str, Any]:
            query = query_string(
                {
                    "limit": page_size,
                    "continue": token,
                    "labelSelector": label_selector,
                    "fieldSelector": field_selector,
                }
            )
            return self.request("GET", path + query, operation=operation, accept=accept)

        return ObjectStream(fetch, ref)

    def watch(
        self,
        ref: ResourceRef,
        namespace: str | None = None,
        *,
        resource_version: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        timeout_s: int = 300,
        bookmarks: bool = True,
        metadata_only: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """Change events `{"type": ADDED|MODIFIED|DELETED|BOOKMARK, "object": {...}}` after
        `resource_version` (take it from `list(...).resource_version`), until the server ends the
        watch after `timeout_s`; then watch again from the last event's resourceVersion.

        A position too old for the server raises `ApiError` 410: list again, then watch from there.
        Closing the iterator closes the connection. `metadata_only`: events carry
        `PartialObjectMetadata` (`METADATA_WATCH_ACCEPT`), as a metadata informer asks.
        """
        operation = _op("watch", ref, namespace, None)
        path = resource_path(ref, namespace) + query_string(
            {
                "watch": True,
                "resourceVersion": resource_version,
                "labelSelector": label_selector,
                "fieldSelector": field_selector,
                "timeoutSeconds": timeout_s,
                "allowWatchBookmarks": True if bookmarks else None,
            }
        )
        # the read timeout outlasts the server's own end of the watch
        timeout = urllib3.Timeout(connect=self._timeout.connect_timeout, read=timeout_s + 30)
        response = call_with_retries(
            lambda: self._open_stream(
                path, timeout, operation, METADATA_WATCH_ACCEPT if metadata_only else None
            ),
            self.retry,
            sleep=self.sleep,
            on_retry=self._on_retry,
        )
        return self._events(response, operation)

    def _open_stream(
        self, path: str, timeout: urllib3.Timeout, operation: str, accept: str | None = None
    ) -> Any:
        self.counters.record_wait(self.name, self.limiter.acquire())
        try:
            response = self._open("GET", path, None, self._headers(None, accept), timeout)
        except urllib3.exceptions.HTTPError as exc:
            self.counters.record(self.name, "WATCH", 0)
            raise self._stream_error(exc, operation) from None
        self.counters.record(self.name, "WATCH", response.status)
        if response.status >= 400:
            try:
                data = response.read()
            finally:
                response.release_conn()
            raise self._api_error(response.status, data, response.headers, operation)
        return response

    def _events(self, response: Any, operation: str) -> Iterator[dict[str, Any]]:
        buffer = b""
        try:
            for chunk in response.stream(None):
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    if not line.strip():
                        continue
                    event = load_json(line)
                    if event.get("type") == "ERROR":
                        status = event.get("object") or {}
                        code = int(status.get("code") or 500)
                        raise self._api_error(code, json.dumps(status).encode(), {}, operation)
                    yield event
        except urllib3.exceptions.HTTPError as exc:
            raise self._stream_error(exc, operation) from None
        finally:
            # an abandoned watch must not go back to the pool half-read
            response.close()

    def namespaces(self, label_selector: str | None = None) -> ObjectStream:
        return self.list(NAMESPACES, label_selector=label_selector)

    def create(
        self,
        ref: ResourceRef,
        namespace: str | None,
        body: Mapping[str, Any],
        *,
        dry_run: bool = False,
        field_manager: str | None = DEFAULT_FIELD_MANAGER,
        metadata_only: bool = False,
        after: Attempt | None = None,
    ) -> dict[str, Any]:
        """POST a new object; the server's answer (the object as created).

        `metadata_only`: ask for the answer as a PartialObjectMetadata (`METADATA_ACCEPT`), for a
        caller that reads no more than its metadata (a copy's body is not read back); a server that
        cannot answer so sends the whole object. `after`: a first attempt `create_all` made
        (`request`).
        """
        path = resource_path(ref, namespace) + query_string(write_params(dry_run, field_manager))
        name = _name_or_none(body)
        return self.request(
            "POST",
            path,
            body=body,
            operation=_op("create", ref, namespace, name),
            write=_write("create", ref, namespace, name, None, dry_run),
            accept=METADATA_ACCEPT if metadata_only else None,
            after=after,
        )

    def create_all(
        self,
        ref: ResourceRef,
        namespace: str | None,
        bodies: Sequence[Mapping[str, Any]],
        *,
        concurrency: int,
        give_up_after: int = 3,
        field_manager: str | None = DEFAULT_FIELD_MANAGER,
    ) -> builtins.list[dict[str, Any] | Attempt | None]:
        """POST each of `bodies` once, at most `concurrency` at once, from the calling thread alone
        (`CurlTransport.send_all`: no thread per request), inside the rate limit, each with the
        credentials of the moment it starts; the answers are asked for as metadata (see `create`).

        Returns, in the order of `bodies`, for each:
        - the created object's metadata (a dict) when it was created: recorded in the audit log,
          the request counters and the write journal as `create` records it, as its answer comes;
        - its one `Attempt` otherwise (the error and when it came), counted but neither retried nor
          recorded in the audit log: the caller goes on with `create(..., after=attempt)`, which
          retries it as the policy says (or raises its error) and records the outcome;
        - None when it was not sent, or was rejected (401) by credentials renewed since: no more are
          started once one is answered 429 or 5xx (the server wants fewer requests: the rest go as
          single requests do, each waiting as the policy says), or once `give_up_after` in a row got
          no HTTP answer (the server looks unreachable).
        """
        path = resource_path(ref, namespace) + query_string(write_params(False, field_manager))
        out: builtins.list[dict[str, Any] | Attempt | None] = [None] * len(bodies)
        sent: dict[int, dict[str, str]] = {}  # the headers of each request under way
        unanswered = [0]  # requests in a row without an HTTP answer

        def reserve() -> float:
            waited = self.limiter.reserve()
            self.counters.record_wait(self.name, waited)
            return waited

        def request(index: int) -> Request:
            # the credentials of now, as a request sent alone has them (a token file or plugin
            # may renew them while the batch goes on)
            headers = sent[index] = self._headers("application/json", METADATA_ACCEPT)
            return ("POST", path, dump_json(bodies[index]), headers)

        def answered(index: int, answer: Answer | TransportError) -> bool:
            headers = sent.pop(index)
            name = _name_or_none(bodies[index])
            operation = _op("create", ref, namespace, name)
            status = 0 if isinstance(answer, TransportError) else answer.status
            self.counters.record(self.name, "POST", status)
            unanswered[0] = unanswered[0] + 1 if status == 0 else 0
            if status:
                self._answered(None)
            try:
                if isinstance(answer, TransportError):
                    raise self._transport_error(answer.failure, answer.detail, operation)
                renew = self._on_unauthorized
                if status == 401 and renew is not None and renew(headers):
                    return False  # (None: sent again by the caller, with the renewed credentials)
                created = self._parsed(answer, operation)
            except CategorisedError as exc:  # (a renewal that failed raises its own)
                out[index] = Attempt(exc, time.monotonic())
                return unanswered[0] >= give_up_after or status == 429 or status >= 500
            except Exception as exc:  # one answer's unexpected failure must not lose the others'
                log.exception("reading the answer to %s from %s failed", operation, self.name)
                internal = CategorisedError(
                    Category.NON_RETRYABLE, f"internal error: {type(exc).__name__}: {exc}"
                )
                out[index] = Attempt(internal, time.monotonic())
                return False
            meta = created.get("metadata")
            out[index] = dict(meta) if isinstance(meta, Mapping) else {}
            write = _write("create", ref, namespace, name, None, False)
            audit.record(self.name, write, audit.SUCCESS, status)
            self._note(write, created)
            return False

        self._transport.send_all(len(bodies), request, answered, concurrency=concurrency, reserve=reserve)
        return out

    def record_abandoned(
        self, ref: ResourceRef, namespace: str | None, body: Mapping[str, Any], attempt: Attempt
    ) -> None:
        """Record in the audit log a create of `create_all` that failed and is not tried again (its
        destination was given up on meanwhile), as `create` records a create that failed."""
        write = _write("create", ref, namespace, _name_or_none(body), None, False)
        audit.record(self.name, write, audit.ERROR, *_code_and_reason(attempt.error))

    def replace(
        self,
        ref: ResourceRef,
        namespace: str | None,
        body: Mapping[str, Any],
        *,
        dry_run: bool = False,
        subresource: str | None = None,
        field_manager: str | None = DEFAULT_FIELD_MANAGER,
        metadata_only: bool = False,
    ) -> dict[str, Any]:
        """PUT the whole object; `metadata.resourceVersion` in `body` makes it conditional (409).
        `metadata_only`: the answer as a PartialObjectMetadata, as for `create`."""
        name = object_name(body)
        path = resource_path(ref, namespace, name, subresource) + query_string(
            write_params(dry_run, field_manager)
        )
        return self.request(
            "PUT",
            path,
            body=body,
            operation=_op("replace", ref, namespace, name),
            write=_write("update", ref, namespace, name, subresource, dry_run),
            accept=METADATA_ACCEPT if metadata_only else None,
        )

    def patch(
        self,
        ref: ResourceRef,
        namespace: str | None,
        name: str,
        patch: Any,
        *,
        patch_type: PatchType = "merge",
        field_manager: str | None = DEFAULT_FIELD_MANAGER,
        force: bool = False,
        dry_run: bool = False,
        subresource: str | None = None,
    ) -> dict[str, Any]:
        """Merge, JSON, strategic-merge or server-side-apply patch (`force` takes apply conflicts)."""
        params = write_params(
            dry_run, field_manager or (DEFAULT_FIELD_MANAGER if patch_type == "apply" else None)
        )
        if patch_type == "apply" and force:
            params["force"] = True
        path = resource_path(ref, namespace, name, subresource) + query_string(params)
        return self.request(
            "PATCH",
            path,
            body=patch,
            content_type=PATCH_CONTENT_TYPES[patch_type],
            operation=_op("patch", ref, namespace, name),
            write=_write("patch", ref, namespace, name, subresource, dry_run),
        )

    def delete(
        self,
        ref: ResourceRef,
        namespace: str | None,
        name: str,
        *,
        propagation: Propagation = "Background",
        dry_run: bool = False,
        uid: str | None = None,
        resource_version: str | None = None,
    ) -> dict[str, Any] | None:
        """Delete; None when it was already gone. `uid`/`resource_version` make it conditional, so a
        prune never removes an object that was replaced since it was checked."""
        options: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "DeleteOptions",
            "propagationPolicy": propagation,
        }
        if dry_run:
            options["dryRun"] = ["All"]
        preconditions = {k: v for k, v in (("uid", uid), ("resourceVersion", resource_version)) if v}
        if preconditions:
            options["preconditions"] = preconditions
        try:
            return self.request(
                "DELETE",
                resource_path(ref, namespace, name),
                body=options,
                operation=_op("delete", ref, namespace, name),
                write=_write("delete", ref, namespace, name, None, dry_run),
            )
        except NotFound:
            return None

    def evict(self, pods: ResourceRef, namespace: str, name: str) -> dict[str, Any]:
        """POST an Eviction for a Pod (its `eviction` subresource), so PodDisruptionBudgets apply."""
        eviction = {
            "apiVersion": "policy/v1",
            "kind": "Eviction",
            "metadata": {"name": name, "namespace": namespace},
        }
        return self.request(
            "POST",
            resource_path(pods, namespace, name, "eviction"),
            body=eviction,
            operation=f"evict pod {namespace}/{name}",
            write=_write("create", pods, namespace, name, "eviction", False),
        )

    def update(
        self,
        ref: ResourceRef,
        namespace: str | None,
        name: str,
        mutate: Mutate,
        *,
        dry_run: bool = False,
        field_manager: str | None = DEFAULT_FIELD_MANAGER,
    ) -> dict[str, Any] | None:
        """Read-modify-write that survives concurrent writers: read the object, let `mutate` build
        the body from it (`None` if absent → create; return None to write nothing), write it with
        the read resourceVersion, and start over on 409. Returns what the server answered."""

        def attempt() -> dict[str, Any] | None:
            current = self.get(ref, namespace, name)
            body = mutate(copy.deepcopy(current) if current is not None else None)
            if body is None:
                return current
            if current is None:
                return self.create(ref, namespace, body, dry_run=dry_run, field_manager=field_manager)
            body = dict(body)
            metadata = dict(body.get("metadata") or {})
            metadata["resourceVersion"] = current["metadata"]["resourceVersion"]
            body["metadata"] = metadata
            return self.replace(ref, namespace, body, dry_run=dry_run, field_manager=field_manager)

        return retry_on_conflict(attempt, self.retry, sleep=self.sleep)

    def prepare_handles(self, count: int) -> None:
        """Have `count` request handles ready (drsyncer.kube.transport), without a request."""
        self._transport.prepare(count)

    def drop_connections(self) -> None:
        """Close the kept connections (requests' and watches'): the next ones connect afresh, e.g.
        with a rotated client certificate, which is presented only when a connection opens."""
        self._transport.clear()
        self._pool.clear()

    def close(self) -> None:
        self._transport.close()
        self.api_client.close()
        if self._on_close is not None:
            self._on_close()
            self._on_close = None

    def __enter__(self) -> ClusterClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ClusterClient({self.name!r}, {self._host})"


def _no_answer(error: ApiError) -> bool:
    """A failure that says the cluster gave no answer at all and may be back soon: a connection
    refused or reset, or a timeout (a TLS failure is an Unreachable too, but not retried)."""
    return isinstance(error, Unreachable) and error.category is Category.RETRYABLE


def dump_json(body: Any) -> bytes:
    """`body` as compact JSON (UTF-8); what orjson cannot encode (integers beyond 64 bits, keys that
    are not strings) goes through `json` as before."""
    try:
        return orjson.dumps(body)
    except TypeError:
        return json.dumps(body, separators=(",", ":")).encode()


def load_json(data: bytes) -> Any:
    """Parse JSON; what orjson refuses but `json` reads (integers beyond 64 bits, lone surrogates,
    NaN) is read by `json`. Raises ValueError for what is not JSON at all."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def _write(
    verb: str,
    ref: ResourceRef,
    namespace: str | None,
    name: str | None,
    subresource: str | None,
    dry_run: bool,
) -> audit.Write:
    return audit.Write(
        verb, ref.group_resource, ref.kind, namespace if ref.namespaced else None, name, subresource, dry_run
    )


def _code_and_reason(error: CategorisedError) -> tuple[int, str]:
    """An error's audit `code` and `reason`: the API's, or 0 and the error's type when the request got
    no answer to give them (its credentials could not be renewed)."""
    if isinstance(error, ApiError):
        return error.status, error.reason
    return 0, type(error).__name__


def _op(verb: str, ref: ResourceRef, namespace: str | None, name: str | None) -> str:
    target = ref.group_resource
    if ref.namespaced and namespace:
        target += f" {namespace}/{name}" if name else f" in {namespace}"
    elif name:
        target += f" {name}"
    return f"{verb} {target}"


def _name_or_none(body: Mapping[str, Any]) -> str | None:
    metadata = body.get("metadata")
    return metadata.get("name") if isinstance(metadata, Mapping) else None


def _short(detail: object) -> str:
    text = " ".join(str(detail).split())
    return text[:200]
