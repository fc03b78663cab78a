"""What a sync task reads of the controller cluster: its Replication as metadata only (the spec parsed
once per uid and generation), its RemoteClusters from an informer; and every reason to drop a task
or take in a change still holds."""

from __future__ import annotations

import base64
import contextlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
import redis
import yaml

from drsyncer.api import keys
from drsyncer.api.crds import all_crds
from drsyncer.config import load_settings
from drsyncer.errors import CategorisedError
from drsyncer.kube import (
    AlreadyExists,
    ClusterClient,
    client_from_kubeconfig,
    client_from_kubeconfig_file,
)
from drsyncer.sim import SimFleet
from drsyncer.task_contract import ReplicationRef, SyncJob, Target, Trigger
from tests.fixtures.backends import World
from tests.fixtures.polling import builtin_ref, eventually
from tests.fixtures.redis_server import RedisServer
from workers.guards import lock_key
from workers.jobs import Context, run_sync

NS = "dr-system"
NAMESPACES = builtin_ref("namespaces")
SECRETS = builtin_ref("secrets")
CONFIGMAPS = builtin_ref("configmaps")
CRDS = builtin_ref("customresourcedefinitions")
REPLICATION_CRD = next(c for c in all_crds() if c["spec"]["names"]["kind"] == keys.KIND_REPLICATION)


def _replication(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": keys.API_VERSION,
        "kind": keys.KIND_REPLICATION,
        "metadata": {"name": name},
        "spec": {
            "sourceCluster": "source",
            "destinationCluster": "dr1",
            "sourceNamespace": "shop",
            "replicationMode": "Manual",
            **spec,
        },
    }


def test_a_replication_read_as_metadata_shows_the_generation_only_its_spec_moves(
    kube: Callable[..., World],
) -> None:
    world = kube(["controller"])
    client = client_from_kubeconfig_file(str(world.kubeconfig), context="controller", name="controller")
    try:
        with contextlib.suppress(AlreadyExists):  # a real control plane is shared by the session
            client.create(CRDS, None, REPLICATION_CRD)
        replications = eventually(
            lambda: client.discovery.invalidate() or client.resolve("replications.dr-syncer.io"),
            what="Replications to be served",
            tolerate=(CategorisedError,),
        )
        ns = f"reads-{uuid.uuid4().hex[:6]}"
        client.create(NAMESPACES, None, {"metadata": {"name": ns}})
        created = client.create(replications, ns, _replication("web"))

        meta = client.get(replications, ns, "web", metadata_only=True)

        assert meta is not None and (meta["kind"], meta["apiVersion"]) == (
            "PartialObjectMetadata",
            "meta.k8s.io/v1",
        )
        assert "spec" not in meta and "status" not in meta
        assert meta["metadata"]["uid"] == created["metadata"]["uid"]
        generation = meta["metadata"]["generation"]
        # a status write and a metadata change leave the generation: the spec kept under it stands
        client.patch(replications, ns, "web", {"status": {"phase": "Completed"}}, subresource="status")
        client.patch(replications, ns, "web", {"metadata": {"annotations": {"a": "b"}}})
        after = client.get(replications, ns, "web", metadata_only=True)
        assert after is not None and after["metadata"]["generation"] == generation
        # pausing is a spec change
        client.patch(replications, ns, "web", {"spec": {"paused": True}})
        paused = client.get(replications, ns, "web", metadata_only=True)
        assert paused is not None and paused["metadata"]["generation"] == generation + 1
        assert client.get(replications, ns, "gone", metadata_only=True) is None
    finally:
        client.close()


# -- a worker's task against simulated clusters -------------------------------------------------


