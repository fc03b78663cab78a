"""The whole pipeline with real processes: controller, source and two DR clusters, a private
redis-server, and `drsyncer watcher`, `drsyncer beat` and two `drsyncer worker` processes (Flower when a
test asks for it).

The clusters are simulated (in this process) unless a module asks for real control planes by
overriding the `pipeline_backend` fixture (params "sim" and "real" run it on both). Real clusters are
the session's, shared with other tests: the pipeline then works in a controller namespace of its own
and deletes it, and the CRDs, when the module ends.

The processes serve the whole module; each test works in its own Replications and namespaces and
deletes its Replications when it ends. Process logs go to files, printed when a test fails.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis
import requests
import yaml
from celery import Celery

from drsyncer.api.crds import all_crds
from drsyncer.errors import CategorisedError
from drsyncer.kube import ClusterClient, client_from_kubeconfig
from drsyncer.kube.discovery import ResourceRef
from drsyncer.sim import SimCluster, SimFleet
from drsyncer.sim import tls as tls_certs
from tests.fixtures import polling as poll
from tests.fixtures.children import popen
from tests.fixtures.controlplane import ControlPlaneFleet, kubeconfig_of
from tests.fixtures.polling import builtin_ref
from tests.fixtures.ports import free_port
from tests.fixtures.redis_server import RedisServer

NS = "dr-system"
DB = 7  # a database of its own on the session's redis-server (other tests flush database 0)
T = TypeVar("T")
# short limits so that a worker that vanished hands its task back within a test's patience
TASK_TIME_LIMIT_S = 25
VISIBILITY_TIMEOUT_S = 30
FLOWER_AUTH = ("ops", "pipeline-pass")


NAMESPACES = builtin_ref("namespaces")
SECRETS = builtin_ref("secrets")
CRDS = builtin_ref("customresourcedefinitions")
CONFIGMAPS = builtin_ref("configmaps")
EVENTS = builtin_ref("events")


def eventually(check: Callable[[], T], timeout_s: float = 30.0, what: str = "condition") -> T:
    """Poll `check` until it returns something truthy; processes may be starting, so HTTP and Redis
    errors count as "not yet" too."""
    return poll.eventually(
        check,
        timeout_s,
        what,
        interval_s=0.2,
        tolerate=(AssertionError, requests.RequestException, redis.RedisError),
    )


@dataclass
class Proc:
    """One drsyncer process, its own process group, output in a log file."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        log = self.log_path.open("ab")
        self.popen = popen(
            self.argv, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        return self

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def terminate(self) -> None:
        """Send SIGTERM, the stop Kubernetes sends, to the process group if it runs; `stop` waits."""
        if self.popen is not None and self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)

    def stop(self, timeout_s: float = 20.0) -> None:
        if self.popen is None:
            return
        if self.popen.poll() is None:
            self.terminate()
            try:
                self.popen.wait(timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(10)
        # pool processes left behind by a parent that did not stop them
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)

    def kill(self) -> None:
        """SIGKILL the whole process group (the worker and its pool processes), as a crashed pod."""
        assert self.popen is not None
        os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(10)

    def tail(self, lines: int = 80) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text[-lines:])


# a worker stopping at the end of a module has nothing left to finish: it is not given Celery's soft
# shutdown (SIGQUIT after TEARDOWN_HURRY_S), nor a cold shutdown's Redis calls (SIGKILL after
# TEARDOWN_WORKER_KILL_S); what it leaves in Redis goes with the next module's flush
TEARDOWN_HURRY_S = 2.0
TEARDOWN_WORKER_KILL_S = 5.0


