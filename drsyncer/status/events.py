"""Kubernetes Events (core/v1) about a Replication's runs. Pure: what to post, not posting it.

Events repeat: a Replication synced every minute completes 1,440 times a day. As client-go's event
recorder does (`tools/record/events_cache.go`, the "EventCorrelator"), a repeat of an Event is not a
new object but the same one with its `count` raised and its `lastTimestamp` and `message` moved on,
so `kubectl describe` reads "SyncCompleted (x1440 over 24h)" and the API server stores one Event per
(object, reason, type, reporting component) instead of one per run. Unlike client-go, the message is
not part of what makes two Events the same: drsyncer's run messages carry the run's counts, and an
operator wants the latest of them, not one Event per distinct count. Where a few kinds of one reason
are worth telling apart (a run started by its schedule, by sync-now, by a change), the caller names
the kind (`series`), and each kind is an Event of its own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from drsyncer.status.remote_cluster import timestamp

REASON_STARTED = "SyncStarted"
COMPONENT = "drsyncer-worker"
WATCHER_COMPONENT = "drsyncer-watcher"
REASON_INVALID_SPEC = "InvalidSpec"
REASON_NAMESPACES_DROPPED = "SourceNamespacesDropped"
_MAX_MESSAGE = 1024  # the API server refuses longer Event messages
_MAX_NAME = 253  # an Event's name is a DNS subdomain (apimachinery's IsDNS1123Subdomain)


def event_name(involved: Mapping[str, Any], reason: str, type_: str, component: str, series: str = "") -> str:
    """The name an Event about `involved` with this reason, type, reporting component and series
    always has: `<object name>.<16 hex digits>`, the same for every repeat (what `repeat` counts),
    different for an object of the same name created again (its uid differs)."""
    identity = "\x00".join(
        str(v or "")
        for v in (*(involved.get(k) for k in ("apiVersion", "kind", "namespace", "name", "uid")), reason)
    )
    digest = hashlib.sha256(f"{identity}\x00{type_}\x00{component}\x00{series}".encode()).hexdigest()
    return f"{str(involved.get('name') or '')[: _MAX_NAME - 17]}.{digest[:16]}"


def event(
    involved: Mapping[str, Any],
    reason: str,
    message: str,
    *,
    type_: str = "Normal",
    now: datetime,
    instance: str = "",
    component: str = COMPONENT,
    series: str = "",
) -> dict[str, Any]:
    """An Event on `involved` (`apiVersion`, `kind`, `namespace`, `name`, `uid`) reported by
    `component` from `instance` (a worker's name), as first posted (`count` 1); its name is
    `event_name`'s, so a repeat from any worker finds it."""
    namespace = str(involved.get("namespace") or "default")
    name = event_name(involved, reason, type_, component, series)
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": namespace},
        "involvedObject": {
            k: involved[k] for k in ("apiVersion", "kind", "namespace", "name", "uid") if involved.get(k)
        },
        "reason": reason,
        "message": message[:_MAX_MESSAGE],
        "type": type_,
        "count": 1,
        "firstTimestamp": timestamp(now),
        "lastTimestamp": timestamp(now),
        "source": {"component": component, **({"host": instance} if instance else {})},
        "reportingComponent": component,
        "reportingInstance": instance or component,
    }


def repeat(posted: Mapping[str, Any], resource_version: str, count: int) -> dict[str, Any]:
    """The merge patch that records `posted` (an `event` body) once more on the Event of its name as
    it stands at `resource_version` with `count`: count + 1, the new lastTimestamp, message and
    reporting instance; conditional on `resource_version`, so two workers never count one repeat."""
    return {
        "metadata": {"resourceVersion": resource_version},
        "count": count + 1,
        "lastTimestamp": posted.get("lastTimestamp"),
        "message": posted.get("message"),
        "source": posted.get("source"),
        "reportingInstance": posted.get("reportingInstance"),
    }