@dataclass
class Setup:
    fleet: SimFleet
    controller: ClusterClient
    ctx: Context

    @property
    def replications(self) -> Any:
        return self.controller.resolve("replications.dr-syncer.io")

    @property
    def remote_clusters(self) -> Any:
        return self.controller.resolve("remoteclusters.dr-syncer.io")

    def job(self, name: str, target: str = "shop-copy") -> SyncJob:
        meta = (self.controller.get(self.replications, NS, name) or {})["metadata"]
        ref = ReplicationRef(keys.KIND_REPLICATION, NS, name, meta["uid"], meta["generation"])
        targets = (Target("dr1", target),)
        return SyncJob(ref, "source", "shop", targets, "Manual", uuid.uuid4().hex, Trigger.SYNC_NOW.value)

    def run(self, job: SyncJob) -> dict[str, Any]:
        """The task's outcome; each call a run of its own, as sync-now asks for."""
        return run_sync(self.ctx, replace(job, run_id=uuid.uuid4().hex), uuid.uuid4().hex).to_dict()

    def kubeconfig_secret(self, name: str, cluster: str) -> None:
        text = yaml.safe_dump(self.fleet[cluster].kubeconfig_dict()).encode()
        self.controller.create(
            SECRETS, NS, {"metadata": {"name": name}, "data": {"kubeconfig": base64.b64encode(text).decode()}}
        )


@pytest.fixture(scope="module")
def setup(redis_server: RedisServer) -> Iterator[Setup]:
    with SimFleet(["controller", "source", "dr1"]) as fleet:
        controller = client_from_kubeconfig(fleet["controller"].kubeconfig_dict(), name="controller")
        source = client_from_kubeconfig(fleet["source"].kubeconfig_dict(), name="source")
        controller.create(NAMESPACES, None, {"metadata": {"name": NS}})
        for crd in all_crds():
            controller.create(CRDS, None, crd)
        eventually(
            lambda: [
                controller.discovery.invalidate(),
                controller.resolve("replications.dr-syncer.io"),
                controller.resolve("remoteclusters.dr-syncer.io"),
            ],
            what="the CRDs to be served",
            tolerate=(CategorisedError,),
        )
        source.create(NAMESPACES, None, {"metadata": {"name": "shop"}})
        source.create(CONFIGMAPS, "shop", {"metadata": {"name": "settings"}, "data": {"k": "v"}})
        settings = load_settings({"DRSYNCER_REDIS_URL": redis_server.url})
        redis = redis_server.client()
        ctx = Context.assemble(settings, controller, redis, worker="task-reads")
        setup = Setup(fleet, controller, ctx)
        for cluster in ("source", "dr1"):
            setup.kubeconfig_secret(f"{cluster}-kubeconfig", cluster)
            controller.create(
                setup.remote_clusters,
                NS,
                {
                    "apiVersion": keys.API_VERSION,
                    "kind": keys.KIND_REMOTE_CLUSTER,
                    "metadata": {"name": cluster},
                    "spec": {"kubeconfigSecretRef": {"name": f"{cluster}-kubeconfig"}},
                },
            )
        try:
            yield setup
        finally:
            ctx.close()
            source.close()


def test_a_task_reads_its_replication_as_metadata_and_still_drops_paused_stale_and_deleted(
    setup: Setup,
) -> None:
    setup.controller.create(setup.replications, NS, _replication("drops"))
    reads = setup.ctx.replications
    first = setup.job("drops")
    full = reads.full_reads

    assert setup.run(first)["phase"] == "Completed"
    assert setup.run(first)["phase"] == "Completed"
    assert reads.full_reads == full + 1  # the whole object once; then its metadata only

    setup.controller.patch(setup.replications, NS, "drops", {"spec": {"paused": True}})
    before = reads.full_reads
    assert setup.run(first)["dropped"] == "paused"  # planned before the pause, which is what stops it
    assert setup.run(first)["dropped"] == "paused"
    assert reads.full_reads == before + 1  # the paused spec read once, then kept
    assert setup.run(setup.job("drops"))["dropped"] == "paused"
    setup.controller.patch(setup.replications, NS, "drops", {"spec": {"paused": False}})
    resumed = setup.job("drops")
    assert setup.run(resumed)["phase"] == "Completed"
    setup.controller.patch(setup.replications, NS, "drops", {"spec": {"resourceTypes": ["secrets"]}})
    assert setup.run(resumed)["dropped"] == "stale"  # planned before a change that does not pause it
    setup.controller.patch(setup.replications, NS, "drops", {"spec": {"resourceTypes": ["configmaps"]}})
    resumed = setup.job("drops")

    setup.controller.delete(setup.replications, NS, "drops")
    assert setup.run(resumed)["dropped"] == "deleted"
    setup.controller.create(setup.replications, NS, _replication("drops"))
    assert setup.run(resumed)["dropped"] == "deleted"  # another object took the name
    assert setup.run(setup.job("drops"))["phase"] == "Completed"


