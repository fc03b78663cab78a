"""Failures: a destination down, and a worker killed in the middle of a large namespace."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from drsyncer.task_contract import SYNC_QUEUE
from scheduler.entries import entry_name
from scheduler.store import ScheduleStore
from tests.integration.pipeline.conftest import Pipeline, eventually


def _target(status: dict[str, Any], cluster: str) -> dict[str, Any]:
    return next(t for t in status.get("targets", []) if t["cluster"] == cluster)


def test_destination_down_fails_its_targets_and_the_next_run_after_it_returns_succeeds(
    pipe: Pipeline,
) -> None:
    pipe.seed("outage", 4)
    pipe.sim("dr2").down()
    try:
        pipe.apply_replication("outage", sourceNamespace="outage", schedule="@every 10s")
        status = eventually(
            lambda: (s := pipe.status("outage")).get("phase") == "PartiallyFailed" and s,
            timeout_s=60,
            what="a run with dr2 down",
        )
    finally:
        pipe.sim("dr2").up()
    dr1, dr2 = _target(status, "dr1"), _target(status, "dr2")
    # the status may already be a later run's (a retry or the next tick, moments after the first) that
    # found dr1's copies in place; either count says dr1 has all four while dr2 is down
    dr1_stats = dr1["syncStats"]
    assert dr1["phase"] == "Completed" and dr1_stats.get("created", 0) + dr1_stats.get("unchanged", 0) == 4
    assert dr2["phase"] == "Failed"
    assert "dr2" in dr2["lastError"]["message"] and "connect" in dr2["lastError"]["message"]
    assert status["lastError"]["cluster"] == "dr2"
    assert {c["category"] for c in status["errorCategories"]} == {"Retryable"}
    assert pipe.condition("outage", "Synced")["status"] == "False"
    assert set(pipe.configmaps("dr1", "outage")) >= {f"cm-{i:05d}" for i in range(4)}
    assert "SyncFailed" in {e["reason"] for e in pipe.events("outage")}

    status = eventually(
        lambda: (s := pipe.status("outage")).get("phase") == "Completed" and s,
        timeout_s=60,
        what="the next run after dr2 came back",
    )
    # the run that copied to dr2 may already be followed by a scheduled one that found it unchanged
    # (a retry run and a tick can finish moments apart), so either count proves the copy happened
    dr2_stats = _target(status, "dr2")["syncStats"]
    assert dr2_stats.get("failed", 0) == 0
    assert dr2_stats.get("created", 0) + dr2_stats.get("unchanged", 0) == 4
    assert "lastError" not in status or status["lastError"] is None
    assert pipe.condition("outage", "Synced")["status"] == "True"
    assert set(pipe.configmaps("dr2", "outage")) >= {f"cm-{i:05d}" for i in range(4)}


def test_worker_killed_mid_sync_of_a_large_namespace_is_redelivered_and_completes(pipe: Pipeline) -> None:
    count = 2000
    pipe.seed("big", count, data_size=64)
    pipe.apply_replication("big", sourceNamespace="big", replicationMode="Manual")
    eventually(lambda: pipe.status("big").get("phase") == "Pending", what="the watcher to see it")
    for cluster in ("dr1", "dr2"):
        pipe.sim(cluster).faults.set(latency_ms=15)  # a window to kill the worker in
    try:
        _run_id, (task_id,) = pipe.send_sync("big", ["big"])
        hostname = str(eventually(lambda: pipe.running(task_id), what="the task to start")["hostname"])
        eventually(lambda: len(pipe.configmaps("dr1", "big")) >= 100, what="the first writes")
        victim = hostname.partition("@")[0]
        written_at_kill = len(pipe.configmaps("dr1", "big"))
        pipe.procs[victim].kill()
        assert written_at_kill < count, "the sync finished before the worker could be killed"
        status = eventually(
            lambda: (s := pipe.status("big")).get("phase") == "Completed" and s,
            timeout_s=120,
            what="the redelivered task to complete the run",
        )
    finally:
        for cluster in ("dr1", "dr2"):
            pipe.sim(cluster).faults.clear()

    record = pipe.run_records("big")["big"]
    # the redelivered task wrote the result, or (when something it met was Retryable) the retry it
    # sent: a task of its own whose run id names the task it retries
    assert record["task_id"] == task_id or record["run_id"].startswith(f"retry-{task_id}-"), record
    assert record["worker"] != hostname
    for cluster in ("dr1", "dr2"):
        copies = pipe.configmaps(cluster, "big")
        assert len(copies) == count
        assert copies["cm-01999"]["data"]["value"] == "1999".rjust(64, "x")
    totals = status["syncStats"]
    assert totals["failed"] == 0 and totals["total"] == 2 * count
    # what the killed worker wrote is found in step (or adopted), the rest created
    assert totals["created"] + totals["unchanged"] + totals["updated"] == 2 * count


def test_failed_sync_is_retried_per_retry_config_until_the_destination_is_back(pipe: Pipeline) -> None:
    pipe.seed("flaky", 3)
    pipe.apply_replication(
        "flaky",
        sourceNamespace="flaky",
        replicationMode="Manual",
        retryConfig={"maxRetries": 5, "initialBackoff": "1s", "maxBackoff": "2s"},
    )
    eventually(lambda: pipe.status("flaky").get("phase") == "Pending", what="the watcher to see it")
    pipe.sim("dr2").down()
    try:
        pipe.send_sync("flaky", ["flaky"])
        status = eventually(
            lambda: (s := pipe.status("flaky")).get("phase") == "PartiallyFailed" and s,
            timeout_s=60,
            what="the failed first attempt",
        )
        assert status["retryStatus"]["retriesRemaining"] >= 0 and status["retryStatus"]["nextRetryTime"]
    finally:
        pipe.sim("dr2").up()
    status = eventually(
        lambda: (s := pipe.status("flaky")).get("phase") == "Completed" and s,
        timeout_s=60,
        what="a retry to complete the sync without another trigger",
    )
    assert status.get("retryStatus") is None
    assert _target(status, "dr2")["phase"] == "Completed"
    assert set(pipe.configmaps("dr2", "flaky")) >= {"cm-00000", "cm-00001", "cm-00002"}
    assert pipe.run_records("flaky")["flaky"]["trigger"] == "retry"


def _queued_runs(pipe: Pipeline, name: str) -> list[str]:
    """Source namespaces of Replication `name`'s sync tasks waiting in the `sync` queue."""
    out = []
    for raw in pipe.redis().lrange(SYNC_QUEUE, 0, -1):
        _args, kwargs, _embed = json.loads(base64.b64decode(json.loads(raw)["body"]))
        if kwargs["replication"]["name"] == name:
            out.append(kwargs["source_namespace"])
    return sorted(out)


