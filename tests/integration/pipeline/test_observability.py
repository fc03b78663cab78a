"""What operators see: worker metrics that add up to the status, Flower behind basic auth, probes."""

from __future__ import annotations

import json
import re
from collections import Counter

import requests

from drsyncer.kube import client_from_kubeconfig
from tests.fixtures.probes import run_probe
from tests.integration.pipeline.conftest import FLOWER_AUTH, NS, Pipeline, eventually

OUTCOMES = ("created", "updated", "unchanged", "pruned", "skipped", "failed")


def _objects(pipe: Pipeline) -> Counter[str]:
    """dr_syncer_objects_total by outcome, summed over both workers and every cluster and kind."""
    out: Counter[str] = Counter()
    for worker in ("worker-1", "worker-2"):
        for (name, labels), value in pipe.metrics(worker).items():
            if name == "dr_syncer_objects_total":
                out[dict(labels)["outcome"]] += int(value)
    return out


def _sample(pipe: Pipeline, worker: str, name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(v for (n, ls), v in pipe.metrics(worker).items() if n == name and wanted <= set(ls))


def test_worker_metrics_add_up_to_the_run_in_status_and_flower_lists_its_tasks(pipe: Pipeline) -> None:
    pipe.start_flower()
    pipe.seed("metered-a", 7)
    pipe.seed("metered-b", 5)
    pipe.apply_replication(
        "metered",
        namespaceMappings=[{"source": "metered-a"}, {"source": "metered-b"}],
        replicationMode="Manual",
    )
    eventually(lambda: pipe.status("metered").get("phase") == "Pending", what="the watcher to see it")
    before = _objects(pipe)
    _run_id, task_ids = pipe.send_sync("metered", ["metered-a", "metered-b"])
    status = eventually(
        lambda: (s := pipe.status("metered")).get("phase") == "Completed" and s,
        timeout_s=60,
        what="the run to complete",
    )
    after = eventually(
        lambda: (a := _objects(pipe)) and a["created"] - before["created"] >= 24 and a,
        what="the metrics to show the run",
    )
    for outcome in OUTCOMES:
        assert after[outcome] - before[outcome] == status["syncStats"][outcome], outcome
    label = f"{NS}/metered"
    workers = ("worker-1", "worker-2")
    assert (
        sum(
            _sample(pipe, w, "dr_syncer_sync_runs_total", replication=label, phase="Completed")
            for w in workers
        )
        == 1
    )
    assert (
        sum(_sample(pipe, w, "dr_syncer_sync_duration_seconds_count", replication=label) for w in workers)
        == 2
    )
    assert (
        max(_sample(pipe, w, "dr_syncer_last_success_timestamp_seconds", replication=label) for w in workers)
        > 0
    )
    assert sum(_sample(pipe, w, "dr_syncer_api_requests_total", cluster="dr1") for w in workers) > 0
    assert ("dr_syncer_tasks_queued", frozenset({("queue", "sync")})) in pipe.metrics("worker-1")

    flower = f"http://127.0.0.1:{pipe.flower_port}"
    assert requests.get(f"{flower}/api/tasks", timeout=5).status_code == 401
    assert requests.get(f"{flower}/api/tasks", auth=("ops", "wrong"), timeout=5).status_code == 401
    tasks = eventually(
        lambda: (
            (r := requests.get(f"{flower}/api/tasks", auth=FLOWER_AUTH, timeout=5).json())
            and set(task_ids) <= set(r)
            and r
        ),
        what="Flower to list the run's tasks",
    )
    assert {tasks[t]["name"] for t in task_ids} == {"drsyncer.sync_namespace"}
    assert {tasks[t]["state"] for t in task_ids} == {"SUCCESS"}
    assert FLOWER_AUTH[1] not in pipe.procs["flower"].tail(500)


def test_probes_read_the_heartbeat_files_of_worker_and_beat(pipe: Pipeline) -> None:
    for role, name in (("worker", "worker-1"), ("beat", "beat")):
        path = pipe.workdir / f"{name}.heartbeat"
        eventually(path.exists, what=f"the {role} heartbeat file")
        ok = run_probe(role, path, max_age_s=30)
        assert ok.returncode == 0, ok.stderr
    missing = run_probe("worker", pipe.workdir / "nothing.heartbeat")
    assert missing.returncode == 1 and "does not exist" in missing.stderr


def test_each_worker_process_reads_a_clusters_discovery_once_however_many_tasks_it_runs(
    pipe: Pipeline,
) -> None:
    dr1 = pipe.sim("dr1")
    # one discovery walk of dr1, as a fresh client does it
    walk = dr1.discovery_requests()
    fresh = client_from_kubeconfig(pipe.clusters["dr1"].kubeconfig_dict(), name="dr1")
    fresh.discovery.served()
    fresh.close()
    walk = dr1.discovery_requests() - walk
    assert walk > 1
    namespaces = [f"disco-{i}" for i in range(6)]
    for ns in namespaces:
        pipe.seed(ns, 2)
    pipe.apply_replication(
        "disco", namespaceMappings=[{"source": ns} for ns in namespaces], replicationMode="Manual"
    )
    eventually(lambda: pipe.status("disco").get("phase") == "Pending", what="the watcher to see it")
    before = dr1.discovery_requests()
    for run in range(3):
        pipe.send_sync("disco", namespaces, run_id=f"disco-run-{run}")
        eventually(
            lambda r=run: (
                pipe.run_records("disco")
                and all(rec.get("run_id") == f"disco-run-{r}" for rec in pipe.run_records("disco").values())
                and len(pipe.run_records("disco")) == len(namespaces)
            ),
            timeout_s=60,
            what=f"run {run} to finish every namespace",
        )
    # 18 tasks on 2 workers of 2 pool processes: at most one walk per process, not one per task
    assert dr1.discovery_requests() - before <= 4 * walk


def test_each_pool_process_gets_its_remote_cluster_clients_ready_as_it_starts(pipe: Pipeline) -> None:
    pipe.wait_workers_ready("worker-1")
    log = pipe.procs["worker-1"].log_path

    def ready() -> list[str] | None:
        lines = re.findall(r"pool process \d+ ready in \d+ ms: [^\n]*", log.read_text())
        return lines if len(lines) >= 2 else None  # DRSYNCER_CONCURRENCY=2

    lines = eventually(ready, what="worker-1's pool processes to say they are ready")
    # source, dr1 and dr2 (the pipeline's RemoteClusters), two destinations' write threads (twice
    # DRSYNCER_WRITE_CONCURRENCY, 16) and their two steps' threads, nothing left to a first task
    for line in lines:
        assert "3 RemoteCluster clients" in line, line
        assert "32 write threads, 4 destination threads, 0 left to their first task" in line, line
        # the worker froze its heap before the fork and the process what its warm start built, so
        # no full garbage collection walks (and copies) them again (workers/warm_start.freeze_heap)
        frozen = re.search(r"objects frozen: (\d+) at the fork, (\d+) after the warm start", line)
        assert frozen is not None, line
        assert int(frozen[1]) > 50_000 and int(frozen[2]) > 0, line


def test_a_started_worker_serves_each_clusters_request_and_429_counters_from_0(pipe: Pipeline) -> None:
    # a counter that first appears at 1 loses that increase to rate() and to the 429 alert
    proc = pipe.start_worker("worker-3")
    try:
        pipe.wait_workers_ready("worker-3")
        throttled = eventually(
            lambda: (
                {
                    dict(labels)["cluster"]: value
                    for (name, labels), value in pipe.metrics("worker-3").items()
                    if name == "dr_syncer_api_throttled_total"
                }
                or None
            ),
            what="worker-3's pool processes to get ready",
        )
        assert {"controller", "source", "dr1", "dr2"} <= set(throttled), throttled
        assert all(value == 0 for value in throttled.values()), throttled
        requests_sent = {
            dict(labels)["cluster"]
            for (name, labels), _ in pipe.metrics("worker-3").items()
            if name == "dr_syncer_api_requests_total"
        }
        assert {"controller", "source", "dr1", "dr2"} <= requests_sent
    finally:
        proc.stop()
        pipe.procs.pop("worker-3", None)


def test_a_pool_process_file_not_yet_sized_costs_no_scrape(pipe: Pipeline) -> None:
    # a pool process's metrics file exists empty for a moment before it is sized; one killed then
    # leaves it so for good. A scrape reading it failed whole (500: every metric of every process
    # lost), as a worker that had just started its pool did now and then.
    empty = pipe.workdir / "worker-1-metrics" / "counter_4194303.db"  # a pid no process has here
    empty.touch()
    try:
        response = requests.get(f"http://127.0.0.1:{pipe.metrics_ports['worker-1']}/metrics", timeout=5)
        assert response.status_code == 200, response.text[:300]
        # every process's series are there (the controller's request counter, from 0 at the start)
        served = pipe.metrics("worker-1")
        assert any(
            name == "dr_syncer_api_requests_total" and dict(labels).get("cluster") == "controller"
            for name, labels in served
        ), sorted({name for name, _ in served})
    finally:
        empty.unlink()


def test_the_audit_log_names_the_worker_for_a_remote_cluster_check_s_status_write(pipe: Pipeline) -> None:
    # the watcher asks for a check of every RemoteCluster every 2 s here; each writes its status
    def audited() -> list[dict]:
        lines = []
        for worker in ("worker-1", "worker-2"):
            for line in pipe.procs[worker].log_path.read_text(errors="replace").splitlines():
                if "drsyncer.audit: {" in line and "remoteclusters.dr-syncer.io" in line:
                    lines.append(json.loads(line.split("drsyncer.audit: ", 1)[1]))
        return lines

    writes = eventually(lambda: audited() or None, timeout_s=30, what="a RemoteCluster status write audited")
    assert all(w["actor"]["component"] == "worker" and w["actor"]["task"] for w in writes), writes[:3]
