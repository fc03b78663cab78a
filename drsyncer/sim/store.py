"""One simulated cluster's objects and the semantics of writing them, without any HTTP.

Stored objects are never edited in place: every write stores a new dict, so readers (and the event
history watches replay from) can hold references without copying.
"""

from __future__ import annotations

import base64
import bisect
import builtins
import copy
import json
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from drsyncer.api.immutability import parse_version
from drsyncer.api.quantities import comparable_quantities
from drsyncer.sim import apply, kinds
from drsyncer.sim.discovery import KUBE_VERSION
from drsyncer.sim.errors import (
    ApiError,
    already_exists,
    bad_request,
    conflict,
    gone,
    invalid,
    not_found,
    stale,
)
from drsyncer.sim.patching import json_merge_patch, json_patch, strategic_merge_patch
from drsyncer.sim.resources import Registry, ResourceType

Obj = dict[str, Any]
Predicate = Callable[[Mapping[str, Any]], bool]
Key = tuple[str, str]

NAMESPACES = ("", "namespaces")
CRDS = ("apiextensions.k8s.io", "customresourcedefinitions")
PODS = ("", "pods")
JOBS = ("batch", "jobs")
# the finalizer the garbage collector holds an owner with while it deletes or orphans its dependents
GC_FINALIZERS = {"Foreground": "foregroundDeletion", "Orphan": "orphan"}
PVCS = ("", "persistentvolumeclaims")
# kube-apiserver 1.34 on loopback marks a new CRD Established about 25 ms after answering the create
CRD_ESTABLISHED_DELAY_S = 0.05
INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
_ROOT_CA_DESCRIPTION = (
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such "
    "as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions "
    "of Kubernetes clusters."
)
_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
# Top-level fields that never count as a change of the object's desired state.
_NOT_DESIRED_STATE = {"metadata", "status", "apiVersion", "kind"}

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
PATCH_TYPES = (MERGE_PATCH, JSON_PATCH, STRATEGIC_PATCH, APPLY_PATCH)


@dataclass(frozen=True)
class Event:
    rv: int
    type: str  # ADDED, MODIFIED, DELETED
    key: Key
    obj: Obj
    old: Obj | None


@dataclass
class ListResult:
    items: list[Obj]
    resource_version: str
    continue_token: str = ""
    remaining: int | None = None


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _desired_state(obj: Obj, rt: ResourceType) -> Any:
    skip = _NOT_DESIRED_STATE if rt.status else _NOT_DESIRED_STATE - {"status"}
    # compared as kube-apiserver compares specs: quantities by value ("1Gi" is "1073741824")
    return comparable_quantities({k: v for k, v in obj.items() if k not in skip}, rt.group, rt.kind)


_STRING_METADATA = (
    "name",
    "generateName",
    "namespace",
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "deletionTimestamp",
    "selfLink",
)


def _check_metadata_types(rt: ResourceType, metadata: dict[str, Any]) -> None:
    """What decoding into ObjectMeta would refuse: 400, as kube-apiserver's JSON decoder answers."""

    def refuse(field: str, go_type: str) -> ApiError:
        return bad_request(
            f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: json: cannot '
            f"unmarshal into Go struct field ObjectMeta.metadata.{field} of type {go_type}"
        )

    for field in _STRING_METADATA:
        if metadata.get(field) is not None and not isinstance(metadata[field], str):
            raise refuse(field, "string")
    for field in ("labels", "annotations"):
        value = metadata.get(field)
        if value is not None and (
            not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values())
        ):
            raise refuse(field, "map[string]string")
    finalizers = metadata.get("finalizers")
    if finalizers is not None and (
        not isinstance(finalizers, list) or not all(isinstance(f, str) for f in finalizers)
    ):
        raise refuse("finalizers", "[]string")
    owners = metadata.get("ownerReferences")
    if owners is not None and (not isinstance(owners, list) or not all(isinstance(o, dict) for o in owners)):
        raise refuse("ownerReferences", "[]v1.OwnerReference")
    generation = metadata.get("generation")
    if generation is not None and (not isinstance(generation, int) or isinstance(generation, bool)):
        raise refuse("generation", "int64")


