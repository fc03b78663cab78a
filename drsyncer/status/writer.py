"""Writing a custom resource's `/status` and posting Events through the controller cluster's client.

Status writes are merge patches on the status subresource, conditional on the resourceVersion just
read; on 409 the object is read again and the patch rebuilt from it, so concurrent writers (the
watcher, other workers) never overwrite each other's conditions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from drsyncer.kube import ApiError, ClusterClient, ResourceRef
from drsyncer.kube.discovery import offline_ref
from drsyncer.kube.errors import NotFound
from drsyncer.kube.retry import STATUS_WRITES, RetryPolicy, retry_on_conflict
from drsyncer.logs import redact_all

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


def post_event(controller: ClusterClient, body: Mapping[str, Any]) -> bool:
    """Create an Event; a failure is logged, never raised (Events are a courtesy, not the record)."""
    namespace = str((body.get("metadata") or {}).get("namespace") or "default")
    try:
        controller.create(_events_ref(), namespace, redact_all(dict(body)))
    except ApiError as exc:
        log.warning(
            "posting Event %s on %s failed: %s",
            body.get("reason"),
            (body.get("involvedObject") or {}).get("name"),
            exc,
        )
        return False
    return True
