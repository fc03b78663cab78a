"""Runs sent outside the schedule: one task per namespace, one run counted."""

from __future__ import annotations

from celery import Celery
from prometheus_client import REGISTRY

from drsyncer.task_contract import ReplicationRef, Target, Trigger
from scheduler.entries import Job
from scheduler.trigger import send_now


def _triggered(trigger: Trigger) -> float:
    value = REGISTRY.get_sample_value("dr_syncer_watcher_triggered_runs_total", {"trigger": trigger.value})
    return value or 0.0


def test_a_sync_now_of_three_namespaces_is_three_tasks_of_one_run_and_counts_one_run() -> None:
    app = Celery("trigger-test", broker="memory://")
    ref = ReplicationRef("Replication", "dr-system", "shop", "uid-1", 1)
    jobs = [Job(ref, "source", ns, (Target("dr1", ns),), "Manual", None) for ns in ("a", "b", "c")]
    before = _triggered(Trigger.SYNC_NOW)

    sent = send_now(app, jobs, Trigger.SYNC_NOW)

    assert len(sent) == 3
    assert _triggered(Trigger.SYNC_NOW) - before == 1
    assert send_now(app, [], Trigger.SYNC_NOW) == []
    assert _triggered(Trigger.SYNC_NOW) - before == 1
