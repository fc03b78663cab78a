"""A namespace sync that did not complete is a failed Celery task: Flower's API (a real `drsyncer
flower` process reading the workers' task events) shows it as FAILURE with the error, tells a partial
failure from a total one, keeps drsyncer's own retry, and shows readable arguments without secrets."""

from __future__ import annotations

import ast
import base64
import json
from typing import Any

import pytest

from tests.integration.pipeline.conftest import NS, SECRETS, Pipeline, eventually


@pytest.fixture(scope="module")
def flower(pipeline: Pipeline) -> None:
    """Flower for the rest of the module: it shows the tasks whose task events it received (workers
    store no results)."""
    pipeline.start_flower()


def _task_events(pubsub: Any) -> list[str]:
    """The routing keys of the task events published since the last call (`task.received` ..., or
    `task.multi` for a batch of them)."""
    seen = []
    while (message := pubsub.get_message(timeout=0.2)) is not None:
        if message["type"] == "pmessage":
            seen.append(message["channel"].decode().rpartition("/")[2])
    return seen


def test_workers_send_task_events_only_once_flower_asks_for_them(
    pipe: Pipeline, request: pytest.FixtureRequest
) -> None:
    if "flower" in pipe.procs:
        pytest.skip("Flower already asked this module's workers for task events")
    pipe.seed("quiet", 1)
    pipe.apply_replication("quiet", sourceNamespace="quiet", replicationMode="Manual")
    eventually(lambda: pipe.status("quiet").get("phase") == "Pending", what="the watcher to see it")
    pubsub = pipe.redis().pubsub()
    pubsub.psubscribe("*celeryev/task.*")  # kombu's fanout channel of each task event
    _task_events(pubsub)
    _run_id, (unwatched,) = pipe.send_sync("quiet", ["quiet"])
    eventually(
        lambda: unwatched in {r["task_id"] for r in pipe.run_records("quiet").values()}, what="the run"
    )
    assert _task_events(pubsub) == []  # nobody watches: no task events

    request.getfixturevalue("flower")  # asks the running workers as it starts
    # Flower's answer on HTTP comes before its event receiver subscribes, and the workers turn task
    # events on when the broadcast reaches them: a task sent in between runs unseen. So tasks are
    # sent until one is shown, each given a few seconds
    sent: list[str] = []

    def one_shown() -> dict[str, Any] | None:
        _run_id, (task_id,) = pipe.send_sync("quiet", ["quiet"])
        sent.append(task_id)
        try:
            return eventually(
                lambda: (t := pipe.flower_tasks().get(task_id)) and t["state"] == "SUCCESS" and t,
                timeout_s=8,
                what="Flower to show the task done",
            )
        except pytest.fail.Exception:
            return None

    shown = eventually(one_shown, timeout_s=60, what="Flower to show a task sent after it started")
    assert shown["uuid"] in sent and shown["worker"]
    assert unwatched not in pipe.flower_tasks()
    assert _task_events(pubsub)  # sent now (a worker's main process sends them in batches: `task.multi`)
    pubsub.close()


def _tasks_of(pipe: Pipeline, replication: str, **params: str) -> list[dict[str, Any]]:
    return pipe.flower_tasks_of("drsyncer.sync_namespace", replication, **params)


def _finished(pipe: Pipeline, replication: str, count: int) -> list[dict[str, Any]] | None:
    tasks = [t for t in _tasks_of(pipe, replication) if t["state"] in ("SUCCESS", "FAILURE")]
    return tasks if len(tasks) >= count else None


