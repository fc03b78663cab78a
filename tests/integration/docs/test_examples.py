"""The scenarios of docs/examples, applied as a user applies them and synced.

Simulated clusters named as in the examples (controller, prod, dr1, dr2), shared by the module. Each
example's files are applied with the stock kubernetes client (server-side apply, what `kubectl apply
--server-side -f` sends): `replication.yaml` to the controller cluster with the kubeconfig Secret
placeholders filled in for the simulated clusters, `source.yaml` to prod, `dr-cluster.yaml` to every
DR cluster. Each Replication then runs once the way a worker runs a sync-now request (the watcher's
jobs of the Replication through the workers' task body, on a real Redis), and the copies are checked
against what docs/examples/README.md says each example does.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import config as kube_config
from kubernetes import dynamic
from kubernetes.client.rest import ApiException
from kubernetes.dynamic.exceptions import ResourceNotFoundError

from drsyncer.api import keys
from drsyncer.api.crds import all_crds
from drsyncer.cli import main as drsyncer_main
from drsyncer.config import load_settings
from drsyncer.demo.sample import single_context_kubeconfig
from drsyncer.kube import client_from_kubeconfig_file
from drsyncer.sim import SimFleet
from drsyncer.task_contract import Trigger
from scheduler.entries import jobs_for, read_remote_clusters, read_replication, source_key
from tests.fixtures.polling import eventually
from tests.fixtures.redis_server import RedisServer
from workers.jobs import Context, run_sync

EXAMPLES = Path(__file__).resolve().parents[3] / "docs" / "examples"
CONTROLLER_NS = "dr-system"
CLUSTERS = ("controller", "prod", "dr1", "dr2")
DR_CLUSTERS = ("dr1", "dr2")
PLACEHOLDER = "REPLACE-WITH-KUBECONFIG"

Obj = dict[str, Any]


def examples() -> list[str]:
    return sorted(p.name for p in EXAMPLES.iterdir() if (p / "replication.yaml").is_file())


def documents(path: Path) -> list[Obj]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


class Fleet:
    """The simulated clusters, a stock dynamic client per cluster, and the examples' run outcomes."""

    def __init__(self, fleet: SimFleet, kubeconfig: Path) -> None:
        self.fleet = fleet
        self.kubeconfig = kubeconfig
        self.merged = yaml.safe_load(kubeconfig.read_text())
        self.stock = {
            name: dynamic.DynamicClient(kube_config.new_client_from_config(str(kubeconfig), context=name))
            for name in CLUSTERS
        }
        self.outcomes: dict[str, list[dict[str, Any]]] = {}

    def resource(self, cluster: str, api_version: str, kind: str) -> Any:
        return self.stock[cluster].resources.get(api_version=api_version, kind=kind)

    def apply(self, cluster: str, obj: Obj) -> None:
        """Server-side apply of one object, as `kubectl apply --server-side` does."""
        meta = obj["metadata"]
        self.resource(cluster, obj["apiVersion"], obj["kind"]).server_side_apply(
            body=obj,
            name=meta["name"],
            namespace=meta.get("namespace"),
            field_manager="kubectl",
            force_conflicts=True,
        )

    def get(self, cluster: str, api_version: str, kind: str, namespace: str | None, name: str) -> Obj | None:
        try:
            found = self.resource(cluster, api_version, kind).get(name=name, namespace=namespace)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return dict(found.to_dict())

    def names(self, cluster: str, api_version: str, kind: str, namespace: str) -> set[str]:
        listed = self.resource(cluster, api_version, kind).get(namespace=namespace)
        return {item["metadata"]["name"] for item in listed.to_dict()["items"]}

    def namespaces(self, cluster: str) -> dict[str, dict[str, str]]:
        listed = self.resource(cluster, "v1", "Namespace").get().to_dict()["items"]
        return {ns["metadata"]["name"]: ns["metadata"].get("labels") or {} for ns in listed}

    def kubeconfig_of(self, cluster: str) -> str:
        return yaml.safe_dump(single_context_kubeconfig(self.merged, cluster))


def with_kubeconfigs(objs: list[Obj], fleet: Fleet) -> list[Obj]:
    """The controller objects with each kubeconfig Secret placeholder replaced by the kubeconfig of
    the simulated cluster its RemoteCluster names; a Secret with real content fails the test."""
    secret_cluster = {
        o["spec"]["kubeconfigSecretRef"]["name"]: o["metadata"]["name"]
        for o in objs
        if o["kind"] == keys.KIND_REMOTE_CLUSTER
    }
    out = []
    for obj in objs:
        if obj["kind"] == "Secret":
            name = obj["metadata"]["name"]
            assert name in secret_cluster, f"Secret {name} is not a RemoteCluster's kubeconfig Secret"
            text = obj["stringData"]["kubeconfig"]
            assert text == f"{PLACEHOLDER}: {secret_cluster[name]}", f"Secret {name} holds {text!r}"
            obj = {**obj, "stringData": {"kubeconfig": fleet.kubeconfig_of(secret_cluster[name])}}
        out.append(obj)
    return out


