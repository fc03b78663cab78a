"""A pool process gets ready as it starts (workers/warm_start.py): every RemoteCluster's client built,
discovery taken from Redis where another process read it, the write and destination threads started,
its Redis connection open; nothing sent to a RemoteCluster, and a broken one left to the first task
that needs it, which still reports it."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import yaml

from drsyncer.api import keys
from drsyncer.api.crds import all_crds
from drsyncer.config import Settings, load_settings
from drsyncer.errors import CategorisedError
from drsyncer.kube import ClusterClient, ClusterClients, client_from_kubeconfig
from drsyncer.sim import SimFleet
from drsyncer.task_contract import ReplicationRef, SyncJob, Target, Trigger
from tests.fixtures.polling import builtin_ref, eventually
from tests.fixtures.redis_server import RedisServer
from workers.jobs import Context, run_sync
from workers.warm_start import warm

NS = "dr-system"
NAMESPACES = builtin_ref("namespaces")
SECRETS = builtin_ref("secrets")
CONFIGMAPS = builtin_ref("configmaps")
CRDS = builtin_ref("customresourcedefinitions")


def _remote_cluster(name: str, secret: str) -> dict[str, Any]:
    return {
        "apiVersion": keys.API_VERSION,
        "kind": keys.KIND_REMOTE_CLUSTER,
        "metadata": {"name": name},
        "spec": {"kubeconfigSecretRef": {"name": secret}},
    }


@pytest.fixture
def fleet() -> Iterator[tuple[SimFleet, ClusterClient]]:
    with SimFleet(["controller", "source", "dr1"]) as fleet:
        controller = client_from_kubeconfig(fleet["controller"].kubeconfig_dict(), name="controller")
        controller.create(NAMESPACES, None, {"metadata": {"name": NS}})
        for crd in all_crds():
            controller.create(CRDS, None, crd)
        eventually(
            lambda: [controller.discovery.invalidate(), controller.resolve("remoteclusters.dr-syncer.io")],
            what="the CRDs to be served",
            tolerate=(CategorisedError,),
        )
        remote_clusters = controller.resolve("remoteclusters.dr-syncer.io")
        for cluster in ("source", "dr1"):
            text = yaml.safe_dump(fleet[cluster].kubeconfig_dict()).encode()
            data = {"kubeconfig": base64.b64encode(text).decode()}
            controller.create(SECRETS, NS, {"metadata": {"name": f"{cluster}-kubeconfig"}, "data": data})
            controller.create(remote_clusters, NS, _remote_cluster(cluster, f"{cluster}-kubeconfig"))
        controller.create(remote_clusters, NS, _remote_cluster("broken", "nowhere-kubeconfig"))
        source = client_from_kubeconfig(fleet["source"].kubeconfig_dict(), name="source")
        source.create(NAMESPACES, None, {"metadata": {"name": "shop"}})
        source.create(CONFIGMAPS, "shop", {"metadata": {"name": "settings"}, "data": {"k": "v"}})
        source.close()
        try:
            yield fleet, controller
        finally:
            controller.close()


def _context(settings: Settings, controller: ClusterClient, redis_server: RedisServer) -> Context:
    """A worker's context on the fleet's controller, as a pool process builds it."""
    return Context.assemble(
        settings,
        controller,
        redis_server.client(),
        ClusterClients(controller, redis_url=redis_server.url),
        worker="w",
    )


def _replication_job(controller: ClusterClient, name: str, source_cluster: str) -> SyncJob:
    """A Manual Replication `name` copying `shop` from `source_cluster` to dr1, and its sync-now job."""
    spec = {
        "sourceCluster": source_cluster,
        "destinationCluster": "dr1",
        "sourceNamespace": "shop",
        "replicationMode": "Manual",
    }
    body = {
        "apiVersion": keys.API_VERSION,
        "kind": keys.KIND_REPLICATION,
        "metadata": {"name": name},
        "spec": spec,
    }
    meta = controller.create(controller.resolve("replications.dr-syncer.io"), NS, body)["metadata"]
    ref = ReplicationRef(keys.KIND_REPLICATION, NS, name, meta["uid"], meta["generation"])
    return SyncJob(
        ref, source_cluster, "shop", (Target("dr1", "shop"),), "Manual", "", Trigger.SYNC_NOW.value
    )


def test_a_warm_start_gets_every_remote_cluster_ready_without_a_request_to_any_and_the_first_task_reads_no_secret(
    fleet: tuple[SimFleet, ClusterClient], redis_server: RedisServer
) -> None:
    sims, controller = fleet
    settings = load_settings({"DRSYNCER_REDIS_URL": redis_server.url, "DRSYNCER_WRITE_CONCURRENCY": "3"})
    remote_clusters = controller.resolve("remoteclusters.dr-syncer.io")
    # another process already read dr1's discovery and keeps it in Redis; nobody read the source's
    elsewhere = ClusterClients(controller, redis_url=redis_server.url)
    elsewhere.get(controller.get(remote_clusters, NS, "dr1")).resolve("configmaps")
    elsewhere.close()
    for name in ("controller", "source", "dr1"):
        sims[name].reset_counters()
    ctx = _context(settings, controller, redis_server)
    watcher = redis_server.client()
    try:
        before = {c["id"] for c in watcher.client_list()}
        done = warm(ctx, NS)

        assert (done.clients, done.discovered, done.skipped) == (2, 1, 1)
        assert "dr-system/broken" in done.first_problem and "nowhere-kubeconfig" in done.first_problem
        assert done.threads == 2 * 3  # two destinations' worth of write_concurrency
        assert done.destination_threads == 4  # two destinations' listing and writing steps
        # the connection the first task's Redis commands take is open already (other tests' clients
        # may come and go on this server meanwhile: the warm start's is the new one that pinged)
        opened = [c for c in watcher.client_list() if c["id"] not in before and c["cmd"] == "ping"]
        assert len(opened) == 1, watcher.client_list()
        assert sims["source"].counters() == {} and sims["dr1"].counters() == {}
        assert sims["controller"].counters()["get"]["secrets"] == 3  # each RemoteCluster's, once

        # the first task finds its clients ready: it reads no kubeconfig Secret and no RemoteCluster
        replications = controller.resolve("replications.dr-syncer.io")
        job = _replication_job(controller, "web", "source")
        sims["controller"].reset_counters()
        outcome = run_sync(ctx, replace(job, run_id=uuid.uuid4().hex), uuid.uuid4().hex).to_dict()

        assert outcome["phase"] == "Completed"
        reads = sims["controller"].counters().get("get", {})
        assert "secrets" not in reads and "remoteclusters" not in reads
        assert ctx.remote_clusters.gets == 0

        # the broken RemoteCluster is reported by the task that needs it, as it always was
        broken = replace(job, targets=(Target("broken", "shop"),), run_id=uuid.uuid4().hex)
        failed = run_sync(ctx, broken, uuid.uuid4().hex).to_dict()
        assert failed["phase"] == "Failed"
        status = (controller.get(replications, NS, "web") or {}).get("status") or {}
        assert "RemoteCluster dr-system/broken" in str(status) and "nowhere-kubeconfig" in str(status)
    finally:
        watcher.close()
        ctx.close()


def test_a_source_cluster_that_is_not_there_is_reported_as_the_source_not_as_a_destination(
    fleet: tuple[SimFleet, ClusterClient], redis_server: RedisServer
) -> None:
    _, controller = fleet
    ctx = _context(load_settings({"DRSYNCER_REDIS_URL": redis_server.url}), controller, redis_server)
    try:
        replications = controller.resolve("replications.dr-syncer.io")
        job = _replication_job(controller, "lost", "nosuch")

        outcome = run_sync(ctx, replace(job, run_id=uuid.uuid4().hex), uuid.uuid4().hex).to_dict()

        assert outcome["phase"] == "Failed"
        status = (controller.get(replications, NS, "lost") or {}).get("status") or {}
        (target,) = status["targets"]
        message = target["lastError"]["message"]
        assert message.startswith("source cluster nosuch: ") and "RemoteCluster dr-system/nosuch" in message
        assert "destination cluster" not in message
    finally:
        ctx.close()