def _slots_passed(pipe: Pipeline, name: str, source_namespace: str) -> int:
    """How many of the entry's slots beat has passed (sent, or held back), from its stored state."""
    store = ScheduleStore(pipe.app, pipe.ns)
    meta = pipe.redis().hget(store.key(entry_name("Replication", pipe.ns, name, source_namespace)), "meta")
    return int(json.loads(meta).get("total_run_count") or 0) if meta else 0


def test_while_no_worker_runs_the_queue_holds_one_scheduled_run_per_entry_and_each_runs_once_back(
    pipe: Pipeline,
) -> None:
    for namespace in ("backlog-a", "backlog-b"):
        pipe.seed(namespace, 2)
    for proc in ("worker-1", "worker-2"):
        pipe.procs[proc].stop()
    pipe.apply_replication(
        "backlog",
        namespaceMappings=[{"source": "backlog-a"}, {"source": "backlog-b"}],
        schedule="@every 2s",
    )
    # four slots of each entry pass with no worker: one run of each waits, not four
    eventually(
        lambda: min(_slots_passed(pipe, "backlog", ns) for ns in ("backlog-a", "backlog-b")) >= 4,
        timeout_s=60,
        what="four slots of each entry",
    )
    assert _queued_runs(pipe, "backlog") == ["backlog-a", "backlog-b"]
    assert "still waits in the queue" in pipe.procs["beat"].tail(400)

    for proc in ("worker-1", "worker-2"):
        pipe.start_worker(proc)
    pipe.wait_workers_ready()
    first = eventually(
        lambda: (s := pipe.status("backlog")).get("phase") == "Completed" and s, timeout_s=60, what="a run"
    )
    assert set(pipe.configmaps("dr1", "backlog-b")) >= {"cm-00000", "cm-00001"}
    # and the entries run on their schedule again: a later run
    eventually(
        lambda: pipe.status("backlog").get("lastSyncTime", "") > first["lastSyncTime"],
        timeout_s=60,
        what="a scheduled run after the backlog",
    )


def test_a_task_that_cannot_read_the_controller_ends_in_one_line_not_a_traceback(pipe: Pipeline) -> None:
    # while the controller's API server is away every task ends so: a traceback each buried the log
    if pipe.backend != "sim":
        pytest.skip("simulator only: takes the controller down and up again")
    pipe.seed("unreached", 2)
    pipe.apply_replication("unreached", sourceNamespace="unreached", schedule="@every 2s")
    eventually(lambda: pipe.status("unreached").get("phase") == "Completed", what="a first run")
    logs = [pipe.procs[w].log_path for w in ("worker-1", "worker-2")]
    sizes = [path.stat().st_size for path in logs]

    def since() -> str:
        return "".join(
            path.read_bytes()[size:].decode(errors="replace") for path, size in zip(logs, sizes, strict=True)
        )

    pipe.sim("controller").down()
    try:
        eventually(
            lambda: "raised expected: ControllerUnreachable" in since(),
            timeout_s=30,
            what="a task ending for want of the controller",
        )
    finally:
        pipe.sim("controller").up()
    text = since()
    assert "raised unexpected" not in text and "Traceback" not in text, text[-3000:]
    assert "the controller cluster could not be read; the next run tries again" in text
    last = pipe.status("unreached").get("lastSyncTime")
    eventually(
        lambda: pipe.status("unreached").get("lastSyncTime") != last,
        timeout_s=60,
        what="a run once the controller is back",
    )
