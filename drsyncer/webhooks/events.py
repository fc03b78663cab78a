"""The CloudEvents drsyncer sends, as plain dicts of CloudEvents 1.0 attributes plus `data`. Pure.

Every event's `data` names the Replication and says what happened in counts and messages: object
names and error messages, never object contents (so never Secret data). The schema is documented in
docs/webhooks.md.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from drsyncer.api import keys
from drsyncer.api.webhooks import WebhookEvent
from drsyncer.errors import Category
from drsyncer.logs import redact_all
from drsyncer.status.replication import listed_targets
from drsyncer.sync.result import Phase, RunSummary

TYPES: Mapping[WebhookEvent, str] = {
    WebhookEvent.SYNC_FAILED: "io.dr-syncer.replication.sync.failed",
    WebhookEvent.SYNC_RECOVERED: "io.dr-syncer.replication.sync.recovered",
    WebhookEvent.SYNC_COMPLETED: "io.dr-syncer.replication.sync.completed",
    WebhookEvent.DESTINATION_UNREACHABLE: "io.dr-syncer.replication.destination.unreachable",
    WebhookEvent.FAILOVER_STARTED: "io.dr-syncer.replication.failover.started",
    WebhookEvent.FAILOVER_ENDED: "io.dr-syncer.replication.failover.ended",
}
_MAX_MESSAGE = 1024


def source_of(namespace: str, name: str) -> str:
    """The CloudEvents `source`: the Replication's API path (a URI-reference, as the spec asks)."""
    return f"/apis/{keys.API_VERSION}/namespaces/{namespace}/replications/{name}"


def event(
    kind: WebhookEvent, replication: Mapping[str, Any], data: Mapping[str, Any], *, now: datetime
) -> dict[str, Any]:
    """One event about `replication` (its metadata: namespace, name, uid). `event` is drsyncer's
    name of the kind (for the endpoints' filters), the rest are CloudEvents attributes and `data`."""
    namespace, name = str(replication.get("namespace") or ""), str(replication.get("name") or "")
    return {
        "event": kind.value,
        "id": uuid.uuid4().hex,
        "type": TYPES[kind],
        "source": source_of(namespace, name),
        "subject": f"{namespace}/{name}",
        "time": now.isoformat(),
        # (its messages quote errors, which may quote a URL's password or an echoed header)
        "data": redact_all(
            {"replication": {"namespace": namespace, "name": name, "uid": replication.get("uid")}, **data}
        ),
    }


def _counts(summary: RunSummary) -> dict[str, int]:
    totals = summary.totals
    return {
        "total": totals.total,
        "created": totals.created,
        "updated": totals.updated,
        "unchanged": totals.unchanged,
        "pruned": totals.pruned,
        "skipped": totals.skipped,
        "failed": totals.failed,
        "heldBack": totals.held_back,
    }


def previous_run_failed(previous_status: Mapping[str, Any]) -> bool:
    """The run before this one did not complete: its end is not the last successful one."""
    last = previous_status.get("lastSyncTime")
    return bool(last) and last != previous_status.get("lastSuccessfulSyncTime")


def run_events(
    replication: Mapping[str, Any], summary: RunSummary, previous_status: Mapping[str, Any], *, now: datetime
) -> list[dict[str, Any]]:
    """The events of a finished run: SyncCompleted or SyncFailed, SyncRecovered when the run before it
    had not completed, and DestinationUnreachable once per destination that could not be reached."""
    # a receiver (a chat hook, an incident tool) takes a small body: a run over thousands of
    # namespaces lists what the status lists, and says how many more there were
    listed = listed_targets(summary.targets)
    base = {
        "runId": summary.run_id,
        "phase": summary.phase.value,
        "counts": _counts(summary),
        "targetsOmitted": len(summary.targets) - len(listed),
        "targets": [
            {
                "cluster": t.destination_cluster,
                "sourceNamespace": t.source_namespace,
                "destinationNamespace": t.destination_namespace,
                "phase": t.phase.value,
                # an object's error names the object, as the status and the Events do
                "error": (t.error or (t.errors[0].described if t.errors else ""))[:_MAX_MESSAGE],
            }
            for t in listed
        ],
    }
    out = []
    if summary.phase is Phase.COMPLETED:
        out.append(event(WebhookEvent.SYNC_COMPLETED, replication, base, now=now))
        if previous_run_failed(previous_status):
            out.append(event(WebhookEvent.SYNC_RECOVERED, replication, base, now=now))
    else:
        out.append(event(WebhookEvent.SYNC_FAILED, replication, base, now=now))
    unreachable: dict[str, str] = {}
    for target in summary.targets:
        # a whole destination failed for a reason that may pass: the cluster did not answer
        if target.error and target.error_category is Category.RETRYABLE:
            unreachable.setdefault(target.destination_cluster, target.error[:_MAX_MESSAGE])
    for cluster, message in sorted(unreachable.items()):
        out.append(
            event(
                WebhookEvent.DESTINATION_UNREACHABLE,
                replication,
                {"runId": summary.run_id, "cluster": cluster, "message": message},
                now=now,
            )
        )
    return out


def failover_event(
    kind: WebhookEvent,
    replication: Mapping[str, Any],
    *,
    cluster: str,
    counts: Mapping[str, int] | None = None,
    now: datetime,
) -> dict[str, Any]:
    """FailoverStarted or FailoverEnded about the Replication's copies in `cluster`."""
    data: dict[str, Any] = {"cluster": cluster}
    if counts is not None:
        data["counts"] = dict(counts)
    return event(kind, replication, data, now=now)