def run_replication(fleet: Fleet, ctx: Context, name: str) -> list[dict[str, Any]]:
    """Every job the watcher makes of Replication `name`, each run by the workers' task body as one
    sync-now run; the outcomes of the tasks."""
    controller = fleet.stock["controller"]
    live = controller.resources.get(api_version=keys.API_VERSION, kind=keys.KIND_REPLICATION)
    obj = live.get(name=name, namespace=CONTROLLER_NS).to_dict()
    clusters = controller.resources.get(api_version=keys.API_VERSION, kind=keys.KIND_REMOTE_CLUSTER)
    remote = read_remote_clusters(clusters.get(namespace=CONTROLLER_NS).to_dict()["items"])
    read = read_replication(obj, remote)
    assert read.model is not None, f"Replication {name}: {read.errors}"
    jobs = jobs_for(read.model, remote, {source_key(read.model): fleet.namespaces("prod")})
    assert jobs, f"Replication {name} selects no namespace"
    run_id = uuid.uuid4().hex
    return [run_sync(ctx, job.task_job(Trigger.SYNC_NOW, run_id), uuid.uuid4().hex).to_dict() for job in jobs]


@pytest.fixture(scope="module")
def synced(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    """Every example applied and its Replications run once."""
    with SimFleet(CLUSTERS) as sims:
        fleet = Fleet(sims, sims.write_kubeconfig(tmp_path_factory.mktemp("examples") / "kubeconfig"))
        for crd in all_crds():
            fleet.apply("controller", crd)
        fleet.apply(
            "controller", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": CONTROLLER_NS}}
        )
        eventually(
            lambda: [
                fleet.stock["controller"].resources.get(api_version=keys.API_VERSION, kind=k)
                for k in (keys.KIND_REPLICATION, keys.KIND_REMOTE_CLUSTER)
            ],
            what="the dr-syncer.io kinds to be served",
            tolerate=(AssertionError, ResourceNotFoundError),
        )
        controller = client_from_kubeconfig_file(fleet.kubeconfig, context="controller", name="controller")
        settings = load_settings({"DRSYNCER_REDIS_URL": redis_server.url})
        redis = redis_server.client()
        ctx = Context.assemble(settings, controller, redis, worker="docs-examples")
        try:
            for example in examples():
                folder = EXAMPLES / example
                for obj in documents(folder / "source.yaml"):
                    fleet.apply("prod", obj)
                if (folder / "dr-cluster.yaml").is_file():
                    for cluster in DR_CLUSTERS:
                        for obj in documents(folder / "dr-cluster.yaml"):
                            fleet.apply(cluster, obj)
                controller_objs = with_kubeconfigs(documents(folder / "replication.yaml"), fleet)
                for obj in controller_objs:
                    fleet.apply("controller", obj)
                for obj in controller_objs:
                    if obj["kind"] == keys.KIND_REPLICATION:
                        fleet.outcomes[example] = run_replication(fleet, ctx, obj["metadata"]["name"])
            yield fleet
        finally:
            ctx.close()


def replication_phase(fleet: Fleet, name: str) -> str | None:
    obj = fleet.get("controller", keys.API_VERSION, keys.KIND_REPLICATION, CONTROLLER_NS, name) or {}
    return (obj.get("status") or {}).get("phase")


def assert_completed(fleet: Fleet, example: str, replication: str) -> None:
    outcomes = fleet.outcomes[example]
    assert [o["phase"] for o in outcomes] == ["Completed"] * len(outcomes), outcomes
    assert sum(o["totals"]["failed"] for o in outcomes) == 0, outcomes
    assert replication_phase(fleet, replication) == "Completed"


def replicas_and_recorded(obj: Obj | None) -> tuple[int, str | None]:
    assert obj is not None
    return obj["spec"]["replicas"], obj["metadata"]["annotations"].get(keys.ANNOTATION_ORIGINAL_REPLICAS)


def test_every_example_validates_offline(capsys: pytest.CaptureFixture[str]) -> None:
    for example in examples():
        path = EXAMPLES / example / "replication.yaml"
        assert drsyncer_main(["validate", str(path)]) == 0, capsys.readouterr().out
        out = capsys.readouterr().out
        assert "OK Replication/" in out and "OK RemoteCluster/" in out, out


def test_every_example_has_its_checks() -> None:
    # a new example directory needs a test below saying what its copies look like
    assert examples() == sorted(CHECKS)


def check_nightly_standby(fleet: Fleet) -> None:
    assert_completed(fleet, "01-nightly-standby", "shop-nightly")
    web = fleet.get("dr1", "apps/v1", "Deployment", "shop", "web")
    assert replicas_and_recorded(web) == (0, "3")
    assert fleet.names("dr1", "v1", "ConfigMap", "shop") >= {"shop-settings"}
    assert "shop-db" in fleet.names("dr1", "v1", "Secret", "shop")
    assert fleet.get("dr1", "v1", "Service", "shop", "web") is not None
    assert fleet.get("dr2", "v1", "Namespace", None, "shop") is None


def check_two_dr_clusters_renamed(fleet: Fleet) -> None:
    assert_completed(fleet, "02-two-dr-clusters-renamed", "billing")
    for cluster in DR_CLUSTERS:
        claim = fleet.get(cluster, "v1", "PersistentVolumeClaim", "billing-dr", "ledger-data")
        assert claim is not None and claim["spec"]["storageClassName"] == "standard-ssd", cluster
        ledger = fleet.get(cluster, "apps/v1", "Deployment", "billing-dr", "ledger")
        assert replicas_and_recorded(ledger) == (0, "2")
        assert fleet.get(cluster, "v1", "ConfigMap", "billing-reports-dr", "report-schedule") is not None
        assert fleet.get(cluster, "v1", "Namespace", None, "billing") is None
        assert fleet.get(cluster, "v1", "Namespace", None, "billing-reports") is None


def check_continuous_config(fleet: Fleet) -> None:
    assert_completed(fleet, "03-continuous-config", "platform-config")
    flags = fleet.get("dr1", "v1", "ConfigMap", "platform-config", "feature-flags")
    assert flags is not None and flags["data"] == {"checkout-v2": "true", "search-beta": "false"}
    assert "api-keys" in fleet.names("dr1", "v1", "Secret", "platform-config")
    assert fleet.names("dr1", "apps/v1", "Deployment", "platform-config") == set()


def check_select_by_label(fleet: Fleet) -> None:
    assert_completed(fleet, "04-select-by-label", "storefront")
    assert replicas_and_recorded(fleet.get("dr1", "apps/v1", "Deployment", "storefront-web", "frontend")) == (
        0,
        "4",
    )
    assert fleet.get("dr1", "v1", "Service", "storefront-web", "frontend") is not None
    configmaps = fleet.names("dr1", "v1", "ConfigMap", "storefront-web")
    assert not configmaps & {"local-debug", "scratch"}, configmaps
    assert "frontend-tls" not in fleet.names("dr1", "v1", "Secret", "storefront-web")
    assert fleet.names("dr1", "apps/v1", "Deployment", "storefront-api") == {"catalog"}
    assert fleet.get("dr1", "v1", "Namespace", None, "storefront-sandbox") is None


def check_failover_ready(fleet: Fleet) -> None:
    assert_completed(fleet, "05-failover-ready", "payments")
    api = fleet.get("dr1", "apps/v1", "Deployment", "payments", "payments-api")
    assert replicas_and_recorded(api) == (0, "3")
    settlement = fleet.get("dr1", "batch/v1", "CronJob", "payments", "settlement")
    assert settlement is not None and settlement["spec"]["suspend"] is True
    claim = fleet.get("dr1", "v1", "PersistentVolumeClaim", "payments", "payments-journal")
    assert claim is not None and claim["spec"]["storageClassName"] == "standard-ssd"
    check = subprocess.run(
        [
            sys.executable,
            "-m",
            "drsyncer.cli",
            "failover",
            "--check",
            "--to",
            "dr1",
            "--kubeconfig",
            str(fleet.kubeconfig),
            "-n",
            "payments",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "ready: a failover to dr1 now would bring up 2 workloads" in check.stdout, check.stdout


CHECKS: dict[str, Callable[[Fleet], None]] = {
    "01-nightly-standby": check_nightly_standby,
    "02-two-dr-clusters-renamed": check_two_dr_clusters_renamed,
    "03-continuous-config": check_continuous_config,
    "04-select-by-label": check_select_by_label,
    "05-failover-ready": check_failover_ready,
}


@pytest.mark.parametrize("example", sorted(CHECKS))
def test_example_applies_and_syncs_as_its_readme_says(synced: Fleet, example: str) -> None:
    CHECKS[example](synced)
