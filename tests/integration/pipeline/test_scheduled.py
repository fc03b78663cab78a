"""A scheduled Replication through the whole pipeline: watcher → redbeat → beat → workers → status."""

from __future__ import annotations

import base64
import json
from typing import Any

from drsyncer.api import keys
from tests.integration.pipeline.conftest import Pipeline, eventually

SECRET_VALUE = "s3cr3t-db-password"


def test_scheduled_replication_copies_to_both_destinations_and_reports_completed(pipe: Pipeline) -> None:
    pipe.seed("web", 5)
    pipe.source.create(pipe.resolve("deployments"), "web", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api", "namespace": "web"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "api"}},
                 "template": {"metadata": {"labels": {"app": "api"}},
                              "spec": {"containers": [{"name": "api", "image": "nginx"}]}}}})
    pipe.sim("source").store.put({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                                  "metadata": {"name": "db", "namespace": "web"},
                                  "data": {"password": base64.b64encode(SECRET_VALUE.encode()).decode()}})
    pipe.apply_replication("web", sourceNamespace="web", schedule="@every 10s")

    status = eventually(lambda: (s := pipe.status("web")).get("phase") == "Completed" and s, timeout_s=60,
                        what="phase Completed")
    for cluster in ("dr1", "dr2"):
        copies = pipe.configmaps(cluster, "web")
        assert {f"cm-{i:05d}" for i in range(5)} <= set(copies)
        assert copies["cm-00000"]["metadata"]["annotations"][keys.ANNOTATION_REPLICATION] == "dr-system/web"
        store = pipe.sim(cluster).store
        deployment = store.find(store.resource_for("apps/v1", "Deployment"), "web", "api")
        assert deployment is not None and deployment["spec"]["replicas"] == 0  # scaled to zero in DR
    assert status["lastSyncTime"] and status["nextSyncTime"] and status["lastSuccessfulSyncTime"]
    assert status["observedGeneration"] == 1
    stats = status["syncStats"]
    assert stats["failed"] == 0
    assert stats["total"] == sum(stats[k] for k in ("created", "updated", "unchanged", "skipped", "pruned"))
    assert stats["total"] >= 12  # 5 ConfigMaps and a Deployment, into two destinations
    targets = {(t["cluster"], t["sourceNamespace"], t["destinationNamespace"]): t for t in status["targets"]}
    assert set(targets) == {("dr1", "web", "web"), ("dr2", "web", "web")}
    assert all(t["phase"] == "Completed" for t in targets.values())
    assert status["deploymentScales"][0]["originalReplicas"] == 3
    synced = pipe.condition("web", "Synced")
    assert synced["status"] == "True" and synced["reason"] == "SyncCompleted"
    assert pipe.condition("web", "InvalidSpec")["status"] == "False"  # the watcher's condition is kept

    for name in ("source", "dr1", "dr2"):
        eventually(lambda n=name: (pipe.remote_cluster(n).get("status") or {}).get("health") == "Healthy",
                   what=f"RemoteCluster {name} Healthy")
    reasons = {e["reason"] for e in pipe.events("web")}
    assert {"SyncStarted", "SyncCompleted"} <= reasons
    assert pipe.sim("dr1").store.find(pipe.sim("dr1").store.resource_for("v1", "Secret"), "web", "db")
    # the Secret was copied, and its data appears nowhere else
    logs = "".join(proc.log_path.read_text(errors="replace") for proc in pipe.procs.values())
    seen = json.dumps([status, pipe.events("web"), pipe.run_records("web")]) + logs
    for text in (SECRET_VALUE, base64.b64encode(SECRET_VALUE.encode()).decode()):
        assert text not in seen

    # the next tick finds everything in step: the second run writes nothing
    first = status["lastSyncTime"]
    writes = pipe.sim("dr1").writes()
    again = eventually(lambda: (s := pipe.status("web")).get("lastSyncTime") != first and s, timeout_s=40,
                       what="a second scheduled run")
    assert again["phase"] == "Completed" and again["syncStats"]["created"] == 0
    assert again["syncStats"]["unchanged"] == stats["created"]
    assert pipe.sim("dr1").writes() == writes


def test_legacy_namespace_mapping_is_synced_and_its_own_status_written(pipe: Pipeline) -> None:
    pipe.seed("legacy", 2)
    mappings = pipe.resolve("namespacemappings.dr-syncer.io")
    pipe.controller.create(mappings, "dr-system", {
        "apiVersion": "dr-syncer.io/v1alpha1", "kind": "NamespaceMapping",
        "metadata": {"name": "legacy", "namespace": "dr-system"},
        "spec": {"sourceCluster": "source", "destinationCluster": "dr1", "sourceNamespace": "legacy",
                 "destinationNamespace": "legacy-dr", "schedule": "@every 10s"}})
    try:
        def completed() -> dict[str, Any] | None:
            status = (pipe.controller.get(mappings, "dr-system", "legacy") or {}).get("status") or {}
            return status if status.get("phase") == "Completed" else None

        status = eventually(completed, timeout_s=60, what="the NamespaceMapping's status Completed")
        assert status["syncStats"]["created"] == 2
        targets = [(t["cluster"], t["destinationNamespace"]) for t in status["targets"]]
        assert targets == [("dr1", "legacy-dr")]
        assert set(pipe.configmaps("dr1", "legacy-dr")) >= {"cm-00000", "cm-00001"}
    finally:
        pipe.controller.delete(mappings, "dr-system", "legacy")
