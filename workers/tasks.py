"""The tasks: each unpacks its keyword arguments and calls one function of `workers.jobs`.

Names and arguments are the contract with the watcher (docs/architecture.md); the watcher sends
them by name and never imports this module.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task

from drsyncer.api import keys
from drsyncer.task_contract import (
    PERIODIC_TRIGGERS,
    TASK_CHECK_REMOTE_CLUSTER,
    TASK_CLEANUP_NAMESPACE,
    TASK_SYNC_NAMESPACE,
    SyncJob,
)
from workers import failures, jobs
from workers.app import app
from workers.guards import Drop

log = logging.getLogger(__name__)

# a run someone asked for (sync-now, a change) and a deleted Replication's cleanup wait for a busy
# namespace; beat's next tick does not
BUSY_RETRY_S = 5
BUSY_RETRIES = 60


def _context(task: Task) -> jobs.Context:
    return jobs.context(app.settings, str(task.request.hostname or ""))


# a namespace that did not sync completely ends the task in FAILURE (workers/failures.py); `throws`
# keeps that from being logged as a crash, and nothing here uses Celery's retries for it
@app.task(name=TASK_SYNC_NAMESPACE, bind=True, max_retries=None, throws=failures.EXPECTED)
def sync_namespace(self: Task, **kwargs: Any) -> dict[str, Any]:
    job = SyncJob.from_kwargs(kwargs)
    outcome = jobs.run_sync(_context(self), job, str(self.request.id))
    if outcome.dropped is Drop.BUSY and job.trigger not in PERIODIC_TRIGGERS:
        raise self.retry(countdown=BUSY_RETRY_S, max_retries=BUSY_RETRIES)
    if outcome.retry is not None:
        # retryConfig's next attempt is a task of its own, so this attempt can end as the failure it is
        retried = job.retried(str(self.request.id), outcome.retry.attempt)
        self.apply_async(
            kwargs=retried.to_kwargs(), countdown=outcome.retry.delay_s, kwargsrepr=retried.kwargsrepr()
        )
    if outcome.failure is not None:
        raise outcome.failure
    return outcome.to_dict()


@app.task(name=TASK_CLEANUP_NAMESPACE, bind=True, throws=failures.EXPECTED)
def cleanup_namespace(self: Task, **kwargs: Any) -> dict[str, Any]:
    job = SyncJob.from_kwargs(kwargs)
    done = jobs.run_cleanup(_context(self), job, str(self.request.id))
    if done.get("dropped") == Drop.BUSY.value:
        # the Replication was deleted while a run of the namespace was under way: clean up once that
        # run is over, or its copies would stay behind with nothing left to clean them up
        if self.request.retries >= BUSY_RETRIES:
            log.warning(
                "cleanup of %s %s, %s: the namespace was still being synced after %d tries %d s apart; "
                "its copies stay in the destinations (delete them by their %s annotation)",
                job.replication.kind,
                job.replication.label,
                job.source_namespace,
                BUSY_RETRIES,
                BUSY_RETRY_S,
                keys.ANNOTATION_REPLICATION,
            )
            return done
        raise self.retry(countdown=BUSY_RETRY_S, max_retries=BUSY_RETRIES)
    return done


@app.task(name=TASK_CHECK_REMOTE_CLUSTER, bind=True, throws=failures.EXPECTED)
def check_remote_cluster(self: Task, namespace: str, name: str) -> dict[str, Any]:
    return jobs.run_check(_context(self), namespace, name, str(self.request.id))
