"""How a namespace sync that did not complete ends its Celery task: with an exception, so the task's
state is FAILURE in the result backend, in task events and in Flower, instead of SUCCESS.

The exception's class tells a run where nothing succeeded (`SyncFailed`) from one where some objects
or destinations did (`SyncPartiallyFailed`); its message starts with the error category and the
first error, as in status (`Retryable: destination cluster dr2: ...`). The task declares both as
expected (`throws`), so Celery records them without a traceback in the worker log and never retries
them: drsyncer's own `retryConfig` schedule sends the next attempt as a task of its own.
"""

from __future__ import annotations

from collections.abc import Sequence

from drsyncer.logs import redact
from drsyncer.status.replication import NamespaceRecord, RetryPlan
from drsyncer.sync.result import Phase, RunSummary, TargetResult, others_failed
from drsyncer.task_contract import SyncJob


class SyncFailed(Exception):
    """Nothing of the namespace reached its destinations in the intended state."""


class SyncPartiallyFailed(SyncFailed):
    """Some objects or destinations were synced, some failed."""


class CleanupFailed(Exception):
    """Copies of a deleted Replication could not be deleted from some destinations."""


class ControllerUnreachable(Exception):
    """The controller cluster (the Replication, the RemoteCluster) could not be read: nothing was
    synced or checked, and the next run or check tries again. Not a crash of the task: while the
    controller's API server is away every task ends so, and a traceback each would bury the log."""


EXPECTED = (SyncFailed, SyncPartiallyFailed, CleanupFailed, ControllerUnreachable)


def controller_unreachable(what: str, exc: Exception) -> ControllerUnreachable:
    """The exception that ends a task whose read of the controller cluster failed with `exc`; `what`
    names the task's object (`Replication dr-system/web, namespace shop`)."""
    return ControllerUnreachable(
        redact(f"{exc} ({what}: the controller cluster could not be read; the next run tries again)")
    )


def first_error(targets: Sequence[TargetResult]) -> str:
    """`Category: message` of the first failure of a namespace's targets ("" when none failed)."""
    for target in targets:
        if target.error:
            category = target.error_category.value if target.error_category else "Failed"
            return f"{category}: {target.error}"
        if target.errors:
            first = target.errors[0]
            where = f"in {target.destination_cluster}/{target.destination_namespace}"
            return f"{first} ({where}){others_failed(target.errors)}"
    return ""


def failure_of(job: SyncJob, record: NamespaceRecord, retry: RetryPlan | None) -> SyncFailed | None:
    """The exception that ends the task of a namespace sync that did not complete, or None."""
    summary = RunSummary(job.replication.label, record.targets)
    if summary.phase is Phase.COMPLETED:
        return None
    failed = [t for t in record.targets if t.phase is not Phase.COMPLETED]
    where = ", ".join(f"{t.destination_cluster}/{t.destination_namespace}" for t in failed)
    ref = job.replication
    message = (
        f"{first_error(record.targets)} ({ref.kind} {ref.label}, namespace {job.source_namespace}: "
        f"{len(failed)} of {len(record.targets)} target(s) not completed: {where}; "
        f"{summary.totals.failed} object(s) failed"
    )
    message += f"; retry {retry.attempt} in {retry.delay_s:g}s)" if retry is not None else ")"
    cls = SyncFailed if summary.phase is Phase.FAILED else SyncPartiallyFailed
    return cls(redact(message))  # Flower shows it: an error may quote a URL's password


def cleanup_failure(job: SyncJob, targets: Sequence[TargetResult]) -> CleanupFailed | None:
    """The exception that ends a cleanup task that left copies behind in some destination, or None."""
    failed = [t for t in targets if t.phase is not Phase.COMPLETED]
    if not failed:
        return None
    where = ", ".join(f"{t.destination_cluster}/{t.destination_namespace}" for t in failed)
    ref = job.replication
    return CleanupFailed(
        redact(
            f"{first_error(failed)} (cleanup of {ref.kind} {ref.label}, namespace "
            f"{job.source_namespace}: {len(failed)} of {len(targets)} target(s) not cleaned up: "
            f"{where})"
        )
    )
