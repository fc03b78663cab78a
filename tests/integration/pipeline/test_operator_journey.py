"""The operator's journey through the whole pipeline, on simulated clusters and on real control planes:
a scheduled Replication (watcher → redbeat → beat → workers → status and Events), a legacy
NamespaceMapping, `drsyncer sync-now --wait`, and the watcher's leader election on a Lease."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from drsyncer.api import keys
from tests.fixtures.polling import builtin_ref
from tests.integration.pipeline.conftest import (
    SECRETS,
    Pipeline,
    eventually,
    on_both_backends,  # noqa: F401 (the pipeline on both)
)

SECRET_VALUE = "s3cr3t-db-password"
DEPLOYMENTS = builtin_ref("deployments")
LEASES = builtin_ref("leases")


def test_scheduled_replication_copies_to_both_destinations_and_reports_completed(pipe: Pipeline) -> None:
    web = pipe.unique("web")
    pipe.seed(web, 5)
    pipe.source.create(
        DEPLOYMENTS,
        web,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "api", "namespace": web},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "api"}},
                "template": {
                    "metadata": {"labels": {"app": "api"}},
                    "spec": {"containers": [{"name": "api", "image": "nginx"}]},
                },
            },
        },
    )
    pipe.source.create(
        SECRETS,
        web,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {"name": "db", "namespace": web},
            "data": {"password": base64.b64encode(SECRET_VALUE.encode()).decode()},
        },
    )
    pipe.apply_replication("web", sourceNamespace=web, schedule="@every 10s")

    status = eventually(
        lambda: (s := pipe.status("web")).get("phase") == "Completed" and s,
        timeout_s=60,
        what="phase Completed",
    )
    for cluster in ("dr1", "dr2"):
        copies = pipe.configmaps(cluster, web)
        assert {f"cm-{i:05d}" for i in range(5)} <= set(copies)
        assert copies["cm-00000"]["metadata"]["annotations"][keys.ANNOTATION_REPLICATION] == f"{pipe.ns}/web"
        deployment = pipe.client(cluster).get(DEPLOYMENTS, web, "api")
        assert deployment is not None and deployment["spec"]["replicas"] == 0  # scaled to zero in DR
    assert status["lastSyncTime"] and status["nextSyncTime"] and status["lastSuccessfulSyncTime"]
    assert status["observedGeneration"] == 1
    stats = status["syncStats"]
    assert stats["failed"] == 0
    assert stats["total"] == sum(stats[k] for k in ("created", "updated", "unchanged", "skipped", "pruned"))
    assert stats["total"] >= 12  # 5 ConfigMaps and a Deployment, into two destinations
    targets = {(t["cluster"], t["sourceNamespace"], t["destinationNamespace"]): t for t in status["targets"]}
    assert set(targets) == {("dr1", web, web), ("dr2", web, web)}
    assert all(t["phase"] == "Completed" for t in targets.values())
    assert status["deploymentScales"][0]["originalReplicas"] == 3
    synced = pipe.condition("web", "Synced")
    assert synced["status"] == "True" and synced["reason"] == "SyncCompleted"
    assert pipe.condition("web", "InvalidSpec")["status"] == "False"  # the watcher's condition is kept

    for name in ("source", "dr1", "dr2"):
        eventually(
            lambda n=name: (pipe.remote_cluster(n).get("status") or {}).get("health") == "Healthy",
            what=f"RemoteCluster {name} Healthy",
        )
    reasons = {e["reason"] for e in pipe.events("web")}
    assert {"SyncStarted", "SyncCompleted"} <= reasons
    assert pipe.client("dr1").get(SECRETS, web, "db") is not None
    # the Secret was copied, and its data appears nowhere else
    logs = "".join(proc.log_path.read_text(errors="replace") for proc in pipe.procs.values())
    seen = json.dumps([status, pipe.events("web"), pipe.run_records("web")]) + logs
    for text in (SECRET_VALUE, base64.b64encode(SECRET_VALUE.encode()).decode()):
        assert text not in seen

    # the next tick finds everything in step: the second run writes nothing, even where the API
    # server filled in defaults the source never stated
    first = status["lastSyncTime"]
    writes = pipe.writes("dr1")
    assert writes >= 7  # the first run's creates were counted: 5 ConfigMaps, the Deployment, the Secret
    versions = {n: o["metadata"]["resourceVersion"] for n, o in pipe.configmaps("dr1", web).items()}
    again = eventually(
        lambda: (s := pipe.status("web")).get("lastSyncTime") != first and s,
        timeout_s=40,
        what="a second scheduled run",
    )
    assert again["phase"] == "Completed" and again["syncStats"]["created"] == 0
    assert again["syncStats"]["unchanged"] == stats["created"]
    assert pipe.writes("dr1") == writes
    assert {n: o["metadata"]["resourceVersion"] for n, o in pipe.configmaps("dr1", web).items()} == versions


def test_legacy_namespace_mapping_is_synced_and_its_own_status_written(pipe: Pipeline) -> None:
    legacy = pipe.unique("legacy")
    pipe.seed(legacy, 2)
    mappings = pipe.resolve("namespacemappings.dr-syncer.io")
    pipe.controller.create(
        mappings,
        pipe.ns,
        {
            "apiVersion": "dr-syncer.io/v1alpha1",
            "kind": "NamespaceMapping",
            "metadata": {"name": "legacy", "namespace": pipe.ns},
            "spec": {
                "sourceCluster": "source",
                "destinationCluster": "dr1",
                "sourceNamespace": legacy,
                "destinationNamespace": f"{legacy}-dr",
                "schedule": "@every 10s",
            },
        },
    )
    try:

        def completed() -> dict[str, Any] | None:
            status = (pipe.controller.get(mappings, pipe.ns, "legacy") or {}).get("status") or {}
            return status if status.get("phase") == "Completed" else None

        status = eventually(completed, timeout_s=60, what="the NamespaceMapping's status Completed")
        assert status["syncStats"]["created"] == 2
        targets = [(t["cluster"], t["destinationNamespace"]) for t in status["targets"]]
        assert targets == [("dr1", f"{legacy}-dr")]
        assert set(pipe.configmaps("dr1", f"{legacy}-dr")) >= {"cm-00000", "cm-00001"}
    finally:
        pipe.controller.delete(mappings, pipe.ns, "legacy")


def drsyncer(pipe: Pipeline, *args: str, timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    """The `drsyncer` command as an operator runs it, configured like the watcher (kubeconfig, context,
    namespace)."""
    return subprocess.run(
        [sys.executable, "-m", "drsyncer.cli", *args],
        env=pipe.env(),
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )


def test_sync_now_wait_runs_a_manual_replication_and_reports_it(pipe: Pipeline) -> None:
    manual = pipe.unique("manual")
    pipe.seed(manual, 3)
    pipe.apply_replication("manual", sourceNamespace=manual, replicationMode="Manual")
    eventually(lambda: pipe.status("manual").get("phase") == "Pending", what="the watcher to see it")

    run = drsyncer(pipe, "sync-now", "manual", "--wait", "--timeout", "90")

    assert run.returncode == 0, run.stdout + run.stderr + pipe.logs()
    assert f"Replication {pipe.ns}/manual: sync requested" in run.stdout
    assert "Completed" in run.stdout
    status = pipe.status("manual")
    assert status["phase"] == "Completed" and status["syncStats"]["created"] == 6  # 3 ConfigMaps, 2 clusters
    for cluster in ("dr1", "dr2"):
        assert {f"cm-{i:05d}" for i in range(3)} <= set(pipe.configmaps(cluster, manual))
    assert keys.ANNOTATION_SYNC_NOW not in (pipe.replication("manual")["metadata"].get("annotations") or {})


def lease_holder(pipe: Pipeline) -> str:
    lease = pipe.controller.get(LEASES, pipe.ns, "drsyncer-watcher") or {}
    return str((lease.get("spec") or {}).get("holderIdentity") or "")


def test_a_second_watcher_waits_on_the_lease_and_takes_over_when_the_leader_stops(pipe: Pipeline) -> None:
    first = eventually(lambda: lease_holder(pipe), what="the watcher to hold the Lease")
    lease = pipe.controller.get(LEASES, pipe.ns, "drsyncer-watcher")
    assert lease is not None and lease["spec"]["leaseDurationSeconds"] == 3
    renewed = lease["spec"]["renewTime"]
    eventually(
        lambda: (
            (pipe.controller.get(LEASES, pipe.ns, "drsyncer-watcher") or {})["spec"]["renewTime"] != renewed
        ),
        what="the leader to renew the Lease",
    )
    standby = pipe.start(
        "watcher-2",
        "watcher",
        DRSYNCER_LEASE_DURATION="3",
        DRSYNCER_RESYNC_INTERVAL="5",
        DRSYNCER_IDENTITY="watcher-2",
        DRSYNCER_METRICS_PORT="0",
        DRSYNCER_PROBE_PORT="0",
    )
    try:
        leader = pipe.procs["watcher"]
        leader.stop()  # releases the Lease on SIGTERM

        assert eventually(
            lambda: lease_holder(pipe) == "watcher-2", timeout_s=30, what="watcher-2 to take the Lease"
        )
        assert first != "watcher-2"
        # the new leader serves the operator: a sync-now is answered
        takeover = pipe.unique("takeover")
        pipe.seed(takeover, 1)
        pipe.apply_replication("takeover", sourceNamespace=takeover, replicationMode="Manual")
        run = drsyncer(pipe, "sync-now", "takeover", "--wait", "--timeout", "90")
        assert run.returncode == 0, run.stdout + run.stderr + pipe.logs()
        assert "cm-00000" in pipe.configmaps("dr1", takeover)
    finally:
        standby.stop()
        pipe.procs.pop("watcher-2")
        # the module's other tests expect the first watcher: start it again
        restart = pipe.procs["watcher"]
        restart.start()


def test_next_sync_time_is_gone_while_paused_and_back_with_the_run_after_resume(pipe: Pipeline) -> None:
    nightly = pipe.unique("nightly")
    pipe.seed(nightly, 1)
    pipe.apply_replication("nightly", sourceNamespace=nightly, schedule="0 3 * * *")
    now = datetime.now(UTC)
    due = now.replace(hour=3, minute=0, second=0, microsecond=0)
    if due <= now:
        due += timedelta(days=1)
    if due - now < timedelta(minutes=2):
        pytest.skip("the cron fires within the test: its run would move the next sync time")
    expected = due.strftime("%Y-%m-%dT%H:%M:%SZ")

    # a new Replication runs at once; its report says when the cron fires next
    first = eventually(
        lambda: (s := pipe.status("nightly")).get("phase") == "Completed" and s,
        timeout_s=60,
        what="the first run",
    )
    assert first["nextSyncTime"] == expected

    replications = pipe.resolve("replications.dr-syncer.io")
    pipe.controller.patch(replications, pipe.ns, "nightly", {"spec": {"paused": True}})
    eventually(
        lambda: (s := pipe.status("nightly")).get("phase") == "Paused" and "nextSyncTime" not in s,
        what="Paused with no next sync time",
    )
    # resumed: it runs at once again, and the next sync time is back. The run is told apart by the
    # generation it reports: its lastSyncTime (whole seconds) may be the first run's, as pausing and
    # resuming can take well under a second
    resumed = pipe.controller.patch(replications, pipe.ns, "nightly", {"spec": {"paused": False}})
    generation = resumed["metadata"]["generation"]
    eventually(
        lambda: (
            (s := pipe.status("nightly")).get("observedGeneration") == generation
            and s.get("phase") == "Completed"
            and s.get("nextSyncTime") == expected
        ),
        timeout_s=60,
        what="the run after the resume, with the next sync time",
    )
