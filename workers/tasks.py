"""The tasks: each unpacks its keyword arguments and calls one function of `workers.jobs`.

Names and arguments are the contract with the watcher (docs/architecture.md); the watcher sends
them by name and never imports this module.
"""

from __future__ import annotations

from typing import Any

from celery import Task

from workers import jobs
from workers.app import TASK_CHECK_REMOTE_CLUSTER, TASK_CLEANUP_NAMESPACE, TASK_SYNC_NAMESPACE, app
from workers.guards import Drop

# a run someone asked for (sync-now, a change) waits for a busy namespace; beat's next tick does not
BUSY_RETRY_S = 5
BUSY_RETRIES = 60


def _context(task: Task) -> jobs.Context:
    return jobs.context(app.settings, str(task.request.hostname or ""))


# max_retries None: the retries of a failed sync are counted by retryConfig, not by Celery
@app.task(name=TASK_SYNC_NAMESPACE, bind=True, max_retries=None)
def sync_namespace(self: Task, **kwargs: Any) -> dict[str, Any]:
    job = jobs.SyncJob.from_kwargs(kwargs)
    outcome = jobs.run_sync(_context(self), job, str(self.request.id))
    if outcome.dropped is Drop.BUSY and job.trigger not in jobs.PERIODIC_TRIGGERS:
        raise self.retry(countdown=BUSY_RETRY_S, max_retries=BUSY_RETRIES)
    if outcome.retry is not None:
        # retryConfig counts the attempts (`attempt`), not Celery's retry counter
        raise self.retry(kwargs=job.retried(str(self.request.id), outcome.retry),
                         countdown=outcome.retry.delay_s, max_retries=None)
    return outcome.to_dict()


@app.task(name=TASK_CLEANUP_NAMESPACE, bind=True)
def cleanup_namespace(self: Task, **kwargs: Any) -> dict[str, Any]:
    job = jobs.SyncJob.from_kwargs(kwargs)
    return jobs.run_cleanup(_context(self), job, str(self.request.id))


@app.task(name=TASK_CHECK_REMOTE_CLUSTER, bind=True)
def check_remote_cluster(self: Task, namespace: str, name: str) -> dict[str, Any]:
    return jobs.run_check(_context(self), namespace, name)
