"""The HTTP face of one simulated cluster: routing, request decoding, responses, watches, /_sim admin."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml
from aiohttp import web

from drsyncer.api.selectors import selector_string
from drsyncer.sim import discovery, eviction, kinds, openapi, protobuf, tables
from drsyncer.sim.errors import ApiError, bad_request, method_not_allowed, unknown_resource
from drsyncer.sim.faults import Counters, Faults
from drsyncer.sim.patching import json_merge_patch, json_patch
from drsyncer.sim.resources import ResourceType
from drsyncer.sim.selectors import (
    matcher,
    parse_field_selector,
    parse_label_selector,
)
from drsyncer.sim.store import APPLY_PATCH, CRDS, JSON_PATCH, PATCH_TYPES, STRATEGIC_PATCH, Obj, Store, now
from drsyncer.sim.watch import WatchHub, bookmark, visible

# kube-apiserver accepts request bodies up to 3 MiB (aiohttp's default limit is 1 MiB)
MAX_BODY_BYTES = 3 * 1024 * 1024

log = logging.getLogger(__name__)

JSON = "application/json"
DEFAULT_WATCH_TIMEOUT_S = 1800.0
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

# kinds whose registry answers a DELETE with the deleted object rather than a Status (kube-apiserver
# 1.34, checked against it); every kind answers with the object while finalizers hold it
RETURNS_DELETED_OBJECT = frozenset(
    {
        ("", "namespaces"),
        ("", "pods"),
        ("", "services"),
        ("", "serviceaccounts"),
        ("storage.k8s.io", "storageclasses"),
        ("apiextensions.k8s.io", "customresourcedefinitions"),
    }
)


def _page_not_found() -> web.Response:
    """What kube-apiserver's HTTP mux answers for a path no API handler owns: plain text, no Status."""
    return web.Response(status=404, text="404 page not found\n", content_type="text/plain")


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=_dumps(body).encode(), status=status, content_type=JSON, headers=headers)


def _error(exc: ApiError, headers: dict[str, str] | None = None) -> web.Response:
    return _json(exc.status(), exc.code, headers)


@dataclass
class Target:
    """A parsed resource URL."""

    rt: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None