class Store:
    """Objects of one cluster, keyed (group, plural) → namespace → name, and the event history."""

    def __init__(
        self,
        history: int = 100_000,
        namespace_defaults: bool = False,
        crd_established_delay_s: float = CRD_ESTABLISHED_DELAY_S,
        kube_version: str = KUBE_VERSION,
    ) -> None:
        self.registry = Registry()
        # the Kubernetes version answered on /version; it decides what updates may not change
        self.kube_version = kube_version
        self._version = parse_version(kube_version)
        # kube-apiserver answers a CRD create before its controllers accept the names and mark it
        # Established; its resources are served from then on. 0 establishes within the create.
        self.crd_established_delay_s = crd_established_delay_s
        # What kube-controller-manager adds to every new namespace, for tests that want it.
        self.namespace_defaults = namespace_defaults
        self._objects: dict[Key, dict[str, dict[str, Obj]]] = {}
        self._rv = 1000
        self._history: deque[Event] = deque()
        self._history_limit = history
        self._floor = self._rv  # events after this resourceVersion are still in the history
        self._listeners: list[Callable[[Event], None]] = []
        self._lock = threading.RLock()
        self._ips = kinds.IPAllocator()
        self._emptying: set[str] = set()  # namespaces whose objects are being deleted right now
        for name in INITIAL_NAMESPACES:
            self.create(self._rt(NAMESPACES), None, {"metadata": {"name": name}})
        self.compact()

    # -- plumbing ---------------------------------------------------------------------------------

    def _rt(self, key: Key) -> ResourceType:
        rt = self.registry.versions_of(*key)
        return rt[0]

    def add_listener(self, listener: Callable[[Event], None]) -> None:
        self._listeners.append(listener)

    @property
    def lock(self) -> threading.RLock:
        return self._lock

    @property
    def resource_version(self) -> int:
        return self._rv

    @property
    def oldest_watchable(self) -> int:
        """Watches from a resourceVersion below this get 410 Gone."""
        return self._floor

    def compact(self) -> None:
        """Forget the event history, as etcd compaction does: older resourceVersions become Gone."""
        with self._lock:
            self._history.clear()
            self._floor = self._rv

    def _next_rv(self) -> int:
        self._rv += 1
        return self._rv

    def _emit(self, etype: str, key: Key, obj: Obj, old: Obj | None) -> None:
        event = Event(int(obj["metadata"]["resourceVersion"]), etype, key, obj, old)
        self._history.append(event)
        if len(self._history) > self._history_limit:
            self._floor = self._history.popleft().rv
        for listener in self._listeners:
            listener(event)

    def events_since(self, key: Key, rv: int) -> list[Event]:
        """Events of one resource after `rv`, oldest first; Gone if the history no longer reaches back."""
        if rv < self._floor:
            raise gone(f"too old resource version: {rv} ({self._floor})")
        out: list[Event] = []
        for event in reversed(self._history):
            if event.rv <= rv:
                break
            if event.key == key:
                out.append(event)
        out.reverse()
        return out

    def _bucket(self, key: Key, namespace: str) -> dict[str, Obj]:
        return self._objects.setdefault(key, {}).setdefault(namespace, {})

    # -- reads ------------------------------------------------------------------------------------

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        obj = self._objects.get(rt.key, {}).get(namespace or "", {}).get(name)
        if obj is None:
            raise not_found(rt.plural, rt.group, name)
        return obj

    def find(self, rt: ResourceType, namespace: str | None, name: str) -> Obj | None:
        return self._objects.get(rt.key, {}).get(namespace or "", {}).get(name)

    def iter_objects(self, key: Key, namespace: str | None = None) -> Iterator[Obj]:
        buckets = self._objects.get(key, {})
        if namespace is not None:
            yield from list(buckets.get(namespace, {}).values())
            return
        for bucket in list(buckets.values()):
            yield from list(bucket.values())

    def list(
        self,
        rt: ResourceType,
        namespace: str | None,
        predicate: Predicate | None = None,
        limit: int = 0,
        continue_token: str = "",
    ) -> ListResult:
        with self._lock:
            start = ""
            if continue_token:
                start = self._decode_continue(continue_token)
            buckets = self._objects.get(rt.key, {})
            if namespace is not None:
                keys = [(namespace, n) for n in sorted(buckets.get(namespace, {}))]
            else:
                keys = sorted((ns, n) for ns, bucket in buckets.items() for n in bucket)
            # etcd order (namespace, then name); a continue token resumes after the last key it returned
            index = bisect.bisect_right(keys, tuple(start.split("/", 1))) if start else 0
            rv = str(self._rv)
            if predicate is None:
                end = index + limit if limit else len(keys)
                chosen = keys[index:end]
                items = [buckets[ns][n] for ns, n in chosen]
                if end < len(keys):
                    return ListResult(items, rv, self._encode_continue("/".join(chosen[-1])), len(keys) - end)
                return ListResult(items, rv)
            items = []
            for position in range(index, len(keys)):
                ns, n = keys[position]
                obj = buckets[ns][n]
                if not predicate(obj):
                    continue
                if limit and len(items) == limit:
                    last = items[-1]["metadata"]
                    return ListResult(
                        items, rv, self._encode_continue(f"{last.get('namespace', '')}/{last['name']}")
                    )
                items.append(obj)
            return ListResult(items, rv)

    def _encode_continue(self, start: str) -> str:
        raw = json.dumps({"v": "meta.k8s.io/v1", "rv": self._rv, "start": start}, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode()

    def _decode_continue(self, token: str) -> str:
        try:
            data = json.loads(base64.urlsafe_b64decode(token.encode()))
            rv, start = int(data["rv"]), str(data["start"])
        except (ValueError, KeyError, TypeError):
            raise bad_request("continue key is not valid: illegal base64 data at input byte 0") from None
        if rv < self._floor:
            raise gone(
                "The provided continue parameter is too old to display a consistent list result. You "
                "can start a new list without the continue parameter, or use the continue token in "
                "this response to retrieve the remainder of the results."
            )
        return start

    # -- create -----------------------------------------------------------------------------------

    def create(
        self,
        rt: ResourceType,
        namespace: str | None,
        body: Obj,
        dry_run: bool = False,
        manager: str = "",
        applied: Obj | None = None,
        force: bool = False,
    ) -> Obj:
        with self._lock:
            obj = self._check_body(rt, namespace, body, create=True)
            metadata = obj["metadata"]
            name = metadata.get("name") or ""
            if not name:
                prefix = metadata.get("generateName") or ""
                if not prefix:
                    raise invalid(
                        rt.kind,
                        rt.group,
                        "",
                        [("metadata.name", "Required value: name or generateName is required")],
                    )
                name = prefix + "".join(random.choices(_GENERATE_ALPHABET, k=5))
            problem = kinds.name_problem(rt, name)
            if problem:
                raise invalid(rt.kind, rt.group, name, [("metadata.name", problem)])
            causes = kinds.metadata_problems(obj)
            if causes:
                raise invalid(rt.kind, rt.group, name, causes)
            ns = namespace if rt.namespaced else None
            if rt.namespaced:
                if not ns:
                    raise bad_request(
                        "the namespace of the provided object does not match the namespace "
                        "sent on the request"
                    )
                self._require_active_namespace(ns)
            bucket = self._bucket(rt.key, ns or "")
            if name in bucket:
                if applied is None:
                    # kube-apiserver validates and allocates (addresses, node ports; dry-run
                    # allocators for a dry run) before it finds the name taken: an invalid object,
                    # or one asking for a port another object holds, is a 422 even then (a dry-run
                    # create is a way to ask whether an object would be taken)
                    candidate = {**obj, "metadata": {**metadata, "name": name}}
                    kinds.prepare(rt, candidate, None, copy.deepcopy(self._ips))
                raise already_exists(rt.plural, rt.group, name)
            timestamp = now()
            metadata = {
                k: v
                for k, v in metadata.items()
                if k
                not in (
                    "deletionTimestamp",
                    "deletionGracePeriodSeconds",
                    "resourceVersion",
                    "managedFields",
                    "selfLink",
                )
            }
            metadata["name"] = name
            if ns:
                metadata["namespace"] = ns
            else:
                metadata.pop("namespace", None)
            metadata["uid"] = str(uuid.uuid4())
            metadata["creationTimestamp"] = timestamp
            if rt.has_generation:
                metadata["generation"] = 1
            else:
                metadata.pop("generation", None)
            obj = {**obj, "metadata": metadata}
            if rt.status:
                obj.pop("status", None)
            if applied is not None:
                obj = apply.server_side_apply(
                    None,
                    applied,
                    manager,
                    force,
                    rt.api_version,
                    timestamp,
                    not rt.status,
                    (rt.plural, rt.group, name),
                )
                obj["metadata"] = {
                    **metadata,
                    "managedFields": obj["metadata"]["managedFields"],
                    **{k: v for k, v in obj["metadata"].items() if k in apply.OWNABLE_METADATA},
                }
                obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
            # a dry run allocates from a copy: it must not hold what a real request would get
            obj = kinds.prepare(
                rt, obj, None, copy.deepcopy(self._ips) if dry_run else self._ips, self._version
            )
            if manager and applied is None:
                fields = apply.record_update(None, obj, manager, rt.api_version, timestamp, not rt.status)
                if fields:
                    obj["metadata"] = {**obj["metadata"], "managedFields": fields}
            if dry_run:
                return obj
            _check_stored_size(rt, obj)
            if rt.key == CRDS and self.crd_established_delay_s <= 0:
                obj = kinds.establish(obj, timestamp)
            obj["metadata"]["resourceVersion"] = str(self._next_rv())
            bucket[name] = obj
            if rt.key == CRDS:
                if kinds.is_established(obj):
                    self.registry.serve_crd(obj)
                else:
                    self._establish_later(name, metadata["uid"])
            self._emit("ADDED", rt.key, obj, None)
            if rt.key == NAMESPACES and self.namespace_defaults:
                self._add_namespace_defaults(name)
            return obj

    def _check_body(self, rt: ResourceType, namespace: str | None, body: Any, create: bool) -> Obj:
        if not isinstance(body, dict):
            raise bad_request(
                f"the object provided is unrecognized (must be of type {rt.kind}): "
                "cannot unmarshal into a JSON object"
            )
        metadata = body.get("metadata")
        if metadata is None:
            metadata = {}
        if not isinstance(metadata, dict):
            raise bad_request(
                f"the object provided is unrecognized (must be of type {rt.kind}): metadata must be an object"
            )
        _check_metadata_types(rt, metadata)
        kind = body.get("kind")
        api_version = body.get("apiVersion")
        if not isinstance(kind, str | None) or not isinstance(api_version, str | None):
            raise bad_request(
                f"the object provided is unrecognized (must be of type {rt.kind}): couldn't get "
                "version/kind; kind and apiVersion must be strings"
            )
        if kind and kind != rt.kind:
            raise bad_request(
                f"the object provided is unrecognized (must be of type {rt.kind}): "
                f"kind {kind!r} does not match"
            )
        if api_version and api_version != rt.api_version:
            versions = [r.api_version for r in self.registry.versions_of(*rt.key)]
            if api_version not in versions:
                raise bad_request(
                    f"the API version in the data ({api_version}) does not match the expected "
                    f"API version ({rt.api_version})"
                )
        body_ns = metadata.get("namespace")
        if rt.namespaced and body_ns and namespace and body_ns != namespace:
            raise bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        return {**body, "apiVersion": rt.api_version, "kind": rt.kind, "metadata": dict(metadata)}

    def _add_namespace_defaults(self, namespace: str) -> None:
        self.create(self._rt(("", "serviceaccounts")), namespace, {"metadata": {"name": "default"}})
        ca = self._rt(("", "configmaps"))
        self.create(
            ca,
            namespace,
            {
                "metadata": {
                    "name": "kube-root-ca.crt",
                    "annotations": {"kubernetes.io/description": _ROOT_CA_DESCRIPTION},
                },
                "data": {"ca.crt": "-----BEGIN CERTIFICATE-----\nsimulated\n-----END CERTIFICATE-----\n"},
            },
            manager="kube-controller-manager",
        )

    def _require_active_namespace(self, namespace: str) -> None:
        ns_obj = self._objects.get(NAMESPACES, {}).get("", {}).get(namespace)
        if ns_obj is None:
            raise not_found("namespaces", "", namespace)
        if ns_obj["metadata"].get("deletionTimestamp"):
            raise ApiError(
                403,
                f"unable to create new content in namespace {namespace} because it is being terminated",
                "Forbidden",
                {
                    "name": namespace,
                    "kind": "namespaces",
                    "causes": [
                        {
                            "reason": "NamespaceTerminating",
                            "message": f"namespace {namespace} is being terminated",
                            "field": "metadata.namespace",
                        }
                    ],
                },
            )

    # -- update and patch -------------------------------------------------------------------------

    def update(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        body: Any,
        dry_run: bool = False,
        manager: str = "",
        subresource: str | None = None,
    ) -> Obj:
        with self._lock:
            old = self.get(rt, namespace, name)
            new = self._check_body(rt, namespace, body, create=False)
            body_name = new["metadata"].get("name")
            if body_name != name:
                raise bad_request(
                    f"the name of the object ({body_name}) does not match the name on the URL ({name})"
                )
            return self._commit(rt, old, new, dry_run, manager, subresource)

    def patch(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        patch_type: str,
        patch: Any,
        dry_run: bool = False,
        manager: str = "",
        force: bool = False,
        subresource: str | None = None,
    ) -> Obj:
        with self._lock:
            if patch_type == APPLY_PATCH:
                return self._apply(rt, namespace, name, patch, dry_run, manager, force, subresource)
            old = self.get(rt, namespace, name)
            if patch_type == JSON_PATCH:
                new = json_patch(old, patch)
            else:
                if not isinstance(patch, dict):
                    raise bad_request("json: cannot unmarshal into Go value of type map[string]interface {}")
                if patch_type == MERGE_PATCH or rt.custom:
                    new = json_merge_patch(old, patch)
                else:
                    new = strategic_merge_patch(old, patch)
            if not isinstance(new, dict):
                raise ApiError(422, "the patch produced something that is not an object", "Invalid")
            new = self._check_body(rt, namespace, new, create=False)
            if new["metadata"].get("name") != name:
                raise bad_request(
                    f"the name of the object ({new['metadata'].get('name')}) does not match the "
                    f"name on the URL ({name})"
                )
            return self._commit(rt, old, new, dry_run, manager, subresource)

    def _apply(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        applied: Any,
        dry_run: bool,
        manager: str,
        force: bool,
        subresource: str | None,
    ) -> Obj:
        if not manager:
            raise ApiError(
                422,
                'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is '
                "required for apply patch",
                "Invalid",
                {
                    "group": "meta.k8s.io",
                    "kind": "PatchOptions",
                    "causes": [
                        {
                            "reason": "FieldValueRequired",
                            "message": "Required value: is required for apply patch",
                            "field": "fieldManager",
                        }
                    ],
                },
            )
        if not isinstance(applied, dict):
            raise bad_request("error decoding YAML: the applied configuration must be an object")
        if not applied.get("apiVersion") or not applied.get("kind"):
            raise bad_request("Object 'Kind' is missing in the applied configuration")
        applied = self._check_body(rt, namespace, applied, create=False)
        applied_name = applied["metadata"].get("name")
        if applied_name != name:
            raise bad_request(
                f"the name of the object ({applied_name}) does not match the name on the URL ({name})"
            )
        applied["metadata"] = {
            k: v
            for k, v in applied["metadata"].items()
            if k not in ("managedFields", "resourceVersion", "creationTimestamp", "uid")
        }
        if subresource == "status":
            applied = {k: v for k, v in applied.items() if k in ("apiVersion", "kind", "metadata", "status")}
        live = self.find(rt, namespace, name)
        if live is None:
            if subresource:
                raise not_found(rt.plural, rt.group, name)
            return self.create(
                rt,
                namespace,
                {**applied, "metadata": dict(applied["metadata"])},
                dry_run,
                manager,
                applied=applied,
                force=force,
            )
        with_status = subresource == "status" or not rt.status
        merged = apply.server_side_apply(
            live, applied, manager, force, rt.api_version, now(), with_status, (rt.plural, rt.group, name)
        )
        merged["metadata"] = {**merged["metadata"], "resourceVersion": live["metadata"]["resourceVersion"]}
        return self._commit(rt, live, merged, dry_run, manager, subresource, applied_fields=True)

    def _commit(
        self,
        rt: ResourceType,
        old: Obj,
        new: Obj,
        dry_run: bool,
        manager: str,
        subresource: str | None,
        applied_fields: bool = False,
    ) -> Obj:
        """The update path shared by PUT, patch and apply."""
        name = old["metadata"]["name"]
        requested_rv = new["metadata"].get("resourceVersion")
        if requested_rv and requested_rv != old["metadata"].get("resourceVersion"):
            raise stale(rt.plural, rt.group, name)
        if subresource == "status":
            new = {
                **old,
                "status": new.get("status"),
                "metadata": {
                    **old["metadata"],
                    "managedFields": new["metadata"].get(
                        "managedFields", old["metadata"].get("managedFields")
                    ),
                },
            }
            if new["status"] is None:
                new.pop("status")
        elif rt.status:
            new = {k: v for k, v in new.items() if k != "status"}
            if "status" in old:
                new["status"] = old["status"]
        metadata = dict(new["metadata"])
        old_meta = old["metadata"]
        for field in (
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "namespace",
            "name",
        ):
            if field in old_meta:
                metadata[field] = old_meta[field]
            else:
                metadata.pop(field, None)
        metadata.pop("selfLink", None)
        causes = kinds.metadata_problems({"metadata": metadata})
        if causes:
            raise invalid(rt.kind, rt.group, name, causes)
        if old_meta.get("deletionTimestamp"):
            added = set(metadata.get("finalizers") or []) - set(old_meta.get("finalizers") or [])
            if added:
                raise invalid(
                    rt.kind,
                    rt.group,
                    name,
                    [
                        (
                            "metadata.finalizers",
                            "Forbidden: no new finalizers "
                            "can be added if the object is being deleted, found "
                            f"new finalizers {sorted(added)!r}",
                        )
                    ],
                )
        new = {**new, "metadata": metadata}
        new = kinds.prepare(rt, new, old, copy.deepcopy(self._ips) if dry_run else self._ips, self._version)
        if rt.has_generation and _desired_state(new, rt) != _desired_state(old, rt):
            new["metadata"] = {**new["metadata"], "generation": int(old_meta.get("generation", 1)) + 1}
        if not applied_fields and manager:
            fields = apply.record_update(
                old,
                new,
                manager,
                rt.api_version,
                now(),
                subresource == "status" or not rt.status,
                subresource,
            )
            new["metadata"]["managedFields"] = fields
        elif not applied_fields:
            new["metadata"].pop("managedFields", None)
            if old_meta.get("managedFields"):
                new["metadata"]["managedFields"] = old_meta["managedFields"]
        if self._unchanged(old, new):
            return old
        if not new["metadata"].get("managedFields"):
            new["metadata"].pop("managedFields", None)
        if dry_run:
            new["metadata"]["resourceVersion"] = old_meta["resourceVersion"]
            return new
        if old_meta.get("deletionTimestamp") and not new["metadata"].get("finalizers"):
            return self._remove(rt, old, new)
        _check_stored_size(rt, new)
        new["metadata"]["resourceVersion"] = str(self._next_rv())
        self._bucket(rt.key, old_meta.get("namespace", ""))[name] = new
        if rt.key == CRDS and kinds.is_established(new):
            self.registry.serve_crd(new)
        self._emit("MODIFIED", rt.key, new, old)
        return new

    def _establish_later(self, name: str, uid: str) -> None:
        timer = threading.Timer(self.crd_established_delay_s, self.establish_crd, (name, uid))
        timer.daemon = True
        timer.start()

    def establish_crd(self, name: str, uid: str | None = None) -> Obj | None:
        """Accept a CRD's names, mark it Established and serve its resources (once; `uid` guards
        against a CRD deleted and created again meanwhile). Returns the CRD, or None if it is gone."""
        with self._lock:
            rt = self._rt(CRDS)
            crd = self.find(rt, None, name)
            if crd is None or (uid and crd["metadata"].get("uid") != uid):
                return None
            if kinds.is_established(crd):
                return crd
            done = kinds.establish(crd, now())
            done["metadata"] = {**done["metadata"], "resourceVersion": str(self._next_rv())}
            self._bucket(CRDS, "")[name] = done
            self.registry.serve_crd(done)
            self._emit("MODIFIED", CRDS, done, crd)
            return done

    @staticmethod
    def _unchanged(old: Obj, new: Obj) -> bool:
        """True when a write would store the same object: kube then keeps the resourceVersion."""
        old_meta, new_meta = old["metadata"], new["metadata"]
        if {k: v for k, v in old.items() if k != "metadata"} != {
            k: v for k, v in new.items() if k != "metadata"
        }:
            return False
        skip = ("managedFields", "resourceVersion")
        if {k: v for k, v in old_meta.items() if k not in skip} != {
            k: v for k, v in new_meta.items() if k not in skip
        }:
            return False
        return apply.ownership_equal(old_meta.get("managedFields"), new_meta.get("managedFields"))

    # -- delete -----------------------------------------------------------------------------------

    def delete(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        dry_run: bool = False,
        preconditions: Mapping[str, Any] | None = None,
        grace_period_s: int | None = None,
        propagation: str | None = None,
    ) -> tuple[Obj, bool]:
        """Delete or start deleting; returns (object, True if it is gone now).

        `propagation` is DeleteOptions' propagationPolicy (Background by default; Orphan for batch/v1
        Jobs, as kube-apiserver keeps for them). Its dependents (objects whose ownerReferences name
        it) are then deleted or orphaned at once, as kube-controller-manager's garbage collector does.
        Foreground and Orphan answer with the object marked and the GC's finalizer on it.
        """
        with self._lock:
            obj = self.get(rt, namespace, name)
            meta = obj["metadata"]
            if preconditions:
                uid, rv = preconditions.get("uid"), preconditions.get("resourceVersion")
                if uid and uid != meta.get("uid"):
                    raise conflict(
                        rt.plural,
                        rt.group,
                        name,
                        f"Precondition failed: UID in precondition: {uid}, "
                        f"UID in object meta: {meta.get('uid')}",
                    )
                if rv and rv != meta.get("resourceVersion"):
                    raise conflict(
                        rt.plural,
                        rt.group,
                        name,
                        "Precondition failed: ResourceVersion in "
                        f"precondition: {rv}, ResourceVersion in object meta: "
                        f"{meta.get('resourceVersion')}",
                    )
            if rt.key == NAMESPACES:
                return self._delete_namespace(obj, dry_run)
            if meta.get("deletionTimestamp"):
                return obj, False
            policy = propagation or ("Orphan" if rt.key == JOBS else "Background")
            if policy in GC_FINALIZERS and not dry_run:
                answer = self._mark_deleted(rt, obj, grace_period_s)
                answer["metadata"]["finalizers"] = [*(meta.get("finalizers") or []), GC_FINALIZERS[policy]]
                self._collect_dependents(meta, orphan=policy == "Orphan")
                result, gone = self.delete(rt, namespace, name, dry_run, None, grace_period_s, "Background")
                return (answer, gone) if gone else (result, gone)
            scheduled_pod = rt.key == PODS and (obj.get("spec") or {}).get("nodeName")
            if meta.get("finalizers") or scheduled_pod:
                marked = self._mark_deleted(rt, obj, grace_period_s)
                if dry_run:
                    return marked, False
                marked["metadata"]["resourceVersion"] = str(self._next_rv())
                self._bucket(rt.key, meta.get("namespace", ""))[name] = marked
                self._emit("MODIFIED", rt.key, marked, obj)
                if self._release_protection(rt, marked):
                    return marked, True
                return marked, False
            if dry_run:
                return obj, True
            if rt.key == PODS:
                # a Pod no node runs goes at once; the answer still shows it marked
                gone_obj = self._remove(rt, obj, self._mark_deleted(rt, obj, 0))
            else:
                gone_obj = self._remove(rt, obj, obj)
            self._collect_dependents(meta, orphan=False)
            return gone_obj, True

    def _collect_dependents(self, owner_meta: Mapping[str, Any], orphan: bool) -> None:
        """Delete (or, with `orphan`, release) the objects whose ownerReferences name this owner."""
        uid = owner_meta.get("uid")
        namespace = owner_meta.get("namespace", "")
        for key, buckets in list(self._objects.items()):
            for obj in list(buckets.get(namespace, {}).values()):
                refs = obj["metadata"].get("ownerReferences") or []
                if not any(r.get("uid") == uid for r in refs):
                    continue
                dep_rt, dep_name = self._rt(key), obj["metadata"]["name"]
                if not orphan:
                    self.delete(dep_rt, namespace or None, dep_name)
                    continue
                rest = [r for r in refs if r.get("uid") != uid]
                released = {
                    **obj,
                    "metadata": {
                        **obj["metadata"],
                        "ownerReferences": rest,
                        "resourceVersion": str(self._next_rv()),
                    },
                }
                if not rest:
                    released["metadata"].pop("ownerReferences")
                buckets[namespace][dep_name] = released
                self._emit("MODIFIED", key, released, obj)

    def _mark_deleted(self, rt: ResourceType, obj: Obj, grace_period_s: int | None) -> Obj:
        meta = obj["metadata"]
        grace = 0
        if rt.key == PODS and (obj.get("spec") or {}).get("nodeName"):
            grace = (
                grace_period_s
                if grace_period_s is not None
                else int((obj.get("spec") or {}).get("terminationGracePeriodSeconds", 30))
            )
        marked_meta = {**meta, "deletionTimestamp": now(), "deletionGracePeriodSeconds": grace}
        if rt.has_generation:
            marked_meta["generation"] = int(meta.get("generation", 1)) + 1
        return {**obj, "metadata": marked_meta}

    def _release_protection(self, rt: ResourceType, marked: Obj) -> bool:
        """What kube-controller-manager's pvc- and pv-protection controllers do once a claim or volume
        being deleted is not in use: drop their finalizer. True if the object is gone now."""
        finalizer = kinds.PROTECTION_FINALIZERS.get(rt.key)
        meta = marked["metadata"]
        if finalizer is None or finalizer not in (meta.get("finalizers") or []):
            return False
        if rt.key == PVCS and self._claim_in_use(meta.get("namespace", ""), meta["name"]):
            return False
        rest = [f for f in meta["finalizers"] if f != finalizer]
        released = {**marked, "metadata": {**meta, "finalizers": rest}}
        if not rest:
            released["metadata"].pop("finalizers")
            self._remove(rt, marked, released)
            return True
        released["metadata"]["resourceVersion"] = str(self._next_rv())
        self._bucket(rt.key, meta.get("namespace", ""))[meta["name"]] = released
        self._emit("MODIFIED", rt.key, released, marked)
        return False

    def _claim_in_use(self, namespace: str, claim: str) -> bool:
        for pod in self.iter_objects(PODS, namespace):
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue
            for volume in (pod.get("spec") or {}).get("volumes") or []:
                if ((volume.get("persistentVolumeClaim") or {}).get("claimName")) == claim:
                    return True
        return False

    def _remove(self, rt: ResourceType, old: Obj, last: Obj) -> Obj:
        meta = last["metadata"]
        gone_obj = {**last, "metadata": {**meta, "resourceVersion": str(self._next_rv())}}
        namespace = meta.get("namespace", "")
        self._bucket(rt.key, namespace).pop(meta["name"], None)
        if rt.key == ("", "services"):
            spec = last.get("spec") or {}
            if spec.get("type") != "ExternalName":  # the address one shows was never allocated to it
                self._ips.release_ip(spec.get("clusterIP"))
            self._ips.release_ports(kinds.node_ports(last.get("spec")))
        if rt.key == CRDS:
            self._drop_custom_resources(last)
        self._emit("DELETED", rt.key, gone_obj, old)
        if namespace and rt.key != NAMESPACES:
            self._finish_namespace(namespace)
        return gone_obj

    def _drop_custom_resources(self, crd: Obj) -> None:
        types = self.registry.forget_crd(crd["metadata"]["name"])
        if not types:
            return
        key = types[0].key
        for obj in list(self.iter_objects(key)):
            gone_obj = {**obj, "metadata": {**obj["metadata"], "resourceVersion": str(self._next_rv())}}
            self._emit("DELETED", key, gone_obj, obj)
        self._objects.pop(key, None)

    def _delete_namespace(self, ns_obj: Obj, dry_run: bool) -> tuple[Obj, bool]:
        meta = ns_obj["metadata"]
        name = meta["name"]
        terminating = ns_obj
        if not meta.get("deletionTimestamp"):
            terminating = {
                **ns_obj,
                "metadata": {**meta, "deletionTimestamp": now(), "deletionGracePeriodSeconds": 0},
                "status": {"phase": "Terminating"},
            }
            if dry_run:
                return terminating, False
            terminating["metadata"]["resourceVersion"] = str(self._next_rv())
            self._bucket(NAMESPACES, "")[name] = terminating
            self._emit("MODIFIED", NAMESPACES, terminating, ns_obj)
        elif dry_run:
            return ns_obj, False
        self._emptying.add(name)
        try:
            for key, buckets in list(self._objects.items()):
                if key == NAMESPACES:
                    continue
                for obj in list(buckets.get(name, {}).values()):
                    self.delete(self._rt(key), name, obj["metadata"]["name"])
        finally:
            self._emptying.discard(name)
        finished = self._finish_namespace(name)
        return (finished or self._bucket(NAMESPACES, "")[name]), finished is not None

    def _finish_namespace(self, name: str) -> Obj | None:
        ns_obj = self._objects.get(NAMESPACES, {}).get("", {}).get(name)
        if (
            ns_obj is None
            or name in self._emptying
            or not ns_obj["metadata"].get("deletionTimestamp")
            or ns_obj["metadata"].get("finalizers")
        ):
            return None
        if any(buckets.get(name) for key, buckets in self._objects.items() if key != NAMESPACES):
            return None
        final = {**ns_obj, "spec": {}}
        return self._remove(self._rt(NAMESPACES), ns_obj, final)

    def delete_collection(
        self, rt: ResourceType, namespace: str | None, predicate: Predicate | None, dry_run: bool = False
    ) -> builtins.list[Obj]:
        with self._lock:
            deleted = []
            for obj in self.list(rt, namespace, predicate).items:
                result, _ = self.delete(
                    rt, obj["metadata"].get("namespace"), obj["metadata"]["name"], dry_run
                )
                deleted.append(result)
            return deleted

    # -- seeding from Python ----------------------------------------------------------------------

    def resource_for(self, api_version: str, kind: str) -> ResourceType:
        rt = self.registry.by_kind(api_version, kind)
        if rt is None:
            raise ApiError(404, f'no matches for kind "{kind}" in version "{api_version}"')
        return rt

    def put(self, obj: Obj) -> Obj:
        """Create `obj` (or replace the stored one of that name) without HTTP, e.g. to seed a test.

        A namespaced object without a namespace goes to `default`; a missing namespace is created.
        """
        with self._lock:
            rt = self.resource_for(obj.get("apiVersion", ""), obj.get("kind", ""))
            namespace = ((obj.get("metadata") or {}).get("namespace") or "default") if rt.namespaced else None
            if rt.namespaced and namespace and self.find(self._rt(NAMESPACES), None, namespace) is None:
                self.create(self._rt(NAMESPACES), None, {"metadata": {"name": namespace}})
            existing = self.find(rt, namespace, (obj.get("metadata") or {}).get("name", ""))
            if existing is None:
                created = self.create(rt, namespace, obj)
                if rt.key == CRDS:  # seeded as if it had been there a while
                    return self.establish_crd(created["metadata"]["name"]) or created
                return created
            body = {
                **obj,
                "metadata": {
                    **obj.get("metadata", {}),
                    "resourceVersion": existing["metadata"]["resourceVersion"],
                },
            }
            return self.update(rt, namespace, existing["metadata"]["name"], body)


# etcd refuses a request over `--max-request-bytes` (1.5 MiB by default), and kube-apiserver answers
# that write with 500 InternalError "etcdserver: request is too large". A custom resource is stored
# as its JSON, so its JSON size is what counts; built-in objects are stored as protobuf, smaller, and
# their own limits (a ConfigMap's or Secret's 1 MiB of data) come first, so they are not checked.
ETCD_MAX_REQUEST_BYTES = 1_572_864


def _check_stored_size(rt: ResourceType, obj: Obj) -> None:
    if rt.custom and len(json.dumps(obj, separators=(",", ":"))) > ETCD_MAX_REQUEST_BYTES:
        raise ApiError(500, "etcdserver: request is too large", "InternalError")
