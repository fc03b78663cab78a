"""Sending a Replication's tasks now, outside the schedule: the sync-now annotation, Manual mode,
and the cleanup of a deleted Replication."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from celery import Celery

from drsyncer.task_contract import TASK_CLEANUP_NAMESPACE, TASK_SYNC_NAMESPACE, Trigger
from scheduler import metrics
from scheduler.entries import Job


def send_now(app: Celery, jobs: Iterable[Job], trigger: Trigger, request: str = "") -> list[str]:
    """One task per job, all with the same fresh run id (one run of the Replication); returns task ids.
    `request`: the sync-now annotation's value the run answers (its status reports it)."""
    run_id = uuid.uuid4().hex
    task = TASK_CLEANUP_NAMESPACE if trigger is Trigger.CLEANUP else TASK_SYNC_NAMESPACE
    sent = []
    for job in jobs:
        result = app.send_task(
            task, kwargs=job.task_kwargs(trigger, run_id, request), **job.task_options(trigger)
        )
        sent.append(str(result.id))
    if sent:  # one run, however many namespaces it sends
        metrics.TRIGGERED.labels(trigger.value).inc()
    return sent
