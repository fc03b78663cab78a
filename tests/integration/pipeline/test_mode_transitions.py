"""sync-now after every change of mode, with the watcher, beat and two workers running: a Replication
runs on request whatever modes it went through, and holds the request while paused.

A switch of mode is a merge patch of `replicationMode` alone, as `kubectl patch` makes it, so the
settings of the previous mode (`schedule`, `continuous`) stay in the spec.
"""

from __future__ import annotations

from typing import Any

from drsyncer.api import keys
from tests.integration.pipeline.conftest import Pipeline, eventually

NAME = "modes"
# a schedule that never comes due during the test, so every run seen here is a sync-now run
YEARLY = "0 0 1 1 *"
RECONCILES = "dr_syncer_watcher_reconciles_total"


def _patch_spec(pipe: Pipeline, spec: dict[str, Any]) -> None:
    pipe.controller.patch(pipe.resolve("replications.dr-syncer.io"), "dr-system", NAME, {"spec": spec})


def _sync_now_runs(pipe: Pipeline) -> int:
    """Runs started by sync-now: each counts once on the SyncStarted Event of its trigger (scheduled,
    background and change runs count on theirs)."""
    return sum(
        int(e.get("count") or 1)
        for e in pipe.events(NAME)
        if e.get("reason") == "SyncStarted" and "(sync-now)" in (e.get("message") or "")
    )


def _request_and_expect_a_run(pipe: Pipeline, runs: int, step: str) -> int:
    pipe.annotate(NAME, {keys.ANNOTATION_SYNC_NOW: step})
    eventually(lambda: _sync_now_runs(pipe) == runs + 1, timeout_s=30, what=f"a sync-now run after {step}")
    # the run's report names the request it answered (what `drsyncer sync-now --wait` waits for)
    eventually(
        lambda: pipe.status(NAME).get("lastSyncRequest") == step,
        timeout_s=30,
        what=f"the status to report the run asked for {step}",
    )
    annotations = pipe.replication(NAME)["metadata"].get("annotations") or {}
    assert keys.ANNOTATION_SYNC_NOW not in annotations, f"{step}: the annotation was not removed"
    return runs + 1


def _reconciles(pipe: Pipeline) -> float:
    return sum(v for (name, _), v in pipe.metrics("watcher").items() if name == RECONCILES)


def test_sync_now_runs_after_every_change_of_mode_and_waits_while_paused(pipe: Pipeline) -> None:
    pipe.seed("modes", 1)
    pipe.apply_replication(NAME, sourceNamespace="modes", schedule=YEARLY)
    eventually(
        lambda: pipe.condition(NAME, "InvalidSpec").get("status") == "False",
        what="the watcher to see the Replication",
    )
    runs = _request_and_expect_a_run(pipe, 0, "created Scheduled")

    for mode in ("Manual", "Scheduled", "Continuous", "Manual", "Continuous", "Scheduled", "Manual"):
        _patch_spec(pipe, {"replicationMode": mode})
        runs = _request_and_expect_a_run(pipe, runs, f"switched to {mode}")
        assert pipe.condition(NAME, "InvalidSpec").get("status") == "False"

    for mode in ("Manual", "Scheduled", "Continuous"):
        _patch_spec(pipe, {"replicationMode": mode, "paused": True})
        eventually(lambda: pipe.status(NAME).get("phase") == "Paused", what=f"{mode} paused")
        before = _reconciles(pipe)
        pipe.annotate(NAME, {keys.ANNOTATION_SYNC_NOW: f"paused {mode}"})
        # two reconciles after the annotation was written: the watcher has seen it at least once
        eventually(
            lambda b=before: _reconciles(pipe) >= b + 2,
            timeout_s=20,
            what="the watcher to reconcile the annotated Replication",
        )
        annotations = pipe.replication(NAME)["metadata"].get("annotations") or {}
        assert keys.ANNOTATION_SYNC_NOW in annotations, f"paused {mode}: the request was not kept"
        assert _sync_now_runs(pipe) == runs, f"paused {mode}: a run started"

        _patch_spec(pipe, {"paused": False})
        eventually(
            lambda r=runs: _sync_now_runs(pipe) == r + 1,
            timeout_s=30,
            what=f"the kept request to run once {mode} is unpaused",
        )
        runs += 1
        eventually(
            lambda: (
                keys.ANNOTATION_SYNC_NOW not in (pipe.replication(NAME)["metadata"].get("annotations") or {})
            ),
            what="the annotation to be removed",
        )
    assert runs == 11  # one after creation, seven switches of mode, three unpauses
