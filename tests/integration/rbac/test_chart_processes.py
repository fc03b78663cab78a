"""`drsyncer watcher` and `drsyncer worker` processes on the chart's ServiceAccount token, against a
real controller cluster, copying between real source and destination clusters reached with the
minimal roles of docs/cluster-access.md: a whole run, its status and Events, a health check, the
Lease and a deletion with cleanup, with no 403 anywhere.

The chart is rendered with `config.watchNamespace` set (its custom-resource rules in a Role there,
the kubeconfig Secrets read there); the processes get the watcher Deployment's namespace and Lease
settings and a kubeconfig holding a TokenRequest token of the chart's ServiceAccount. The process
helpers are the pipeline tests' (`Proc`, `Pipeline.start`).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from drsyncer.api import keys
from drsyncer.kube import client_from_kubeconfig
from scheduler.celery_app import make_app
from tests.fixtures.helm import render
from tests.fixtures.polling import builtin_ref
from tests.fixtures.ports import free_port
from tests.fixtures.redis_server import RedisServer
from tests.integration.pipeline.conftest import Pipeline, eventually, stop_all
from tests.integration.rbac.conftest import (
    RealCluster,
    Subject,
    atoms_of,
    documented_roles,
    grant,
    install_crds,
    refusals,
    unique,
)

REDIS_DB = 12
CONFIGMAPS = builtin_ref("configmaps")
SECRETS = builtin_ref("secrets")
EVENTS = builtin_ref("events")
LEASES = builtin_ref("leases")
RBAC_KINDS = ("ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
# what the chart's watcher Deployment sets that decides where it looks and which Lease it holds
CHART_ENV = ("DRSYNCER_WATCH_NAMESPACE", "DRSYNCER_LEASE_NAME", "DRSYNCER_LEASE_NAMESPACE")


def chart_env(deployment: dict[str, Any]) -> dict[str, str]:
    (container,) = [
        c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "watcher"
    ] or deployment["spec"]["template"]["spec"]["containers"][:1]
    return {
        e["name"]: str(e["value"])
        for e in container.get("env") or []
        if e["name"] in CHART_ENV and "value" in e
    }


class Chart:
    def __init__(
        self,
        pipeline: Pipeline,
        controller: RealCluster,
        source: RealCluster,
        dr1: RealCluster,
        watch_namespace: str,
        source_namespace: str,
        release_namespace: str,
        env: dict[str, str],
    ) -> None:
        self.pipeline = pipeline
        self.controller = controller
        self.source = source
        self.dr1 = dr1
        self.watch_namespace = watch_namespace
        self.source_namespace = source_namespace
        self.release_namespace = release_namespace
        self.env = env


@pytest.fixture(scope="module")
def chart(
    real: Callable[[str], RealCluster],
    redis_server: RedisServer,
    helm_library: None,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Chart]:
    controller, source, dr1 = real("controller"), real("source"), real("dr1")
    install_crds(controller)
    release_namespace, watch_namespace = unique("drs-proc"), unique("drs-proc-apps")
    rendered = render(
        {"config": {"watchNamespace": watch_namespace}},
        release="dr",
        namespace=release_namespace,
        namespaces=(watch_namespace,),
    )
    objects = [o for o in rendered.objects if o["kind"] in RBAC_KINDS]
    (sa,) = [o for o in objects if o["kind"] == "ServiceAccount"]
    subject = Subject(release_namespace, sa["metadata"]["name"])
    controller.namespace(release_namespace)
    controller.namespace(watch_namespace)
    controller.apply(objects)
    # in force before the watcher's first request: the authorizer learns of RBAC objects a moment
    # after they are written, and a request in between is refused (403) though nothing is missing
    controller.await_in_force(subject, atoms_of(objects))
    source_namespace = source.namespace(unique("drs-proc-src"))
    for i in range(3):
        source.admin.create(
            CONFIGMAPS, source_namespace, {"metadata": {"name": f"cm-{i}"}, "data": {"i": str(i)}}
        )
    remote_clusters = controller.admin.resolve("remoteclusters.dr-syncer.io")
    # the remote clusters are reached with the minimal roles of docs/cluster-access.md, the
    # destination's change-feed role included (without it the feeds log their 403 and runs read)
    roles = documented_roles()
    destination = {
        "metadata": {"name": "drsyncer-destination"},
        "rules": [*roles["drsyncer-destination"]["rules"], *roles["drsyncer-destination-feeds"]["rules"]],
    }
    remote_subjects = {}
    for cluster, role in ((source, roles["drsyncer-source"]), (dr1, destination)):
        remote_subject = Subject(unique(f"drs-proc-{cluster.name}-sa"), "drsyncer")
        granted = grant(role, remote_subject)
        cluster.apply(granted)
        cluster.await_in_force(remote_subject, atoms_of(granted))
        remote_subjects[cluster.name] = remote_subject
        kubeconfig = yaml.safe_dump(cluster.kubeconfig(remote_subject)).encode()
        controller.admin.create(
            SECRETS,
            watch_namespace,
            {
                "metadata": {"name": f"{cluster.name}-kubeconfig"},
                "data": {"kubeconfig": base64.b64encode(kubeconfig).decode()},
            },
        )
        controller.admin.create(
            remote_clusters,
            watch_namespace,
            {
                "apiVersion": keys.API_VERSION,
                "kind": "RemoteCluster",
                "metadata": {"name": cluster.name, "namespace": watch_namespace},
                "spec": {"kubeconfigSecretRef": {"name": f"{cluster.name}-kubeconfig"}},
            },
        )

    workdir = tmp_path_factory.mktemp("rbac-processes")
    kubeconfig_path = Path(workdir / "controller.kubeconfig")
    # the chart's ServiceAccount, as a pod would present it: a token from the TokenRequest API
    kubeconfig_path.write_text(yaml.safe_dump(controller.kubeconfig(subject)))
    kubeconfig_path.chmod(0o600)
    redis_url = f"redis://{redis_server.host}:{redis_server.port}/{REDIS_DB}"
    redis.Redis.from_url(redis_url).flushdb()
    sa_client = client_from_kubeconfig(yaml.safe_load(kubeconfig_path.read_text()), name="controller")
    # the pipeline tests' process plumbing (start, start_worker, logs); its simulated fleet is not used
    pipeline = Pipeline(
        backend="real",
        clusters={},
        ns=watch_namespace,
        controller=sa_client,
        source=sa_client,
        redis_url=redis_url,
        app=make_app(redis_url),
        workdir=workdir,
        kubeconfig=kubeconfig_path,
    )
    env = chart_env(rendered.one("Deployment", "-watcher"))
    assert env["DRSYNCER_WATCH_NAMESPACE"] == watch_namespace
    assert env["DRSYNCER_LEASE_NAMESPACE"] == release_namespace
    try:
        pipeline.start(
            "watcher",
            "watcher",
            **env,
            DRSYNCER_METRICS_PORT=str(free_port()),
            DRSYNCER_PROBE_PORT=str(free_port()),
            DRSYNCER_LEASE_DURATION="3",
            DRSYNCER_RESYNC_INTERVAL="5",
            DRSYNCER_HEALTH_CHECK_INTERVAL="2",
        )
        pipeline.start_worker("worker-1")
        pipeline.wait_workers_ready("worker-1")
        yield Chart(
            pipeline, controller, source, dr1, watch_namespace, source_namespace, release_namespace, env
        )
    finally:
        stop_all(pipeline.procs.values())
        sa_client.close()
        redis.Redis.from_url(redis_url).flushdb()
        controller.delete_namespace(watch_namespace)
        controller.delete_namespace(release_namespace)
        source.delete_namespace(source_namespace)
        for cluster in (source, dr1):
            cluster.delete_namespace(remote_subjects[cluster.name].namespace)


def test_watcher_and_worker_processes_run_a_replication_on_the_chart_token_without_a_403(
    chart: Chart,
) -> None:
    admin = chart.controller.admin
    replications = admin.resolve("replications.dr-syncer.io")
    name = unique("rep")
    copy_namespace = f"{name}-copy"
    admin.create(
        replications,
        chart.watch_namespace,
        {
            "apiVersion": keys.API_VERSION,
            "kind": "Replication",
            "metadata": {
                "name": name,
                "namespace": chart.watch_namespace,
                "annotations": {keys.ANNOTATION_SYNC_NOW: "now"},
            },
            "spec": {
                "sourceCluster": "source",
                "destinationCluster": "dr1",
                "sourceNamespace": chart.source_namespace,
                "destinationNamespace": copy_namespace,
                "resourceTypes": ["configmaps"],
                "replicationMode": "Manual",
                "cleanupOnDelete": "Delete",
            },
        },
    )
    try:

        def status() -> dict[str, Any]:
            return dict((admin.get(replications, chart.watch_namespace, name) or {}).get("status") or {})

        done = eventually(
            lambda: status() if status().get("phase") == "Completed" else None,
            timeout_s=60,
            what="the Replication's run to complete",
        )
        assert done["syncStats"]["created"] == 3, done
        copies = {o["metadata"]["name"] for o in chart.dr1.admin.list(CONFIGMAPS, copy_namespace)}
        assert {"cm-0", "cm-1", "cm-2"} <= copies
        reasons = {
            e.get("reason")
            for e in admin.list(EVENTS, chart.watch_namespace)
            if (e.get("involvedObject") or {}).get("name") == name
        }
        assert {"SyncStarted", "SyncCompleted"} <= reasons
        remote = admin.resolve("remoteclusters.dr-syncer.io")
        eventually(
            lambda: (
                ((admin.get(remote, chart.watch_namespace, "dr1") or {}).get("status") or {}).get("health")
                == "Healthy"
            ),
            timeout_s=30,
            what="a health check written by the worker",
        )
        lease = admin.get(LEASES, chart.env["DRSYNCER_LEASE_NAMESPACE"], chart.env["DRSYNCER_LEASE_NAME"])
        assert lease is not None and lease["spec"].get("holderIdentity"), lease

        admin.delete(replications, chart.watch_namespace, name)
        eventually(
            lambda: admin.get(replications, chart.watch_namespace, name) is None,
            timeout_s=30,
            what="the finalizer removed by the watcher",
        )
        eventually(
            lambda: (
                not list(
                    chart.dr1.admin.list(CONFIGMAPS, copy_namespace, label_selector=keys.LABEL_MANAGED_BY)
                )
            ),
            timeout_s=30,
            what="the copies cleaned up by the worker",
        )
    except BaseException:
        print(chart.pipeline.logs())
        raise
    finally:
        chart.dr1.delete_namespace(copy_namespace)
    logs = {name: proc.log_path.read_text(errors="replace") for name, proc in chart.pipeline.procs.items()}
    for process, text in logs.items():
        refused = refusals(text.splitlines())
        assert not refused, f"{process}:\n" + "\n".join(refused[:20])