class ApiServer:
    """Serves one cluster's store over the Kubernetes REST API."""

    def __init__(
        self,
        name: str,
        store: Store,
        hub: WatchHub,
        faults: Faults,
        counters: Counters,
        token: str | None,
        address: Callable[[], str],
        bookmark_interval_s: float = 60.0,
    ) -> None:
        self.name = name
        self.store = store
        self.hub = hub
        self.faults = faults
        self.counters = counters
        self.token = token
        self._address = address
        self.bookmark_interval_s = bookmark_interval_s
        self.admin_down: Callable[[float], None] | None = None
        self.in_flight = 0
        self.max_in_flight = 0

    # -- entry point ------------------------------------------------------------------------------

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        path = request.path
        if self.token is not None and request.headers.get("Authorization") != f"Bearer {self.token}":
            return _error(ApiError(401, "Unauthorized", "Unauthorized"))
        if path.startswith("/_sim/"):
            return await self._admin(request, path)
        self.in_flight += 1
        if self.in_flight > self.max_in_flight:
            self.max_in_flight = self.in_flight
        try:
            delay = self.faults.delay_s()
            if delay:
                await asyncio.sleep(delay)
            response = await self._route(request, path)
            if isinstance(response, web.Response) and response.body is not None:
                self.counters.sent(len(response.body))  # type: ignore[arg-type]
            return response
        except ApiError as exc:
            return _error(
                exc, {"Retry-After": str(self.faults.settings.retry_after_s)} if exc.code == 429 else None
            )
        except asyncio.CancelledError:
            raise
        except web.HTTPException as exc:  # e.g. a body over the size limit, raised while reading it
            if exc.status == 413:  # kube-apiserver's words (apiserver/pkg/endpoints/handlers/rest.go)
                return _error(
                    ApiError(
                        413, f"Request entity too large: limit is {MAX_BODY_BYTES}", "RequestEntityTooLarge"
                    )
                )
            return _error(ApiError(exc.status, exc.reason))
        except Exception as exc:  # the server answers 500 as kube-apiserver would, and logs why
            log.exception("simulated cluster %s failed on %s %s", self.name, request.method, path)
            return _error(ApiError(500, f"Internal error occurred: {exc}", "InternalError"))
        finally:
            self.in_flight -= 1

    async def _route(self, request: web.BaseRequest, path: str) -> web.StreamResponse:
        parts = [p for p in path.split("/") if p]
        if not parts:
            return _json(discovery.root_paths(self.store.registry))
        head = parts[0]
        if head in ("api", "apis") and len(parts) <= 3 and (head == "apis" or len(parts) <= 2):
            self.counters.count_discovery()
        if head == "api":
            if len(parts) == 1:
                if discovery.wants_aggregated(request.headers.get("Accept", "")):
                    return self._aggregated(request, core=True)
                return self._get_only(request, discovery.core_versions(self._address()))
            if len(parts) == 2:
                return self._get_only(request, discovery.resource_list(self.store.registry, "", parts[1]))
            return await self._resource(request, "", parts[1], parts[2:])
        if head == "apis":
            if len(parts) == 1:
                if discovery.wants_aggregated(request.headers.get("Accept", "")):
                    return self._aggregated(request, core=False)
                return self._get_only(request, discovery.group_list(self.store.registry))
            if parts[1] not in self.store.registry.groups():
                return _page_not_found()  # kube-aggregator has no APIService for the group
            if len(parts) == 2:
                return self._get_only(request, discovery.group(self.store.registry, parts[1]))
            if len(parts) == 3:
                return self._get_only(
                    request, discovery.resource_list(self.store.registry, parts[1], parts[2])
                )
            return await self._resource(request, parts[1], parts[2], parts[3:])
        if head == "version" and len(parts) == 1:
            return self._get_only(request, discovery.version(self.store.kube_version))
        if head in ("healthz", "livez", "readyz") and len(parts) == 1:
            return web.Response(text="ok", content_type="text/plain")
        if head == "openapi" and len(parts) >= 2 and parts[1] == "v3":
            if len(parts) == 2:
                return self._get_only(request, openapi.index(self.store.registry))
            rest = parts[2:]
            if rest[0] == "api" and len(rest) == 2:
                return self._get_only(request, openapi.group_version(self.store.registry, "", rest[1]))
            if rest[0] == "apis" and len(rest) == 3:
                return self._get_only(request, openapi.group_version(self.store.registry, rest[1], rest[2]))
        if head not in ("api", "apis", "version", "openapi"):
            return _page_not_found()
        raise unknown_resource()

    def _aggregated(self, request: web.BaseRequest, core: bool) -> web.Response:
        answer = self._get_only(request, discovery.aggregated(self.store.registry, core))
        answer.headers["Content-Type"] = discovery.AGGREGATED_TYPE
        return answer

    @staticmethod
    def _get_only(request: web.BaseRequest, body: dict[str, Any] | None) -> web.Response:
        if body is None:
            raise unknown_resource()
        if request.method not in ("GET", "HEAD"):
            raise method_not_allowed()
        return _json(body)

    # -- resources --------------------------------------------------------------------------------

    def _parse_target(self, group: str, version: str, rest: list[str]) -> Target:
        registry = self.store.registry
        if rest[0] == "namespaces" and len(rest) >= 3:
            rt = registry.lookup(group, version, rest[2])
            if rt is not None and rt.namespaced and len(rest) <= 5:
                return Target(
                    rt, rest[1], rest[3] if len(rest) > 3 else None, rest[4] if len(rest) > 4 else None
                )
        rt = registry.lookup(group, version, rest[0])
        if rt is None or len(rest) > 3:
            raise unknown_resource()
        if rt.namespaced and len(rest) > 1:
            raise unknown_resource()
        return Target(rt, None, rest[1] if len(rest) > 1 else None, rest[2] if len(rest) > 2 else None)

    async def _resource(
        self, request: web.BaseRequest, group: str, version: str, rest: list[str]
    ) -> web.StreamResponse:
        legacy_watch = rest[0] == "watch"
        if legacy_watch:
            rest = rest[1:]
            if not rest:
                raise unknown_resource()
        target = self._parse_target(group, version, rest)
        rt, sub = target.rt, target.subresource
        served_sub = (
            (sub == "status" and rt.status)
            or (sub == "scale" and rt.scale is not None)
            or (sub == "finalize" and rt.key == ("", "namespaces"))
            or (sub == "eviction" and rt.key == ("", "pods"))
        )
        if sub is not None and not served_sub:
            raise unknown_resource()
        query = request.query
        method = request.method
        resource = rt.plural if sub is None else f"{rt.plural}/{sub}"
        if target.name is None:
            if method == "GET":
                verb = "watch" if legacy_watch or query.get("watch") in ("true", "1") else "list"
            elif method == "POST":
                verb = "create"
            elif method == "DELETE":
                verb = "deletecollection"
            else:
                raise method_not_allowed()
            if verb in ("create", "deletecollection") and rt.namespaced and target.namespace is None:
                raise method_not_allowed()
        elif sub == "eviction":
            if method != "POST":
                raise method_not_allowed()
            verb = "create"
        else:
            verb = {"GET": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method, "")
            if legacy_watch and verb == "get":
                verb = "watch"
            if not verb or (sub is not None and verb == "delete"):
                raise method_not_allowed()
            if sub == "finalize" and verb != "update":
                raise method_not_allowed()
        self.counters.count(verb, resource)
        code = self.faults.pick_error(verb, resource)
        if code is not None:
            raise _injected(code, self.faults.settings.retry_after_s, verb, target.name or "")
        if verb == "get":
            return self._get(request, target)
        if verb == "list":
            return self._list(request, target)
        if verb == "watch":
            return await self._watch(request, target)
        if verb == "create" and sub == "eviction":
            return await self._evict(request, target)
        if verb == "create":
            return await self._create(request, target)
        if verb == "update":
            return await self._update(request, target)
        if verb == "patch":
            return await self._patch(request, target)
        if verb == "delete":
            return await self._delete(request, target)
        return await self._delete_collection(request, target)

    # -- reads ------------------------------------------------------------------------------------

    def _out(self, rt: ResourceType, obj: Obj) -> Obj:
        """The object as this API version shows it (stored objects keep the version they were written in)."""
        if obj.get("apiVersion") != rt.api_version:
            return {**obj, "apiVersion": rt.api_version}
        return obj

    def _get(self, request: web.BaseRequest, target: Target) -> web.Response:
        rt = target.rt
        assert target.name is not None
        obj = self.store.get(rt, target.namespace, target.name)
        if target.subresource == "scale":
            return _json(self._scale(rt, obj))
        table_version = _table_version(request)
        if table_version:
            return _json(
                tables.table(
                    rt,
                    [obj],
                    table_version,
                    request.query.get("includeObject", "Metadata"),
                    {"resourceVersion": obj["metadata"].get("resourceVersion", "")},
                )
            )
        partial_version = _rendering(request, "PartialObjectMetadata")
        if partial_version:
            return _json(tables.partial_metadata(obj, partial_version))
        return _json(self._out(rt, obj))

    def _selectors(self, request: web.BaseRequest, target: Target) -> Callable[[Any], bool] | None:
        query = request.query
        labels = parse_label_selector(query.get("labelSelector"))
        fields = parse_field_selector(
            query.get("fieldSelector"), target.rt.plural, target.rt.selectable_fields
        )
        return matcher(labels, fields)

    def _list(self, request: web.BaseRequest, target: Target) -> web.Response:
        rt = target.rt
        query = request.query
        predicate = self._selectors(request, target)
        limit = _int_param(query, "limit")
        rv = query.get("resourceVersion", "")
        if rv and rv != "0":
            wanted = _rv_param(rv)
            if wanted > self.store.resource_version and query.get("resourceVersionMatch") != "Exact":
                raise ApiError(
                    504,
                    f"Too large resource version: {wanted}, current: {self.store.resource_version}",
                    "Timeout",
                    {
                        "causes": [
                            {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}
                        ],
                        "retryAfterSeconds": 1,
                    },
                )
        result = self.store.list(rt, target.namespace, predicate, limit, query.get("continue", ""))
        metadata: Obj = {"resourceVersion": result.resource_version}
        if result.continue_token:
            metadata["continue"] = result.continue_token
            if result.remaining is not None:
                metadata["remainingItemCount"] = result.remaining
        table_version = _table_version(request)
        if table_version:
            return _json(
                tables.table(
                    rt, result.items, table_version, query.get("includeObject", "Metadata"), metadata
                )
            )
        partial_version = _rendering(request, "PartialObjectMetadataList")
        if partial_version:
            return _json(tables.partial_metadata_list(result.items, partial_version, metadata))
        if rt.custom:
            items = [self._out(rt, o) for o in result.items]
        else:
            # Built-in list items carry no kind/apiVersion, as on a real server.
            items = [{k: v for k, v in o.items() if k != "kind" and k != "apiVersion"} for o in result.items]
        return _json(
            {"kind": rt.list_kind_name, "apiVersion": rt.api_version, "metadata": metadata, "items": items}
        )

    async def _watch(self, request: web.BaseRequest, target: Target) -> web.StreamResponse:
        rt = target.rt
        query = request.query
        predicate = self._selectors(request, target)
        if target.name is not None:
            predicate = _named(target.name, predicate)
        timeout = float(_int_param(query, "timeoutSeconds") or DEFAULT_WATCH_TIMEOUT_S)
        bookmarks = query.get("allowWatchBookmarks") in ("true", "1")
        send_initial = query.get("sendInitialEvents") in ("true", "1")
        rv_param = query.get("resourceVersion", "")
        if send_initial and (query.get("resourceVersionMatch") != "NotOlderThan" or not bookmarks):
            raise ApiError(
                422,
                'ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: Forbidden: '
                "sendInitialEvents is forbidden for watch unless resourceVersionMatch is set to "
                "NotOlderThan and allowWatchBookmarks is set to true",
                "Invalid",
            )
        table_version = _table_version(request)
        partial_version = None if table_version else _rendering(request, "PartialObjectMetadata")
        initial: list[Obj] = []
        error: ApiError | None = None
        with self.store.lock:
            queue = self.hub.subscribe(rt.key)
            start = self.store.resource_version
            if send_initial or rv_param in ("", "0"):
                initial = [
                    o
                    for o in self.store.iter_objects(rt.key, target.namespace)
                    if predicate is None or predicate(o)
                ]
                initial.sort(key=lambda o: int(o["metadata"]["resourceVersion"]))
            else:
                try:
                    start = int(rv_param)
                except ValueError:
                    # kube-apiserver 1.34 answers a watch from an unparsable version with a bare 500
                    raise ApiError(
                        500,
                        f'resourceVersion: Invalid value: "{rv_param}": strconv.ParseUint: '
                        f'parsing "{rv_param}": invalid syntax',
                        "",
                    ) from None
                try:
                    replay = self.store.events_since(rt.key, start)
                except ApiError as exc:
                    error = exc
                    replay = []
                for event in replay:
                    queue.put_nowait(event)
        task = asyncio.current_task()
        if task is not None:
            self.hub.tasks.add(task)
        transport = request.transport
        if transport is not None:
            self.hub.transports.add(transport)
        response = web.StreamResponse(
            status=200, headers={"Content-Type": JSON, "Cache-Control": "no-cache, private"}
        )
        response.enable_chunked_encoding()
        first = [True]

        def encode(etype: str, obj: Obj) -> bytes:
            if table_version and etype != "BOOKMARK" and etype != "ERROR":
                obj = tables.table(
                    rt,
                    [obj],
                    table_version,
                    query.get("includeObject", "Metadata"),
                    {"resourceVersion": obj["metadata"].get("resourceVersion", "")},
                    with_columns=first[0],
                )
                first[0] = False
            elif partial_version and etype != "BOOKMARK" and etype != "ERROR":
                obj = tables.partial_metadata(obj, partial_version)
            elif etype != "ERROR":
                obj = self._out(rt, obj)
            line = _dumps({"type": etype, "object": obj}).encode() + b"\n"
            self.counters.sent(len(line))  # a client reads watch events too
            return line

        try:
            await response.prepare(request)
            if transport is not None and self.hub.cutting():
                transport.abort()  # a watch cut (WatchHub.cut) refuses streams for a while
                return response
            if error is not None:
                await response.write(encode("ERROR", error.status()))
                return response
            last = start
            for obj in initial:
                await response.write(encode("ADDED", obj))
            if send_initial:
                await response.write(encode("BOOKMARK", bookmark(rt.kind, rt.api_version, start, True)))
            deadline = time.monotonic() + timeout
            next_bookmark = time.monotonic() + self.bookmark_interval_s
            while True:
                now = time.monotonic()
                if now >= deadline:
                    break
                wait = deadline - now
                if bookmarks:
                    wait = min(wait, max(0.0, next_bookmark - now))
                try:
                    event = await asyncio.wait_for(queue.get(), wait)
                except TimeoutError:
                    if bookmarks and time.monotonic() >= next_bookmark:
                        await response.write(encode("BOOKMARK", bookmark(rt.kind, rt.api_version, last)))
                        next_bookmark = time.monotonic() + self.bookmark_interval_s
                    continue
                if event.rv <= last:
                    continue
                last = event.rv
                seen = visible(event, target.namespace, predicate)
                if seen is not None:
                    await response.write(encode(*seen))
            if bookmarks:
                await response.write(encode("BOOKMARK", bookmark(rt.kind, rt.api_version, last)))
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.hub.unsubscribe(rt.key, queue)
            if task is not None:
                self.hub.tasks.discard(task)
            if transport is not None:
                self.hub.transports.discard(transport)
        return response

    # -- writes -----------------------------------------------------------------------------------

    async def _create(self, request: web.BaseRequest, target: Target) -> web.Response:
        rt = target.rt
        body = await _read_object(request, rt)
        if rt.namespaced:
            assert target.namespace is not None
            if isinstance(body, dict) and isinstance(body.get("metadata"), dict):
                body_ns = body["metadata"].get("namespace")
                if body_ns and body_ns != target.namespace:
                    raise bad_request(
                        "the namespace of the provided object does not match the namespace sent "
                        "on the request"
                    )
        obj = self.store.create(rt, target.namespace, body, _dry_run(request), _manager(request))
        return _json(self._answer(request, rt, obj), 201)

    def _answer(self, request: web.BaseRequest, rt: ResourceType, obj: Obj) -> Obj:
        """A write's answer: the object, or its PartialObjectMetadata when the Accept header asks for
        it (kube-apiserver renders every verb's answer so: pkg/endpoints/handlers/response.go, 1.34)."""
        partial_version = _rendering(request, "PartialObjectMetadata")
        return tables.partial_metadata(obj, partial_version) if partial_version else self._out(rt, obj)

    async def _update(self, request: web.BaseRequest, target: Target) -> web.Response:
        rt = target.rt
        assert target.name is not None
        body = await _read_object(request, rt)
        if target.subresource == "scale":
            return _json(self._write_scale(rt, target, body, request))
        sub = target.subresource if target.subresource != "finalize" else None
        obj = self.store.update(
            rt, target.namespace, target.name, body, _dry_run(request), _manager(request), sub
        )
        return _json(self._answer(request, rt, obj))

    async def _patch(self, request: web.BaseRequest, target: Target) -> web.Response:
        rt = target.rt
        assert target.name is not None
        content_type = request.content_type
        allowed = [t for t in PATCH_TYPES if not (rt.custom and t == STRATEGIC_PATCH)]
        if content_type not in allowed:
            raise ApiError(
                415,
                f"the body of the request was in an unknown format - accepted media types "
                f"include: {', '.join(allowed)}",
                "UnsupportedMediaType",
            )
        raw = await request.read()
        try:
            if content_type == APPLY_PATCH:
                patch = yaml.safe_load(raw.decode() or "null")
            else:
                patch = json.loads(raw or b"null")
        except (ValueError, yaml.YAMLError) as exc:
            raise bad_request(f"error decoding patch: {exc}") from None
        if patch is None:
            raise bad_request("the body of the request is empty")
        force = request.query.get("force") in ("true", "1")
        if force and content_type != APPLY_PATCH:
            raise bad_request("force is only allowed with apply patches")
        if target.subresource == "scale":
            current = self._scale(rt, self.store.get(rt, target.namespace, target.name))
            if content_type == JSON_PATCH:
                new_scale = json_patch(current, patch)
            else:
                new_scale = json_merge_patch(current, patch)
            return _json(self._write_scale(rt, target, new_scale, request))
        manager = _manager(request)
        existed = self.store.find(rt, target.namespace, target.name) is not None
        obj = self.store.patch(
            rt,
            target.namespace,
            target.name,
            content_type,
            patch,
            _dry_run(request),
            request.query.get("fieldManager", "") if content_type == APPLY_PATCH else manager,
            force,
            target.subresource,
        )
        return _json(self._out(rt, obj), 200 if existed else 201)

    async def _delete(self, request: web.BaseRequest, target: Target) -> web.Response:
        rt = target.rt
        assert target.name is not None
        options = await _delete_options(request)
        grace = options.get("gracePeriodSeconds", request.query.get("gracePeriodSeconds"))
        obj, gone = self.store.delete(
            rt,
            target.namespace,
            target.name,
            _dry_run(request, options),
            options.get("preconditions"),
            int(grace) if grace is not None else None,
            request.query.get("propagationPolicy") or options.get("propagationPolicy"),
        )
        if rt.key == CRDS:
            obj = kinds.terminating(obj, now())
        elif gone and rt.key not in RETURNS_DELETED_OBJECT and not obj["metadata"].get("finalizers"):
            details: Obj = {"name": target.name, "kind": rt.plural, "uid": obj["metadata"].get("uid", "")}
            if rt.group:
                details["group"] = rt.group
            return _json(
                {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "metadata": {},
                    "status": "Success",
                    "details": details,
                }
            )
        # kube-apiserver answers 200 with the object whether it is gone or only marked for deletion
        return _json(self._out(rt, obj))

    async def _evict(self, request: web.BaseRequest, target: Target) -> web.Response:
        assert target.name is not None and target.namespace is not None
        body = await _read_object(request, target.rt)
        if not isinstance(body, dict) or body.get("kind") != "Eviction":
            raise bad_request("the body of an eviction must be a policy/v1 Eviction")
        name = (body.get("metadata") or {}).get("name")
        if name != target.name:
            raise bad_request(f"name in URL does not match name in Eviction object: {name} != {target.name}")
        dry_run = _dry_run(request, body.get("deleteOptions") or {})
        with self.store.lock:
            pod = self.store.get(target.rt, target.namespace, target.name)
            budgets_rt = self.store.registry.lookup("policy", "v1", "poddisruptionbudgets")
            assert budgets_rt is not None
            budgets = list(self.store.iter_objects(budgets_rt.key, target.namespace))
            eviction.check_eviction(pod, budgets, self.store.iter_objects(target.rt.key, target.namespace))
            self.store.delete(
                target.rt,
                target.namespace,
                target.name,
                dry_run,
                (body.get("deleteOptions") or {}).get("preconditions"),
            )
        return _json(
            {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}, 201
        )

    async def _delete_collection(self, request: web.BaseRequest, target: Target) -> web.Response:
        rt = target.rt
        options = await _delete_options(request)
        predicate = self._selectors(request, target)
        deleted = self.store.delete_collection(rt, target.namespace, predicate, _dry_run(request, options))
        return _json(
            {
                "kind": rt.list_kind_name,
                "apiVersion": rt.api_version,
                "metadata": {"resourceVersion": str(self.store.resource_version)},
                "items": [self._out(rt, o) for o in deleted],
            }
        )

    # -- scale ------------------------------------------------------------------------------------

    def _scale(self, rt: ResourceType, obj: Obj) -> Obj:
        assert rt.scale is not None
        spec_replicas = tables.lookup(obj, rt.scale.spec_replicas_path)
        status_replicas = tables.lookup(obj, rt.scale.status_replicas_path)
        meta = obj["metadata"]
        status: Obj = {"replicas": status_replicas[0] if status_replicas else 0}
        if rt.scale.label_selector_path:
            found = tables.lookup(obj, rt.scale.label_selector_path)
            if found:
                status["selector"] = found[0] if isinstance(found[0], str) else selector_string(found[0])
        scale_meta = {
            k: meta[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in meta
        }
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": scale_meta,
            "spec": {"replicas": spec_replicas[0] if spec_replicas else 0},
            "status": status,
        }

    def _write_scale(self, rt: ResourceType, target: Target, scale: Any, request: web.BaseRequest) -> Obj:
        assert rt.scale is not None and target.name is not None
        if not isinstance(scale, dict) or not isinstance((scale.get("spec") or {}).get("replicas", 0), int):
            raise bad_request("the Scale object is malformed: spec.replicas must be an integer")
        replicas = scale.get("spec", {}).get("replicas", 0)
        if replicas < 0:
            raise ApiError(
                422,
                f'Scale.autoscaling "{target.name}" is invalid: spec.replicas: Invalid value: '
                f"{replicas}: must be greater than or equal to 0",
                "Invalid",
            )
        with self.store.lock:
            obj = self.store.get(rt, target.namespace, target.name)
            wanted_rv = (scale.get("metadata") or {}).get("resourceVersion")
            path = [p for p in rt.scale.spec_replicas_path.split(".") if p]
            new = _set_path(obj, path, replicas)
            if wanted_rv:
                new["metadata"] = {**new["metadata"], "resourceVersion": wanted_rv}
            updated = self.store.update(
                rt, target.namespace, target.name, new, _dry_run(request), _manager(request)
            )
        return self._scale(rt, updated)

    # -- admin --------------------------------------------------------------------------------------

    async def _admin(self, request: web.BaseRequest, path: str) -> web.Response:
        action = path[len("/_sim/") :].strip("/")
        method = request.method
        try:
            if action == "faults":
                if method == "GET":
                    return _json(self.faults.settings.as_dict())
                if method in ("PUT", "POST"):
                    body = json.loads(await request.read() or b"{}")
                    if method == "PUT":
                        self.faults.clear()
                    self.faults.set(
                        latency_ms=body.get("latency_ms"),
                        jitter_ms=body.get("jitter_ms"),
                        error_rates=body.get("error_rates"),
                        retry_after_s=body.get("retry_after_s"),
                    )
                    return _json(self.faults.settings.as_dict())
                if method == "DELETE":
                    self.faults.clear()
                    return _json(self.faults.settings.as_dict())
            elif action == "counters":
                if method == "GET":
                    return _json(
                        {
                            "counters": self.counters.snapshot(),
                            "writes": self.counters.writes(),
                            "bytes_sent": self.counters.bytes_sent,
                            "discovery": self.counters.discovery,
                        }
                    )
                if method == "DELETE":
                    self.counters.reset()
                    return _json({"counters": {}, "writes": 0, "bytes_sent": 0, "discovery": 0})
            elif action == "down" and method == "POST":
                seconds = float(request.query.get("seconds", "1"))
                if self.admin_down is None or not 0 < seconds <= 3600:
                    raise ValueError("seconds must be in (0, 3600]")
                self.admin_down(seconds)
                return _json({"down_for_s": seconds})
            elif action == "compact" and method == "POST":
                self.store.compact()
                return _json({"oldest_watchable": self.store.oldest_watchable})
            elif action == "healthz" and method == "GET":
                return _json({"cluster": self.name, "resourceVersion": self.store.resource_version})
            else:
                return _error(ApiError(404, f"no admin action {method} /_sim/{action}", "NotFound"))
        except (ValueError, TypeError, AttributeError) as exc:
            return _error(bad_request(str(exc)))
        return _error(method_not_allowed())


