"""What `drsyncer failover` and `drsyncer failback` write in the controller cluster, when it answers:
`spec.paused` on the Replications whose copies they act on, `status.failover`, and Events.

The builders are pure (a status dict from the Replication read and the command's counts); `record_*`
send them through the controller's client.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from drsyncer.api import keys
from drsyncer.api.webhooks import WebhookEvent
from drsyncer.errors import CategorisedError, DrsyncerError
from drsyncer.kube import ClusterClient
from drsyncer.ops.controller import replications_ref
from drsyncer.ops.dr_copies import Report
from drsyncer.status.events import event
from drsyncer.status.remote_cluster import timestamp
from drsyncer.status.writer import patch_status, post_event
from drsyncer.webhooks import delivery, endpoints
from drsyncer.webhooks import events as webhook_events

log = logging.getLogger(__name__)

COMPONENT = "drsyncer-failover"
REASON_FAILOVER_STARTED = "FailoverStarted"
REASON_FAILOVER_COMPLETED = "FailoverCompleted"
REASON_FAILOVER_FAILED = "FailoverFailed"
REASON_FAILBACK_COMPLETED = "FailbackCompleted"


def failover_status(
    existing: Mapping[str, Any] | None,
    *,
    cluster: str,
    started: datetime,
    finished: datetime,
    counts: Mapping[str, int],
    paused_by_failover: bool,
) -> dict[str, Any]:
    """`status.failover` after a failover run; `counts` as `Report.failover_counts`. A repeated run to
    the same cluster (still active) keeps the first run's start, and whether it was that run which
    paused the Replication."""
    previous = dict(existing or {})
    ongoing = previous.get("cluster") == cluster and previous.get("active") is True
    return {
        "cluster": cluster,
        "active": True,
        "started": previous.get("started") if ongoing and previous.get("started") else timestamp(started),
        "finished": timestamp(finished),
        **{key: int(counts.get(key, 0)) for key in ("workloads", "broughtUp", "alreadyUp", "failed")},
        "pausedByFailover": bool(previous.get("pausedByFailover")) if ongoing else paused_by_failover,
        "failedBack": None,
    }


def involved(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    return {
        "apiVersion": keys.API_VERSION,
        "kind": keys.KIND_REPLICATION,
        "namespace": meta.get("namespace"),
        "name": meta.get("name"),
        "uid": meta.get("uid"),
    }


def split(replication: str) -> tuple[str, str]:
    namespace, _, name = replication.partition("/")
    return namespace, name


def pause(controller: ClusterClient, replication: str, now: datetime, cluster: str) -> tuple[bool, str]:
    """Set `spec.paused` (the workers drop every run of a paused Replication) and post
    FailoverStarted. Returns (paused now by this call, message); never raises."""
    namespace, name = split(replication)
    ref = replications_ref(controller)
    try:
        obj = controller.get(ref, namespace, name)
        if obj is None:
            return False, f"Replication {replication} not found in the controller cluster"
        already = bool((obj.get("spec") or {}).get("paused"))
        if not already:
            obj = controller.patch(ref, namespace, name, {"spec": {"paused": True}})
    except CategorisedError as exc:
        return False, f"pausing Replication {replication} failed: {exc.message}"
    post_event(
        controller,
        event(
            involved(obj),
            REASON_FAILOVER_STARTED,
            f"failover to {cluster} started; Replication paused so no run puts the copies back in standby",
            now=now,
            component=COMPONENT,
        ),
    )
    return not already, f"Replication {replication} {'was already paused' if already else 'paused'}"


def record_failover(
    controller: ClusterClient,
    replication: str,
    report: Report,
    *,
    cluster: str,
    started: datetime,
    finished: datetime,
    paused_now: bool,
) -> str | None:
    """Write `status.failover` and post FailoverCompleted (FailoverFailed when a copy failed); an error
    message, or None."""
    namespace, name = split(replication)
    counts = report.failover_counts(replication)

    def build(obj: Mapping[str, Any]) -> dict[str, Any]:
        existing = (obj.get("status") or {}).get("failover")
        return {
            "failover": failover_status(
                existing,
                cluster=cluster,
                started=started,
                finished=finished,
                counts=counts,
                paused_by_failover=paused_now,
            )
        }

    try:
        obj = patch_status(controller, replications_ref(controller), namespace, name, build)
    except CategorisedError as exc:
        return f"recording the failover on Replication {replication} failed: {exc.message}"
    if obj is None:
        return f"Replication {replication} not found in the controller cluster"
    failover = (obj.get("status") or {}).get("failover") or {}
    failed = int(failover.get("failed") or 0)
    message = (
        f"failover to {cluster}: {failover.get('broughtUp', 0)} copies brought up, "
        f"{failover.get('alreadyUp', 0)} already up, {failed} failed"
    )
    post_event(
        controller,
        event(
            involved(obj),
            REASON_FAILOVER_FAILED if failed else REASON_FAILOVER_COMPLETED,
            message,
            type_="Warning" if failed else "Normal",
            now=finished,
            component=COMPONENT,
        ),
    )
    return None


def record_failback(
    controller: ClusterClient, replication: str, *, cluster: str, now: datetime, restored: int, failed: int
) -> str:
    """Resume the Replication if the failover paused it, mark `status.failover` inactive, post
    FailbackCompleted; returns a line for the operator (never raises)."""
    namespace, name = split(replication)
    ref = replications_ref(controller)
    try:
        obj = controller.get(ref, namespace, name)
        if obj is None:
            return f"Replication {replication} not found in the controller cluster"
        failover = (obj.get("status") or {}).get("failover") or {}
        if failover.get("cluster") != cluster or not failover.get("active"):
            return f"Replication {replication}: no active failover to {cluster} recorded; left as it is"
        resumed = bool(failover.get("pausedByFailover")) and bool((obj.get("spec") or {}).get("paused"))
        if resumed:
            controller.patch(ref, namespace, name, {"spec": {"paused": False}})

        def build(current: Mapping[str, Any]) -> dict[str, Any]:
            return {"failover": {"active": False, "failedBack": timestamp(now)}}

        patch_status(controller, ref, namespace, name, build)
    except CategorisedError as exc:
        return f"resuming Replication {replication} failed: {exc.message}"
    post_event(
        controller,
        event(
            involved(obj),
            REASON_FAILBACK_COMPLETED,
            f"failback from {cluster}: {restored} copies back in standby, {failed} failed"
            f"{'; Replication resumed' if resumed else ''}",
            now=now,
            component=COMPONENT,
        ),
    )
    if resumed:
        return f"Replication {replication} resumed"
    return f"Replication {replication} left paused (it was paused before the failover)"


def notify(
    controller: ClusterClient,
    replication: str,
    kind: WebhookEvent,
    *,
    cluster: str,
    now: datetime,
    counts: Mapping[str, int] | None = None,
) -> list[str]:
    """Send FailoverStarted or FailoverEnded to the Replication's and the installation's webhooks
    (`DRSYNCER_WEBHOOKS` in this command's environment), once each and at once: the operator is
    waiting, so there is no retry queue here. Returns a warning per endpoint that did not take it."""
    namespace, name = split(replication)
    try:
        obj = controller.get(replications_ref(controller), namespace, name)
        installation = endpoints.parse_global(os.environ.get("DRSYNCER_WEBHOOKS", ""))
    except (CategorisedError, DrsyncerError) as exc:
        return [f"webhooks of Replication {replication} not sent: {exc}"]
    if obj is None:
        return []
    event = webhook_events.failover_event(
        kind, obj.get("metadata") or {}, cluster=cluster, counts=counts, now=now
    )
    problems = []
    for target in endpoints.targets(
        kind.value, obj, installation, watch_namespace=os.environ.get("DRSYNCER_WATCH_NAMESPACE", "")
    ):
        try:
            credentials = delivery.read_credentials(controller, target.get("secretRef"))
            attempt = delivery.deliver(str(target["url"]), event, credentials)
        except DrsyncerError as exc:
            problems.append(f"webhook {delivery.shown(str(target['url']))}: {exc}")
            continue
        if attempt.outcome is not delivery.Outcome.DELIVERED:
            problems.append(f"webhook {kind.value} not delivered: {attempt.message}")
    return problems