@pytest.mark.usefixtures("flower")
def test_flower_shows_failed_and_partially_failed_syncs_as_failures_and_keeps_the_retry(
    pipe: Pipeline,
) -> None:
    pipe.seed("shown", 3)
    pipe.apply_replication(
        "shown",
        sourceNamespace="shown",
        replicationMode="Manual",
        retryConfig={"maxRetries": 1, "initialBackoff": "1s", "maxBackoff": "1s"},
    )
    eventually(lambda: pipe.status("shown").get("phase") == "Pending", what="the watcher to see it")

    # dr2 away: dr1 gets its copies, dr2 does not; retryConfig tries once more, dr2 still away
    pipe.sim("dr2").down()
    try:
        pipe.annotate("shown", {"dr-syncer.io/sync-now": "1"})
        first, retried = eventually(
            lambda: _finished(pipe, "shown", 2),
            timeout_s=60,
            what="the run and its retry to finish in Flower",
        )
    finally:
        pipe.sim("dr2").up()
    for task in (first, retried):
        assert task["state"] == "FAILURE", task
        assert task["exception"].startswith("SyncPartiallyFailed(")
        assert "Retryable: destination cluster dr2" in task["exception"]
    # the first attempt says a retry follows; the retry, the last allowed, does not
    assert "; retry 1 in 1s)" in first["exception"] and "; retry" not in retried["exception"]
    # the arguments read as what the task does, not as the task contract's dict
    assert first["kwargs"] == repr(
        {
            "replication": f"{NS}/shown",
            "source": "source/shown",
            "destinations": "dr1/shown, dr2/shown",
            "trigger": "sync-now",
        }
    )
    assert "'trigger': 'retry'" in retried["kwargs"] and "'attempt': 1" in retried["kwargs"]
    failed_ids = {t["uuid"] for t in _tasks_of(pipe, "shown", state="FAILURE")}
    assert {first["uuid"], retried["uuid"]} <= failed_ids  # Flower's "Failed" filter lists them
    assert pipe.status("shown")["phase"] == "PartiallyFailed"

    # both destinations away: nothing synced at all
    pipe.sim("dr1").down()
    pipe.sim("dr2").down()
    try:
        pipe.annotate("shown", {"dr-syncer.io/sync-now": "2"})
        failed = eventually(
            lambda: _finished(pipe, "shown", 4),
            timeout_s=60,
            what="the run with both destinations down, and its retry",
        )[2]
    finally:
        pipe.sim("dr1").up()
        pipe.sim("dr2").up()
    assert failed["state"] == "FAILURE" and failed["exception"].startswith("SyncFailed(")
    assert "2 of 2 target(s) not completed" in failed["exception"]

    # with both back the next run succeeds and Flower says so
    pipe.annotate("shown", {"dr-syncer.io/sync-now": "3"})
    done = eventually(
        lambda: (t := _finished(pipe, "shown", 5)) and t[-1]["state"] == "SUCCESS" and t[-1],
        timeout_s=60,
        what="a successful run",
    )
    assert ast.literal_eval(done["result"])["phase"] == "Completed"  # Flower holds the result's repr

    # the worker said what failed, at WARNING, with the error text
    logs = pipe.procs["worker-1"].tail(2000) + pipe.procs["worker-2"].tail(2000)
    assert any(
        "WARNING" in line and "SyncPartiallyFailed" in line and "destination cluster dr2" in line
        for line in logs.splitlines()
    ), logs[-3000:]
    # no secret material anywhere in what Flower holds about these tasks
    shown = json.dumps(_tasks_of(pipe, "shown"))
    for secret in pipe.controller.list(SECRETS, NS):
        for value in (secret.get("data") or {}).values():
            assert value not in shown and base64.b64decode(value).decode() not in shown


@pytest.mark.usefixtures("flower")
def test_a_cleanup_that_cannot_reach_a_destination_ends_its_task_in_failure(pipe: Pipeline) -> None:
    pipe.seed("leftover", 2)
    pipe.apply_replication(
        "leftover", sourceNamespace="leftover", replicationMode="Manual", cleanupOnDelete="Delete"
    )
    eventually(lambda: pipe.status("leftover").get("phase") == "Pending", what="the watcher to see it")
    pipe.annotate("leftover", {"dr-syncer.io/sync-now": "now"})
    eventually(lambda: pipe.status("leftover").get("phase") == "Completed", timeout_s=60, what="the sync")
    eventually(
        lambda: "dr-syncer.io/cleanup" in pipe.replication("leftover")["metadata"].get("finalizers", []),
        what="the cleanup finalizer",
    )

    def failed_cleanup() -> dict[str, Any] | None:
        tasks = pipe.flower_tasks_of("drsyncer.cleanup_namespace", "leftover", state="FAILURE")
        return tasks[0] if tasks else None

    pipe.sim("dr2").down()
    try:
        pipe.delete_replication("leftover")
        pipe.created.remove("leftover")
        meta = eventually(failed_cleanup, timeout_s=90, what="the cleanup task to fail")
    finally:
        pipe.sim("dr2").up()
    assert meta["exception"].startswith("CleanupFailed(")
    message = str(meta["exception"])
    assert "destination cluster dr2" in message and "1 of 2 target(s) not cleaned up: dr2/leftover" in message
    # dr1 was cleaned up all the same
    assert set(pipe.configmaps("dr1", "leftover")) == set()


@pytest.mark.usefixtures("flower")
def test_tasks_leave_no_result_in_redis_and_flower_still_shows_their_outcome(pipe: Pipeline) -> None:
    pipe.seed("noresult", 2)
    pipe.apply_replication("noresult", sourceNamespace="noresult", replicationMode="Manual")
    eventually(lambda: pipe.status("noresult").get("phase") == "Pending", what="the watcher to see it")
    _run_id, (task_id,) = pipe.send_sync("noresult", ["noresult"])
    shown = eventually(
        lambda: (t := pipe.flower_tasks().get(task_id)) and t["state"] == "SUCCESS" and t,
        timeout_s=60,
        what="Flower to show the task done",
    )
    assert ast.literal_eval(shown["result"])["phase"] == "Completed"
    assert pipe.status("noresult")["phase"] == "Completed"
    client = pipe.redis()
    assert client.get(f"celery-task-meta-{task_id}") is None
    # nor did any task of this module, failed ones included, leave one
    assert list(client.scan_iter(match="celery-task-meta-*", count=1000)) == []