# -- request helpers ------------------------------------------------------------------------------------


def _injected(code: int, retry_after_s: int, verb: str = "", name: str = "") -> ApiError:
    if code == 409:  # worded as kube-apiserver words them; the write did not happen
        if verb == "create":
            return ApiError(409, f'"{name}" already exists', "AlreadyExists")
        return ApiError(
            409,
            f'Operation cannot be fulfilled on "{name}": the object has been modified; '
            "please apply your changes to the latest version and try again",
            "Conflict",
        )
    if code == 429:
        return ApiError(
            429,
            "Too many requests, please try again later.",
            "TooManyRequests",
            {"causes": [{"reason": "TooManyRequests"}], "retryAfterSeconds": retry_after_s},
        )
    if code == 503:
        return ApiError(503, "the server is currently unable to handle the request", "ServiceUnavailable")
    return ApiError(500, "Internal error occurred: injected fault", "InternalError")


def _table_version(request: web.BaseRequest) -> str | None:
    return _rendering(request, "Table")


def _rendering(request: web.BaseRequest, kind: str) -> str | None:
    """The meta.k8s.io apiVersion ("meta.k8s.io/v1") when the Accept header asks for the `kind`
    rendering (`application/json;as=<kind>;g=meta.k8s.io;v=v1`) in one of its clauses, else None."""
    accept = request.headers.get("Accept", "")
    if f"as={kind}" not in accept:
        return None
    for clause in accept.split(","):
        params = dict(p.strip().partition("=")[::2] for p in clause.split(";")[1:])
        if params.get("as") == kind and params.get("g") == "meta.k8s.io":
            return f"meta.k8s.io/{params.get('v', 'v1')}"
    return None


