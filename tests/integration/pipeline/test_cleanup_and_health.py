"""Deleting a Replication with cleanupOnDelete: Delete, and the RemoteCluster check task."""

from __future__ import annotations

import base64
import json
from typing import Any

import yaml

from tests.fixtures.remote_clusters import remote_cluster
from tests.integration.pipeline.conftest import CONFIGMAPS, NS, Pipeline, eventually


def test_deleting_a_replication_with_cleanup_removes_only_its_copies(pipe: Pipeline) -> None:
    pipe.seed("gone", 3)
    pipe.apply_replication("gone", sourceNamespace="gone", replicationMode="Manual", cleanupOnDelete="Delete")
    eventually(lambda: pipe.status("gone").get("phase") == "Pending", what="the watcher to see it")
    pipe.annotate("gone", {"dr-syncer.io/sync-now": "now"})
    eventually(lambda: pipe.status("gone").get("phase") == "Completed", timeout_s=60, what="the sync")
    for cluster in ("dr1", "dr2"):
        # an object made by hand in the destination namespace is not the Replication's
        pipe.sim(cluster).store.put(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "by-hand", "namespace": "gone"},
                "data": {},
            }
        )
    eventually(
        lambda: "dr-syncer.io/cleanup" in pipe.replication("gone")["metadata"].get("finalizers", []),
        what="the cleanup finalizer",
    )

    pipe.delete_replication("gone")
    pipe.created.remove("gone")
    for cluster in ("dr1", "dr2"):
        eventually(
            lambda c=cluster: set(pipe.configmaps(c, "gone")) == {"by-hand"},
            timeout_s=60,
            what=f"the copies in {cluster} to be deleted",
        )
    eventually(
        lambda: pipe.controller.get(pipe.resolve("replications.dr-syncer.io"), NS, "gone") is None,
        what="the Replication to go",
    )
    assert pipe.source.get(CONFIGMAPS, "gone", "cm-00000") is not None  # the source is never touched


def test_check_task_writes_remote_cluster_health_and_the_metric(pipe: Pipeline) -> None:
    pipe.sim("dr2").down()
    try:
        result = pipe.app.send_task("drsyncer.check_remote_cluster", args=[NS, "dr2"], queue="health")
        eventually(
            lambda: (pipe.remote_cluster("dr2").get("status") or {}).get("health") == "Unhealthy",
            what="dr2 Unhealthy",
        )
        # one value per cluster, the latest check's, from the watcher: not one per worker that checked
        eventually(lambda: _health_metric(pipe, "dr2") == [0.0], what="the health metric of dr2 at 0")
        for worker in ("worker-1", "worker-2"):
            assert not [n for n, _ in pipe.metrics(worker) if n == "dr_syncer_remote_cluster_healthy"]
    finally:
        pipe.sim("dr2").up()
    assert result.id
    pipe.app.send_task("drsyncer.check_remote_cluster", args=[NS, "dr2"], queue="health")
    eventually(
        lambda: (pipe.remote_cluster("dr2").get("status") or {}).get("health") == "Healthy",
        what="dr2 Healthy again",
    )
    # a status-only change, followed as the watcher sees it
    eventually(lambda: _health_metric(pipe, "dr2") == [1.0], what="the health metric of dr2 back at 1")
    # each change of health is an Event on the RemoteCluster: Warning when it went, Normal when back
    reasons = eventually(
        lambda: (
            r
            if {"ClusterUnhealthy", "ClusterHealthy"}
            <= set(r := [e["reason"] for e in _cluster_events(pipe, "dr2")])
            else None
        ),
        what="dr2's health Events",
    )
    assert reasons.count("ClusterUnhealthy") == 1 and reasons.count("ClusterHealthy") == 1, reasons
    (down,) = [e for e in _cluster_events(pipe, "dr2") if e["reason"] == "ClusterUnhealthy"]
    assert down["type"] == "Warning" and down["message"].startswith("Unhealthy (was ")
    assert "dr2" in down["message"] and "cannot connect" in down["message"]


def _cluster_events(pipe: Pipeline, name: str) -> list[dict[str, Any]]:
    return [e for e in pipe.events(name) if (e.get("involvedObject") or {}).get("kind") == "RemoteCluster"]


def _health_metric(pipe: Pipeline, cluster: str) -> list[float]:
    return [
        v
        for (n, ls), v in pipe.metrics("watcher").items()
        if n == "dr_syncer_remote_cluster_healthy" and ("cluster", f"{NS}/{cluster}") in ls
    ]


def test_deleting_a_replication_while_it_syncs_cleans_up_once_the_run_is_over(pipe: Pipeline) -> None:
    # the cleanup task finds the namespace locked by the run under way; it must wait for it, not drop
    pipe.seed("midway", 40)
    pipe.apply_replication(
        "midway", sourceNamespace="midway", replicationMode="Manual", cleanupOnDelete="Delete"
    )
    eventually(
        lambda: "dr-syncer.io/cleanup" in pipe.replication("midway")["metadata"].get("finalizers", []),
        what="the cleanup finalizer",
    )
    for cluster in ("dr1", "dr2"):
        pipe.sim(cluster).faults.set(latency_ms=100)  # a run of several seconds
    try:
        pipe.annotate("midway", {"dr-syncer.io/sync-now": "now"})
        eventually(lambda: pipe.configmaps("dr1", "midway"), what="the run's first copies")

        pipe.delete_replication("midway")
        pipe.created.remove("midway")
        eventually(
            lambda: pipe.controller.get(pipe.resolve("replications.dr-syncer.io"), NS, "midway") is None,
            what="the Replication to go",
        )
    finally:
        for cluster in ("dr1", "dr2"):
            pipe.sim(cluster).faults.clear()
    for cluster in ("dr1", "dr2"):
        eventually(
            lambda c=cluster: not pipe.configmaps(c, "midway"),
            timeout_s=90,
            what=f"the copies in {cluster} to be deleted after the run",
        )


def test_a_password_in_a_kubeconfig_server_url_stays_out_of_status_and_events(
    pipe: Pipeline,
) -> None:
    # the check's error quotes the URL it could not reach: the logs masked its password, but the
    # RemoteCluster's status and its Event did not (nor the task's result, which Flower shows)
    password = "leak-pass-4f9c1e"
    name = pipe.unique("leaky")
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": f"https://leak-user:{password}@127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {"token": "not-the-point"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "c",
    }
    pipe.controller.create(
        pipe.resolve("secrets"),
        NS,
        {
            "metadata": {"name": f"{name}-kubeconfig"},
            "data": {"kubeconfig": base64.b64encode(yaml.safe_dump(kubeconfig).encode()).decode()},
        },
    )
    pipe.controller.create(pipe.resolve("remoteclusters.dr-syncer.io"), NS, remote_cluster(name, NS))

    pipe.app.send_task("drsyncer.check_remote_cluster", args=[NS, name], queue="health")
    status = eventually(
        lambda: (
            s if (s := pipe.remote_cluster(name).get("status") or {}).get("health") == "Unhealthy" else None
        ),
        what=f"{name} Unhealthy",
    )
    assert "cannot connect to https://leak-user:***@127.0.0.1:1" in status["message"], status["message"]
    down = eventually(
        lambda: next((e for e in _cluster_events(pipe, name) if e["reason"] == "ClusterUnhealthy"), None),
        what=f"{name}'s ClusterUnhealthy Event",
    )
    assert "leak-user:***@" in down["message"]
    for shown in (json.dumps(pipe.remote_cluster(name)), json.dumps(_cluster_events(pipe, name))):
        assert password not in shown
