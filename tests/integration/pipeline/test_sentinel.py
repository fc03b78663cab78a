"""The whole pipeline on a Sentinel-managed Redis (1 primary, 1 replica, 3 sentinels, real
redis-server processes on loopback, passwords on the data nodes and on the sentinels): the primary is
SIGKILLed in the middle of a large run, and the pipeline carries on against the promoted replica
without an operator: the run completes, no Replication stays Running, no schedule entry is lost, and
no process exits.

The run has 600 objects in CI and 2,000 with `DRSYNCER_RELIABILITY_LONG=1` (tests/fixtures/reliability.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis

from drsyncer.api.crds import all_crds
from drsyncer.errors import CategorisedError
from drsyncer.kube import client_from_kubeconfig
from drsyncer.redis_target import client_from_url
from drsyncer.sim import SimFleet
from scheduler.celery_app import make_app
from tests.fixtures import polling as poll
from tests.fixtures import reliability
from tests.fixtures.ports import free_port
from tests.fixtures.redis_sentinel import SentinelRedis, sentinel_redis  # noqa: F401 (a fixture)
from tests.integration.pipeline.conftest import (
    CRDS,
    NAMESPACES,
    NS,
    SECRETS,
    Pipeline,
    _kubeconfig_secret,
    eventually,
    stop_all,
)

OBJECTS = reliability.sized(600, 2000)
TASK_TIME_LIMIT_S = reliability.sized(12, 25)
VISIBILITY_TIMEOUT_S = reliability.sized(15, 30)


class SentinelPipeline(Pipeline):
    def redis(self) -> redis.Redis:
        return client_from_url(self.redis_url, socket_timeout=5)

    def env(self, **extra: str) -> dict[str, str]:
        # the task lost with the primary comes back after the visibility timeout: keep it short
        return super().env(
            **{
                "DRSYNCER_TASK_TIME_LIMIT": str(TASK_TIME_LIMIT_S),
                "DRSYNCER_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT_S),
                **extra,
            }
        )


@pytest.fixture(scope="module")
def spipe(
    sentinel_redis: SentinelRedis,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SentinelPipeline]:
    workdir = tmp_path_factory.mktemp("sentinel-pipeline")
    url = sentinel_redis.url(db=0)
    fleet = SimFleet(["controller", "source", "dr1", "dr2"]).start()
    kubeconfig = fleet.write_kubeconfig(workdir / "controller.kubeconfig")
    controller = client_from_kubeconfig(fleet["controller"].kubeconfig_dict(), name="controller")
    source = client_from_kubeconfig(fleet["source"].kubeconfig_dict(), name="source")
    controller.create(NAMESPACES, None, {"metadata": {"name": NS}})
    for crd in all_crds():
        controller.create(CRDS, None, crd)
    poll.eventually(
        lambda: [
            controller.discovery.invalidate(),
            *(controller.resolve(c["metadata"]["name"]) for c in all_crds()),
        ],
        30,
        "the CRDs to be served",
        tolerate=(AssertionError, CategorisedError),
    )
    remote_clusters = controller.resolve("remoteclusters.dr-syncer.io")
    for name in ("source", "dr1", "dr2"):
        controller.create(SECRETS, NS, _kubeconfig_secret(name, fleet[name]))
        controller.create(
            remote_clusters,
            NS,
            {
                "apiVersion": "dr-syncer.io/v1alpha1",
                "kind": "RemoteCluster",
                "metadata": {"name": name, "namespace": NS},
                "spec": {
                    "kubeconfigSecretRef": {"name": f"{name}-kubeconfig"},
                    "rateLimit": {"qps": 5000, "burst": 5000},
                },
            },
        )
    p = SentinelPipeline(
        backend="sim",
        clusters={c.name: c for c in fleet},
        ns=NS,
        controller=controller,
        source=source,
        redis_url=url,
        app=make_app(url),
        workdir=workdir,
        kubeconfig=kubeconfig,
    )
    try:
        p.metrics_ports["watcher"] = free_port()
        p.start(
            "watcher",
            "watcher",
            DRSYNCER_METRICS_PORT=str(p.metrics_ports["watcher"]),
            DRSYNCER_PROBE_PORT=str(free_port()),
            DRSYNCER_LEASE_DURATION="3",
            DRSYNCER_RESYNC_INTERVAL="300",
            DRSYNCER_HEALTH_CHECK_INTERVAL="300",
        )
        p.start(
            "beat",
            "beat",
            DRSYNCER_BEAT_MAX_INTERVAL="1",
            DRSYNCER_HEARTBEAT_FILE=str(workdir / "beat.heartbeat"),
        )
        p.start_worker("worker-1")
        p.start_worker("worker-2")
        p.wait_workers_ready()
        yield p
    finally:
        stop_all(p.procs.values())
        controller.close()
        source.close()
        fleet.stop()


def _entries(pipe: Pipeline) -> set[str]:
    return {str(k) for k in pipe.redis().zrange("redbeat::schedule", 0, -1)}


def test_primary_killed_mid_run_the_pipeline_continues_on_the_promoted_replica(
    spipe: SentinelPipeline,
    sentinel_redis: SentinelRedis,  # noqa: F811
) -> None:
    pipe = spipe
    try:
        pipe.seed("sn-sched", 3)
        pipe.seed("sn-big", OBJECTS, data_size=64)
        pipe.apply_replication("sn-sched", sourceNamespace="sn-sched", schedule="@every 5s")
        pipe.apply_replication("sn-big", sourceNamespace="sn-big", replicationMode="Manual")
        eventually(
            lambda: pipe.status("sn-sched").get("phase") == "Completed",
            timeout_s=60,
            what="a scheduled run through Sentinel",
        )
        before = eventually(lambda: len(e := _entries(pipe)) == 1 and e, what="the schedule entry")
        eventually(lambda: pipe.status("sn-big").get("phase") == "Pending", what="the watcher to see it")
        for cluster in ("dr1", "dr2"):
            pipe.sim(cluster).faults.set(latency_ms=5)  # a run still going when the primary dies
        try:
            pipe.send_sync("sn-big", ["sn-big"])
            eventually(lambda: len(pipe.configmaps("dr1", "sn-big")) >= 100, what="the first writes")
            old = sentinel_redis.primary_port()
            assert old is not None
            sentinel_redis.data[old].kill()
            killed_at = time.monotonic()
            assert len(pipe.configmaps("dr1", "sn-big")) < OBJECTS, "the run ended before the failover"
            eventually(
                lambda: sentinel_redis.primary_port() not in (None, old),
                timeout_s=30,
                what="the sentinels to promote the replica",
            )
        finally:
            for cluster in ("dr1", "dr2"):
                pipe.sim(cluster).faults.clear()

        eventually(
            lambda: (
                pipe.status("sn-big").get("phase") == "Completed"
                and all(len(pipe.configmaps(c, "sn-big")) == OBJECTS for c in ("dr1", "dr2"))
            ),
            timeout_s=180,
            what="the run to complete on the promoted replica",
        )
        recovered = time.monotonic()
        assert _entries(pipe) == before, "a schedule entry was lost in the failover"
        last = pipe.status("sn-sched").get("lastSyncTime")
        eventually(
            lambda: (
                (s := pipe.status("sn-sched")).get("lastSyncTime") != last and s.get("phase") == "Completed"
            ),
            timeout_s=60,
            what="a scheduled run after the failover",
        )
        for name in ("sn-sched", "sn-big"):
            assert pipe.status(name).get("phase") != "Running"
        for name in ("watcher", "beat", "worker-1", "worker-2"):
            assert pipe.procs[name].alive, f"{name} exited:\n{pipe.procs[name].tail()}"
        reliability.record(
            "Sentinel: primary SIGKILLed mid-run",
            converged=True,
            recover_s=recovered - killed_at,
            objects=OBJECTS,
        )
    except BaseException:
        print(pipe.logs())
        raise