def _int_param(query: Any, name: str) -> int:
    value = query.get(name, "")
    if not value:
        return 0
    try:
        return max(0, int(value))
    except ValueError:
        raise bad_request(f"invalid value for {name}: {value!r}") from None


def _rv_param(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise bad_request(
            f'resourceVersion: Invalid value: "{value}": must be a valid resource version'
        ) from None


def _dry_run(request: web.BaseRequest, options: Obj | None = None) -> bool:
    values = request.query.getall("dryRun", []) if hasattr(request.query, "getall") else []
    if options and options.get("dryRun"):
        values = [*values, *options["dryRun"]]
    for value in values:
        if value != "All":
            raise ApiError(422, f'dryRun: Unsupported value: "{value}": supported values: "All"', "Invalid")
    return bool(values)


def _manager(request: web.BaseRequest) -> str:
    manager = request.query.get("fieldManager")
    if manager:
        return manager
    # kube names the manager after the client's user agent, up to the first '/'.
    return request.headers.get("User-Agent", "unknown").split("/", 1)[0] or "unknown"


async def _read_object(request: web.BaseRequest, rt: ResourceType) -> Any:
    content_type = request.content_type
    raw = await request.read()
    if content_type in ("application/json", "application/octet-stream", ""):
        parse: Callable[[bytes], Any] = json.loads
    elif content_type == protobuf.MEDIA_TYPE:
        return protobuf.decode(raw)
    elif content_type in ("application/yaml", "application/x-yaml"):
        parse = lambda data: yaml.safe_load(data.decode())  # noqa: E731
    else:
        raise ApiError(
            415,
            "the body of the request was in an unknown format - accepted media types include: "
            "application/json, application/yaml, application/vnd.kubernetes.protobuf",
            "UnsupportedMediaType",
        )
    try:
        body = parse(raw) if raw else None
    except (ValueError, yaml.YAMLError) as exc:
        raise bad_request(
            f"the object provided is unrecognized (must be of type {rt.kind}): couldn't get "
            f"version/kind; json parse error: {exc}"
        ) from None
    if not isinstance(body, dict):
        raise bad_request(
            f"the object provided is unrecognized (must be of type {rt.kind}): couldn't get "
            "version/kind; json parse error: expected an object"
        )
    return body


async def _delete_options(request: web.BaseRequest) -> Obj:
    options: Obj = {}
    if request.can_read_body:
        raw = await request.read()
        if raw.strip():
            try:
                options = json.loads(raw)
            except ValueError as exc:
                raise bad_request(f"error decoding DeleteOptions: {exc}") from None
            if not isinstance(options, dict):
                raise bad_request("error decoding DeleteOptions: expected an object")
    policy = request.query.get("propagationPolicy") or options.get("propagationPolicy")
    if policy and policy not in ("Orphan", "Background", "Foreground"):
        raise ApiError(
            422,
            f'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: '
            f'"{policy}": supported values: "Foreground", "Background", "Orphan", "nil"',
            "Invalid",
        )
    return options


def _set_path(obj: Obj, path: list[str], value: Any) -> Obj:
    head = path[0]
    child = obj.get(head)
    if len(path) == 1:
        return {**obj, head: value}
    return {**obj, head: _set_path(child if isinstance(child, dict) else {}, path[1:], value)}


def _named(name: str, inner: Callable[[Any], bool] | None) -> Callable[[Any], bool]:
    def predicate(obj: Any) -> bool:
        return bool(obj["metadata"]["name"] == name and (inner is None or inner(obj)))

    return predicate
