"""Event webhooks from the workers: which events a finished run sends (`send_run_events`, called where
the run's status is written) and the task that delivers one event to one endpoint, on its own queue,
with Celery's retries and exponential backoff.

Sending only puts small messages on the `webhooks` queue (a URL, a Secret's name, the event), never
waits for an endpoint and never raises into the sync: a dead endpoint delays no sync.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from celery import Task

from drsyncer.errors import DrsyncerError
from drsyncer.sync.result import RunSummary
from drsyncer.task_contract import TASK_DELIVER_WEBHOOK, WEBHOOK_QUEUE
from drsyncer.webhooks import delivery, endpoints, events
from workers import metrics
from workers.app import app

log = logging.getLogger(__name__)

# Celery's backoff waits a random time up to 1, 2, 4 ... 256, 300, 300 s (full jitter): about seven
# minutes of trying on average, at most fourteen
MAX_RETRIES = 10
BACKOFF_MAX_S = 300


class RetryDelivery(Exception):
    """The endpoint did not take the event but may later (no answer, 408, 425, 429, 5xx)."""


def send_run_events(
    replication: Mapping[str, Any], summary: RunSummary, previous_status: Mapping[str, Any]
) -> int:
    """Queue the run's events for every endpoint that wants them; the number queued. Never raises."""
    try:
        installation = endpoints.parse_global(app.settings.webhooks)
    except DrsyncerError as exc:
        log.warning("installation-wide webhooks not sent: %s", exc)
        installation = []
    try:
        found = events.run_events(
            replication.get("metadata") or {}, summary, previous_status, now=datetime.now(UTC)
        )
        sent = 0
        for event in found:
            for endpoint in endpoints.targets(
                event["event"], replication, installation, watch_namespace=app.settings.watch_namespace
            ):
                kwargs = {"endpoint": endpoint, "event": event}
                deliver_webhook.apply_async(kwargs=kwargs, queue=WEBHOOK_QUEUE)
                sent += 1
        return sent
    except Exception as exc:  # a notification must never fail the run it is about
        log.warning("queueing the webhooks of %s failed: %s", summary.replication, exc)
        return 0


@app.task(
    name=TASK_DELIVER_WEBHOOK,
    bind=True,
    autoretry_for=(RetryDelivery,),
    max_retries=MAX_RETRIES,
    retry_backoff=True,
    retry_backoff_max=BACKOFF_MAX_S,
    retry_jitter=True,
    acks_late=True,
)
def deliver_webhook(self: Task, endpoint: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """POST `event` to `endpoint` (`url`, `secretRef`); RetryDelivery makes Celery try again later."""
    from workers import jobs  # jobs sends through this module: imported when a delivery runs

    ctx = jobs.context(app.settings, str(self.request.hostname or ""))
    try:
        credentials = delivery.read_credentials(ctx.controller, endpoint.get("secretRef"))
    except DrsyncerError as exc:
        metrics.WEBHOOK_DELIVERIES.labels("error").inc()
        log.warning(
            "webhook %s %s for %s: %s",
            event.get("type"),
            event.get("id"),
            delivery.shown(str(endpoint.get("url"))),
            exc,
        )
        return {"outcome": "error", "message": str(exc)}
    attempt = delivery.deliver(str(endpoint["url"]), event, credentials)
    if attempt.outcome is delivery.Outcome.RETRY and self.request.retries < MAX_RETRIES:
        metrics.WEBHOOK_DELIVERIES.labels("retry").inc()
        log.info("webhook %s %s: %s; trying again", event.get("type"), event.get("id"), attempt.message)
        raise RetryDelivery(attempt.message)
    outcome = "delivered" if attempt.outcome is delivery.Outcome.DELIVERED else "failed"
    metrics.WEBHOOK_DELIVERIES.labels(outcome).inc()
    if outcome == "failed":
        log.warning("webhook %s %s not delivered: %s", event.get("type"), event.get("id"), attempt.message)
    return {"outcome": outcome, "status": attempt.status, "message": attempt.message}