def stop_all(procs: Iterable[Proc]) -> None:
    """Stop processes at the end of a module, all at once: SIGTERM to every one; workers still running
    after TEARDOWN_HURRY_S get SIGQUIT and after TEARDOWN_WORKER_KILL_S SIGKILL; the others get the
    usual `Proc.stop`."""
    stopping = list(procs)
    for proc in stopping:
        proc.terminate()
    workers = [p for p in stopping if p.name.startswith("worker") and p.popen is not None]
    deadline = time.monotonic() + TEARDOWN_HURRY_S
    for proc in workers:
        _wait_until(proc, deadline)
    for proc in workers:
        popen = proc.popen
        if popen is not None and popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(popen.pid, signal.SIGQUIT)  # Celery's second stop signal: no soft shutdown
    deadline = time.monotonic() + TEARDOWN_WORKER_KILL_S - TEARDOWN_HURRY_S
    for proc in workers:
        _wait_until(proc, deadline)
    for proc in stopping:
        proc.stop(0.1 if proc in workers else 20.0)


def _wait_until(proc: Proc, deadline: float) -> None:
    assert proc.popen is not None
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.popen.wait(max(deadline - time.monotonic(), 0.0))


@dataclass
class Pipeline:
    backend: str  # "sim" or "real"
    clusters: dict[str, Any]  # by name: SimCluster or ControlPlane
    ns: str  # the controller namespace: RemoteClusters, Replications, the Lease
    controller: ClusterClient
    source: ClusterClient
    redis_url: str
    app: Celery
    workdir: Path
    kubeconfig: Path
    procs: dict[str, Proc] = field(default_factory=dict)
    metrics_ports: dict[str, int] = field(default_factory=dict)
    flower_port: int = 0
    created: list[str] = field(default_factory=list)
    extra_env: dict[str, str] = field(default_factory=dict)  # the module's `pipeline_env`
    # credential values in the RemoteClusters' kubeconfig Secrets (tokens, client keys): must never leak
    credentials: list[str] = field(default_factory=list)
    _clients: dict[str, ClusterClient] = field(default_factory=dict)

    # -- processes ----------------------------------------------------------------------------------

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("DRSYNCER_", "PROMETHEUS_", "FLOWER_"))
        }
        env.update(
            {
                "DRSYNCER_REDIS_URL": self.redis_url,
                "DRSYNCER_KUBECONFIG": str(self.kubeconfig),
                "DRSYNCER_KUBE_CONTEXT": "controller",
                "DRSYNCER_WATCH_NAMESPACE": self.ns,
                "DRSYNCER_LOG_LEVEL": "INFO",
                "DRSYNCER_TASK_TIME_LIMIT": str(TASK_TIME_LIMIT_S),
                "DRSYNCER_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT_S),
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.extra_env)
        env.update(extra)
        return env

    def start(self, name: str, command: str, **env: str) -> Proc:
        proc = Proc(
            name,
            [sys.executable, "-m", "drsyncer.cli", command],
            self.env(**env),
            self.workdir / f"{name}.log",
        ).start()
        self.procs[name] = proc
        return proc

    def start_worker(self, name: str, **env: str) -> Proc:
        port = self.metrics_ports.setdefault(name, free_port())
        return self.start(
            name,
            "worker",
            DRSYNCER_WORKER_NAME=f"{name}@pipeline",
            DRSYNCER_CONCURRENCY="2",
            DRSYNCER_METRICS_PORT=str(port),
            DRSYNCER_HEARTBEAT_FILE=str(self.workdir / f"{name}.heartbeat"),
            DRSYNCER_METRICS_DIR=str(self.workdir / f"{name}-metrics"),
            **env,
        )

    def start_flower(self) -> Proc:
        self.flower_port = free_port()
        proc = self.start(
            "flower",
            "flower",
            DRSYNCER_FLOWER_PORT=str(self.flower_port),
            DRSYNCER_FLOWER_BASIC_AUTH=":".join(FLOWER_AUTH),
        )
        eventually(
            lambda: requests.get(f"http://127.0.0.1:{self.flower_port}/healthcheck", timeout=2).ok,
            what="Flower to answer",
        )
        return proc

    def wait_workers_ready(self, *names: str) -> None:
        def consuming(name: str) -> bool:
            if not self.procs[name].alive:  # say so now, with why, rather than after the deadline
                pytest.fail(f"{name} exited while starting:\n{self.procs[name].tail(40)}")
            return (self.workdir / f"{name}.heartbeat").exists()

        for name in names or ("worker-1", "worker-2"):
            try:
                eventually(lambda n=name: consuming(n), timeout_s=60, what=f"{name} to start consuming")
            except pytest.fail.Exception:
                print(self.procs[name].tail(200))
                raise

    def logs(self) -> str:
        return "\n\n".join(f"===== {p.name} ({p.log_path}) =====\n{p.tail()}" for p in self.procs.values())

    # -- the controller cluster -------------------------------------------------------------------

    def resolve(self, name: str) -> ResourceRef:
        return self.controller.resolve(name)

    def apply_replication(self, name: str, **spec: Any) -> dict[str, Any]:
        body = {
            "apiVersion": "dr-syncer.io/v1alpha1",
            "kind": "Replication",
            "metadata": {"name": name, "namespace": self.ns},
            "spec": {"sourceCluster": "source", "destinationClusters": ["dr1", "dr2"], **spec},
        }
        self.created.append(name)
        return self.controller.create(self.resolve("replications.dr-syncer.io"), self.ns, body)

    def replication(self, name: str) -> dict[str, Any]:
        obj = self.controller.get(self.resolve("replications.dr-syncer.io"), self.ns, name)
        assert obj is not None
        return obj

    def status(self, name: str) -> dict[str, Any]:
        return dict(self.replication(name).get("status") or {})

    def condition(self, name: str, type_: str) -> dict[str, Any]:
        return next((c for c in self.status(name).get("conditions", []) if c["type"] == type_), {})

    def annotate(self, name: str, annotations: dict[str, str | None]) -> None:
        self.controller.patch(
            self.resolve("replications.dr-syncer.io"),
            self.ns,
            name,
            {"metadata": {"annotations": annotations}},
        )

    def delete_replication(self, name: str) -> None:
        self.controller.delete(self.resolve("replications.dr-syncer.io"), self.ns, name)

    def events(self, name: str) -> list[dict[str, Any]]:
        return [
            e
            for e in self.controller.list(EVENTS, self.ns)
            if (e.get("involvedObject") or {}).get("name") == name
        ]

    def remote_cluster(self, name: str) -> dict[str, Any]:
        obj = self.controller.get(self.resolve("remoteclusters.dr-syncer.io"), self.ns, name)
        assert obj is not None
        return obj

    # -- the clusters -----------------------------------------------------------------------------

    def sim(self, name: str) -> SimCluster:
        assert self.backend == "sim", f"{name} is a real cluster: no simulator controls"
        cluster: SimCluster = self.clusters[name]
        return cluster

    def unique(self, base: str) -> str:
        """A namespace name for a test: `base` on the simulator, `base` and this pipeline's suffix on
        the session's shared real clusters."""
        return base if self.backend == "sim" else f"{base}-{self.ns.rsplit('-', 1)[1]}"

    def writes(self, cluster: str) -> int:
        """Writes a cluster has served: the simulator's request counters, or a real kube-apiserver's
        creates and updates of the kinds drsyncer copies (`ControlPlane.writes`)."""
        return int(self.clusters[cluster].writes())

    def client(self, name: str) -> ClusterClient:
        """An admin drsyncer client of cluster `name`, kept for the module."""
        if name not in self._clients:
            self._clients[name] = client_from_kubeconfig(self.clusters[name].kubeconfig_dict(), name=name)
        return self._clients[name]

    def seed(
        self,
        namespace: str,
        count: int,
        *,
        prefix: str = "cm",
        labels: dict[str, str] | None = None,
        data_size: int = 16,
    ) -> None:
        """A source namespace with `count` ConfigMaps, written straight into the simulator's store (through
        the API on a real cluster)."""
        if self.backend != "sim":
            source = self.client("source")
            if source.get(NAMESPACES, None, namespace) is None:
                source.create(NAMESPACES, None, {"metadata": {"name": namespace, "labels": labels or {}}})
            for i in range(count):
                source.create(
                    CONFIGMAPS,
                    namespace,
                    {
                        "metadata": {"name": f"{prefix}-{i:05d}"},
                        "data": {"value": f"{i}".rjust(data_size, "x")},
                    },
                )
            return
        store = self.sim("source").store
        store.put(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": labels or {}}}
        )
        for i in range(count):
            store.put(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": f"{prefix}-{i:05d}", "namespace": namespace},
                    "data": {"value": f"{i}".rjust(data_size, "x")},
                }
            )

    def configmaps(self, cluster: str, namespace: str) -> dict[str, dict[str, Any]]:
        if self.backend != "sim":
            return {o["metadata"]["name"]: o for o in self.client(cluster).list(CONFIGMAPS, namespace)}
        store = self.sim(cluster).store
        key = store.resource_for("v1", "ConfigMap").key
        return {o["metadata"]["name"]: o for o in store.iter_objects(key, namespace)}

    # -- Redis and the run records ----------------------------------------------------------------

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_url)

    def run_records(self, name: str) -> dict[str, dict[str, Any]]:
        """The latest record of each source namespace of a Replication, as the workers stored them."""
        uid = self.replication(name)["metadata"]["uid"]
        raw = self.redis().hgetall(f"drsyncer:runs:Replication/{self.ns}/{name}/{uid}:results")
        return {k.decode(): json.loads(v) for k, v in raw.items()}

    def send_sync(
        self, name: str, source_namespaces: list[str], *, run_id: str | None = None, trigger: str = "sync-now"
    ) -> tuple[str, list[str]]:
        """Send the tasks of one run as the watcher does for sync-now; returns (run id, task ids)."""
        obj = self.replication(name)
        meta = obj["metadata"]
        run_id = run_id or uuid.uuid4().hex
        spec = obj["spec"]
        ids = []
        for source_ns in source_namespaces:
            kwargs = {
                "replication": {
                    "kind": "Replication",
                    "namespace": self.ns,
                    "name": name,
                    "uid": meta["uid"],
                    "generation": meta["generation"],
                },
                "source_cluster": spec["sourceCluster"],
                "source_namespace": source_ns,
                "targets": [{"cluster": c, "namespace": source_ns} for c in spec["destinationClusters"]],
                "mode": spec.get("replicationMode", "Scheduled"),
                "run_id": run_id,
                "trigger": trigger,
            }
            ids.append(str(self.app.send_task("drsyncer.sync_namespace", kwargs=kwargs, queue="sync").id))
        return run_id, ids

    def running(self, task_id: str) -> dict[str, Any] | None:
        """The task as `celery inspect active` shows it while a worker runs it (`hostname`, the pool
        process's `worker_pid`), else None. Workers store no task results, so this is where it shows."""
        for tasks in (self.app.control.inspect(timeout=1).active() or {}).values():
            for task in tasks:
                if task.get("id") == task_id:
                    return dict(task)
        return None

    def flower_tasks(self, **params: str) -> dict[str, dict[str, Any]]:
        """The tasks Flower's API shows (from the workers' task events), by task id; needs `start_flower`."""
        response = requests.get(
            f"http://127.0.0.1:{self.flower_port}/api/tasks", params=params, auth=FLOWER_AUTH, timeout=5
        )
        response.raise_for_status()
        tasks: dict[str, dict[str, Any]] = response.json()
        return tasks

    def flower_tasks_of(self, task_name: str, replication: str, **params: str) -> list[dict[str, Any]]:
        """Flower's tasks called `task_name` of one Replication, oldest first (found by their readable
        arguments)."""
        shown = f"'{self.ns}/{replication}'"
        tasks = [
            t
            for t in self.flower_tasks(**params).values()
            if t.get("name") == task_name and shown in str(t.get("kwargs"))
        ]
        return sorted(tasks, key=lambda t: t.get("received") or t.get("timestamp") or 0)

    def metrics(self, process: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        """The samples a worker's (or the watcher's) metrics endpoint serves."""
        from prometheus_client.parser import text_string_to_metric_families

        text = requests.get(f"http://127.0.0.1:{self.metrics_ports[process]}/metrics", timeout=5).text
        out = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                out[(sample.name, frozenset(sample.labels.items()))] = sample.value
        return out


def _kubeconfig_secret(
    name: str, cluster: Any, client_key: bool = False, credentials: list[str] | None = None
) -> dict[str, Any]:
    """The RemoteCluster's kubeconfig Secret; the credential values in it are added to `credentials`.
    With `client_key` the user also carries a client certificate and key (a generated pair; a
    plain-HTTP simulator never asks for it, but drsyncer reads and holds it like any other)."""
    config = cluster.kubeconfig_dict()
    user = config["users"][0]["user"]
    if client_key:
        pair = tls_certs.server_certificate("127.0.0.1", f"{name}-client")
        user["client-certificate-data"] = base64.b64encode(pair.cert_pem).decode()
        user["client-key-data"] = base64.b64encode(pair.key_pem).decode()
    values = [v for v in (user.get("token"), user.get("client-key-data")) if v]
    if client_key:  # the key's PEM body, line by line, as it would show if printed decoded
        values += [line for line in pair.key_pem.decode().splitlines() if not line.startswith("-----")]
    if credentials is not None:
        credentials += values
    data = yaml.safe_dump(config).encode()
    return {
        "metadata": {"name": f"{name}-kubeconfig"},
        "data": {"kubeconfig": base64.b64encode(data).decode()},
    }


@pytest.fixture(scope="module")
def pipeline_backend() -> str:
    """The clusters the module's pipeline runs on; a module overrides this to run on real ones too."""
    return "sim"


def _each_backend(request: pytest.FixtureRequest) -> str:
    selected = request.config.getoption("--backend")
    if selected not in ("both", request.param):
        pytest.skip(f"--backend {selected}")
    return str(request.param)


# a module that imports this runs its pipeline on the simulator and on real control planes
# (`from tests.integration.pipeline.conftest import on_both_backends`, its unused-import warning silenced)
on_both_backends = pytest.fixture(scope="module", params=["sim", "real"], name="pipeline_backend")(
    _each_backend
)


@pytest.fixture(scope="module")
def pipeline_env() -> dict[str, str]:
    """Environment every process of the module's pipeline gets in addition; a module overrides this."""
    return {}


@pytest.fixture(scope="module")
def pipeline_credentials() -> bool:
    """Whether the simulated clusters ask for bearer tokens and the kubeconfig Secrets carry client keys
    too (a module that checks no credential leaks overrides this with True)."""
    return False


@pytest.fixture(scope="module")
def pipeline(
    pipeline_backend: str,
    pipeline_credentials: bool,
    redis_server: RedisServer,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[Pipeline]:
    workdir = tmp_path_factory.mktemp("pipeline")
    redis_url = f"redis://{redis_server.host}:{redis_server.port}/{DB}"
    redis.Redis.from_url(redis_url).flushdb()
    names = ["controller", "source", "dr1", "dr2"]
    fleet: SimFleet | None = None
    if pipeline_backend == "sim":
        fleet = SimFleet(names, token=True if pipeline_credentials else None).start()
        clusters: dict[str, Any] = {c.name: c for c in fleet}
        ns = NS
    else:
        planes: ControlPlaneFleet = request.getfixturevalue("control_planes")
        clusters = {c.name: c for c in planes.ensure(names)}
        ns = f"{NS}-{uuid.uuid4().hex[:8]}"  # the session's controller cluster is shared
    kubeconfig = workdir / "controller.kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(kubeconfig_of(list(clusters.values()), "controller")))
    kubeconfig.chmod(0o600)
    controller = client_from_kubeconfig(clusters["controller"].kubeconfig_dict(), name="controller")
    source = client_from_kubeconfig(clusters["source"].kubeconfig_dict(), name="source")
    controller.create(NAMESPACES, None, {"metadata": {"name": ns}})
    installed = []
    for crd in all_crds():
        if controller.get(CRDS, None, crd["metadata"]["name"]) is None:  # another module's may be there
            controller.create(CRDS, None, crd)
            installed.append(crd["metadata"]["name"])
    # a CRD is served a moment after its create, as on kube-apiserver
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
    # a real server takes a moment from Established to accepting objects of the kind
    eventually(lambda: list(controller.list(remote_clusters, ns)) == [], what="RemoteClusters to be listed")
    # the processes' own kubeconfig holds the controller cluster's token
    credentials = [t for t in [getattr(clusters["controller"], "token", None)] if t]
    for name in ("source", "dr1", "dr2"):
        secret = _kubeconfig_secret(name, clusters[name], pipeline_credentials, credentials)
        controller.create(SECRETS, ns, secret)
        controller.create(
            remote_clusters,
            ns,
            {
                "apiVersion": "dr-syncer.io/v1alpha1",
                "kind": "RemoteCluster",
                "metadata": {"name": name, "namespace": ns},
                # a budget far above what the tests send: the shared limiter is tested elsewhere
                "spec": {
                    "kubeconfigSecretRef": {"name": f"{name}-kubeconfig"},
                    "rateLimit": {"qps": 5000, "burst": 5000},
                },
            },
        )
    from scheduler.celery_app import make_app

    app = make_app(redis_url)
    try:  # modules that import this fixture by name may not import `pipeline_env`
        extra_env = dict(request.getfixturevalue("pipeline_env"))
    except pytest.FixtureLookupError:
        extra_env = {}
    p = Pipeline(
        pipeline_backend,
        clusters,
        ns,
        controller,
        source,
        redis_url,
        app,
        workdir,
        kubeconfig,
        extra_env=extra_env,
        credentials=credentials,
    )
    try:
        p.metrics_ports["watcher"] = free_port()
        p.start(
            "watcher",
            "watcher",
            DRSYNCER_METRICS_PORT=str(p.metrics_ports["watcher"]),
            DRSYNCER_PROBE_PORT=str(free_port()),
            DRSYNCER_LEASE_DURATION="3",
            DRSYNCER_RESYNC_INTERVAL="5",
            DRSYNCER_HEALTH_CHECK_INTERVAL="2",
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
        if fleet is not None:
            fleet.stop()
        else:  # the real clusters stay for the session: leave them as they were
            controller.delete(NAMESPACES, None, ns)
            for name in installed:
                controller.delete(CRDS, None, name)
            # a later test may create the same CRDs: wait until they are gone, not merely deleting
            for name in installed:
                eventually(
                    lambda n=name: controller.get(CRDS, None, n) is None,
                    timeout_s=60,
                    what=f"CRD {name} gone from the controller cluster",
                )
        for client in [controller, source, *p._clients.values()]:
            client.close()


@pytest.fixture
def pipe(pipeline: Pipeline, request: pytest.FixtureRequest) -> Iterator[Pipeline]:
    """The module's pipeline for one test: its Replications are deleted afterwards, and the process
    logs are printed if the test failed."""
    yield pipeline
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(pipeline.logs())
    for name in pipeline.created:
        try:
            pipeline.delete_replication(name)
        except Exception as exc:  # already deleted by the test
            print(f"deleting Replication {name}: {exc}")
    pipeline.created.clear()
    for proc in ("worker-1", "worker-2"):
        if not pipeline.procs[proc].alive:
            pipeline.start_worker(proc)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
