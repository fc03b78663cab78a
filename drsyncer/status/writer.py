"""Writing a custom resource's `/status` and posting Events through the controller cluster's client.

Status writes are merge patches on the status subresource, conditional on the resourceVersion just
read; on 409 the object is read again and the patch rebuilt from it, so concurrent writers (the
watcher, other workers) never overwrite each other's conditions. An Event posted again is counted on
the one already there (`drsyncer.status.events`), by the same kind of conditional patch.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from drsyncer.kube import ApiError, ClusterClient, ResourceRef
from drsyncer.kube.discovery import offline_ref
from drsyncer.kube.errors import AlreadyExists, Conflict, NotFound
from drsyncer.kube.retry import STATUS_WRITES, RetryPolicy, retry_on_conflict
from drsyncer.logs import redact_all
from drsyncer.status import events

log = logging.getLogger(__name__)

Build = Callable[[Mapping[str, Any]], dict[str, Any] | None]


def _events_ref() -> ResourceRef:
    ref = offline_ref("events")
    assert ref is not None
    return ref


def patch_status(
    controller: ClusterClient,
    ref: ResourceRef,
    namespace: str,
    name: str,
    build: Build,
    *,
    uid: str | None = None,
    policy: RetryPolicy = STATUS_WRITES,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any] | None:
    """Read the object, `build` the status from it, patch it; again on conflict (`retry_on_conflict`
    with `policy`). None when the object is gone (or another object now has the name and `uid` is
    given) or `build` has nothing to write."""

    def read_modify_write() -> dict[str, Any] | None:
        obj = controller.get(ref, namespace, name)
        if obj is None:
            return None
        meta = obj.get("metadata") or {}
        if uid and meta.get("uid") != uid:
            return None
        status = build(obj)
        if status is None:
            return obj
        status = redact_all(status)  # error messages may quote a URL's password or an echoed header
        body = {"metadata": {"resourceVersion": meta.get("resourceVersion")}, "status": status}
        try:
            return controller.patch(ref, namespace, name, body, subresource="status")
        except NotFound:
            return None

    return retry_on_conflict(read_modify_write, policy, sleep=sleep)


# (namespace, name) of the Events this process posted or counted -> (resourceVersion, count) as last
# written: a repeat from the same process is one conditional patch, not a create refused, a read and
# a patch. Bounded as client-go's event cache is (4,096 entries per client).
_POSTED_MAX = 4096
_posted: weakref.WeakKeyDictionary[ClusterClient, OrderedDict[tuple[str, str], tuple[str, int]]] = (
    weakref.WeakKeyDictionary()
)
_posted_lock = threading.Lock()


def _remember(controller: ClusterClient, key: tuple[str, str], written: Mapping[str, Any]) -> None:
    version = str((written.get("metadata") or {}).get("resourceVersion") or "")
    _put(controller, key, (version, int(written.get("count") or 1)))


def _put(controller: ClusterClient, key: tuple[str, str], entry: tuple[str, int]) -> None:
    with _posted_lock:
        seen = _posted.setdefault(controller, OrderedDict())
        seen[key] = entry
        seen.move_to_end(key)
        while len(seen) > _POSTED_MAX:
            seen.popitem(last=False)


def _remember_unread(controller: ClusterClient, key: tuple[str, str]) -> None:
    _put(controller, key, _UNREAD)


def _forget(controller: ClusterClient, key: tuple[str, str]) -> tuple[str, int] | None:
    with _posted_lock:
        seen = _posted.get(controller)
        return seen.pop(key, None) if seen is not None else None


# a cache entry for an Event that exists at a version this process does not know (its patch
# conflicted with another worker's): the next attempt reads it, without trying to create it first
_UNREAD = ("", 0)


def _record(controller: ClusterClient, body: dict[str, Any], key: tuple[str, str]) -> None:
    """Post `body` as a new Event or count it on the one of its name; raises ApiError (409 included,
    which `retry_on_conflict` answers by running this again)."""
    namespace, name = key
    known = _forget(controller, key)
    if known is None:
        try:
            _remember(controller, key, controller.create(_events_ref(), namespace, body))
            return
        except AlreadyExists:
            known = _UNREAD
    if known == _UNREAD:
        current = controller.get(_events_ref(), namespace, name)
        if current is None:  # expired (the API server's event TTL) since
            _remember(controller, key, controller.create(_events_ref(), namespace, body))
            return
        known = (str(current["metadata"].get("resourceVersion") or ""), int(current.get("count") or 1))
    try:
        patched = controller.patch(_events_ref(), namespace, name, events.repeat(body, *known))
    except Conflict:  # another worker counted it since: read it again, then count
        _remember_unread(controller, key)
        raise
    except NotFound:  # expired since this process last counted it
        patched = controller.create(_events_ref(), namespace, body)
    _remember(controller, key, patched)


def post_event(controller: ClusterClient, body: Mapping[str, Any]) -> bool:
    """Post an Event (`drsyncer.status.events.event`): created the first time, and each later time
    counted on the one of its name (count + 1, lastTimestamp and message moved on), as client-go's
    recorder does. A failure is logged, never raised (Events are a courtesy, not the record)."""
    meta = body.get("metadata") or {}
    key = (str(meta.get("namespace") or "default"), str(meta.get("name") or ""))
    try:
        retry_on_conflict(lambda: _record(controller, redact_all(dict(body)), key), STATUS_WRITES)
    except ApiError as exc:
        log.warning(
            "posting Event %s on %s failed: %s",
            body.get("reason"),
            (body.get("involvedObject") or {}).get("name"),
            exc,
        )
        return False
    return True