def test_a_task_reads_no_remote_cluster_and_still_takes_a_changed_one_in(setup: Setup) -> None:
    setup.controller.create(setup.replications, NS, _replication("rc-change"))
    job = setup.job("rc-change", target="rc-change-copy")
    assert setup.run(job)["phase"] == "Completed"
    informed = eventually(
        lambda: setup.ctx.remote_clusters._informers[NS].synced.is_set() or None,
        what="the RemoteCluster informer to list",
    )
    assert informed
    gets = setup.ctx.remote_clusters.gets
    assert setup.run(job)["phase"] == "Completed"
    assert setup.ctx.remote_clusters.gets == gets  # both RemoteClusters came from the informer

    # dr1 now names a Secret that does not exist: the next tasks say so, then work again once fixed
    setup.controller.patch(
        setup.remote_clusters, NS, "dr1", {"spec": {"kubeconfigSecretRef": {"name": "missing"}}}
    )
    eventually(
        lambda: setup.run(job)["phase"] == "Failed" or None, what="the changed RemoteCluster to be used"
    )
    setup.kubeconfig_secret("dr1-again", "dr1")
    setup.controller.patch(
        setup.remote_clusters, NS, "dr1", {"spec": {"kubeconfigSecretRef": {"name": "dr1-again"}}}
    )
    eventually(
        lambda: setup.run(job)["phase"] == "Completed" or None, what="the fixed RemoteCluster to be used"
    )
    assert setup.ctx.remote_clusters.gets == gets


class _RoundTrips(redis.Connection):
    """redis-py's connection, counting what it sends: one send is one round trip (a pipeline's or a
    script's commands go in one)."""

    sent = 0

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        type(self).sent += 1
        super().send_packed_command(command, check_health)


def test_a_scheduled_run_of_an_unchanged_namespace_takes_four_redis_round_trips_and_no_request(
    setup: Setup, redis_server: RedisServer
) -> None:
    setup.controller.create(setup.replications, NS, _replication("quiet"))
    asked = setup.job("quiet", target="quiet-copy")
    assert setup.run(asked)["phase"] == "Completed"  # copies, and starts the change feeds
    pool = redis.ConnectionPool(host=redis_server.host, port=redis_server.port, connection_class=_RoundTrips)
    counted = Context.assemble(setup.ctx.settings, setup.controller, redis.Redis(connection_pool=pool))
    scheduled = replace(asked, run_id="", trigger=Trigger.SCHEDULE.value)
    clusters = [setup.fleet[name] for name in ("source", "dr1")]
    try:

        def settled() -> bool | None:
            for cluster in clusters:
                cluster.reset_counters()
            before = _RoundTrips.sent
            outcome = run_sync(counted, scheduled, uuid.uuid4().hex).to_dict()
            assert outcome["phase"] == "Completed"
            quiet = not any(c.counters() for c in clusters)
            return (quiet, _RoundTrips.sent - before) == (True, 4) or None

        # the run before reads (the feeds had not delivered the copies' writes yet, the process
        # looks after the feeds): then the lock, the feeds and watermark, the record with the
        # lock's release, and the run's records for its report
        eventually(settled, what="a scheduled run to read nothing and take four Redis round trips")
        assert setup.ctx.redis.exists(lock_key(scheduled.replication, "shop")) == 0
    finally:  # the controller client is the module's
        counted.remote_clusters.close()
        counted.clients.close()
        counted.redis.close()
