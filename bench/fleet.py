"""The whole pipeline at fleet shape: cost per object, unchanged resync, rate budget, schedule
entries, schedule lateness, Redis memory and a worker's peak memory.

Runs a private redis-server (no persistence), the simulated clusters (controller, source, dr1, dr2,
dr3) in a process of their own with latency on every destination request, and real
`drsyncer watcher`, `drsyncer beat` and `drsyncer worker` processes (Flower off). Every figure is
measured in this run; ratios compare figures of the same run.

    pip install '.[bench]'                   # psutil, besides drsyncer; redis-server on PATH
    python bench/fleet.py                    # defaults sized to finish in under 10 minutes on 2 cores
    python bench/fleet.py --quick            # every phase, small, in about two minutes
    python bench/fleet.py --json out.json    # the figures as JSON as well

Phases (each prints its table):

- cold: `--namespaces` x `--objects` ConfigMaps of `--size` bytes copied to dr1 and dr2 by 1, 2 and 4
  workers (`--concurrency` each), `--rounds` times each (every other round in reverse order; the
  figures are the medians): wall time, objects/s and CPU-seconds per 1,000 objects copied (the
  worker processes and their pool processes; the simulator is not counted), measured from the
  moment the started workers are idle (each pool process gets ready as it starts:
  workers/warm_start.py), and the CPU a worker used to start; then (`--again`, off by default: it
  costs the time of two more rounds) the same copy once more into namespaces of its own by the same
  workers, whose every pool process has synced before: its CPU per 1,000 objects leaves out what each process's first sync costs (the cold sync's figure
  is the one that counts; this one shows how much of the difference between worker counts that is);
- resync: the first round's Replication of one worker synced again with nothing changed, once asked
  for (sync now: reads both sides as metadata) and then scheduled (`@every 10s`, `--resync-runs`
  runs 10 s apart, figures their medians, then back to Manual: trusts the change feeds): time from
  the ask to the status and time in the workers (first task's start to last task's end, from the
  run records), requests and body bytes the clusters sent (watch events included), against the
  cold sync of one worker (time: the median of its rounds);
- rate budget: a copy into dr3 under a RemoteCluster `rateLimit` of `--qps`/`--burst`: requests per
  second over qps (discovery included) and the most requests seen in any one second;
- schedule: `--entries` schedule entries (Replications of 4 namespaces each, `@every 60s`): time
  until all are in Redis, the watcher's and beat's CPU (% of one core) and RSS over `--steady-s`
  seconds, and, where workers run (the first size), lateness: how much later than due each run was
  sent (seen by polling redbeat's schedule 4 times a second: a send moves its entry's due time on
  by a period, and it was due at the grid slot one period before the new due time) (p50/p90).
  Sizes above the first run without workers: the workers' status writes are replayed by this
  script at one per entry per period instead. Between sizes beat is stopped (and started again for
  the next), the Replications deleted in one request and their entries waited out;
- redis: memory in use and keys by kind after the run;
- memory: one worker's peak RSS (per process) copying a namespace of `--big-objects` ConfigMaps
  into dr2, then through the resync (sync now) that follows (`--no-memory-resync` leaves it out).
  dr2 answers without added latency here: the figure is memory, which a sync bounds by chunks
  whatever the latency, and the copy takes half the time.

No two measurements overlap. The time each phase took is printed at the end; `--steps` prints
where it goes (set-up, start and stop of processes, waits) as it goes.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

try:
    import psutil
except ModuleNotFoundError:  # drsyncer installed without the extra the benchmark needs
    raise SystemExit("bench/fleet.py needs psutil: pip install '.[bench]' (or psutil itself)") from None
import redis
import yaml
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from drsyncer.api.crds import all_crds  # noqa: E402
from drsyncer.api.keys import ANNOTATION_SYNC_NOW, KIND_REPLICATION  # noqa: E402
from drsyncer.api.schedule import interval_run_slot, schedule_key  # noqa: E402
from drsyncer.kube import ClusterClient, client_from_kubeconfig  # noqa: E402
from drsyncer.kube.discovery import ResourceRef  # noqa: E402
from drsyncer.status.runs import RunStore, owner_key  # noqa: E402
from drsyncer.task_contract import SYNC_QUEUE  # noqa: E402

CLUSTERS = ("controller", "source", "dr1", "dr2", "dr3")
DESTINATIONS = ("dr1", "dr2", "dr3")
NS = "dr-system"
SCHEDULE_NAMESPACES = 4  # source namespaces per schedule Replication
SCHEDULE_KEY = "redbeat::schedule"
BOOTSTRAP_DRAWS = 2000  # resamples of a bootstrap interval
MIN_BOOTSTRAP_ROUNDS = 10  # rounds from which a bootstrap interval of their median is printed
PHASE_LABEL = "bench.dr-syncer.io/phase"  # on the schedule phase's Replications, to delete them at once  # redbeat's sorted set of entries by due time


# -- where the time goes ---------------------------------------------------------------------------

_steps: list[tuple[str, float]] = []
_last_step = [time.monotonic()]
_print_steps = False


def step(label: str) -> None:
    """Note that `label` (the work since the previous step) is done: `--steps` prints them all, so
    the time a run spends outside its measurements can be seen."""
    now = time.monotonic()
    _steps.append((label, now - _last_step[0]))
    _last_step[0] = now
    if _print_steps:
        console.print(f"  ({label}: {_steps[-1][1]:.1f} s)", style="dim", markup=False)


# -- the simulated clusters, in a process of their own ----------------------------------------------


def _serve(kubeconfig: str, seed_file: str) -> None:
    """The child process: start the clusters, seed the source store as `seed_file` (JSON) says, say
    "ready", serve until stdin closes."""
    seed = json.loads(Path(seed_file).read_text())
    from drsyncer.sim import SimFleet

    fleet = SimFleet(list(CLUSTERS)).start()
    try:
        store = fleet["source"].store
        payload = "x" * int(seed["size"])
        for namespace, count in seed["namespaces"]:
            store.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
            for i in range(count):
                store.put(
                    {
                        "apiVersion": "v1",
                        "kind": "ConfigMap",
                        "metadata": {"name": f"cm-{i:06d}", "namespace": namespace},
                        "data": {"payload": payload},
                    }
                )
        fleet.write_kubeconfig(kubeconfig)
        print("ready", flush=True)
        sys.stdin.read()
    finally:
        fleet.stop()


class Sims:
    """The simulator process and its admin endpoints (faults, counters)."""

    def __init__(self, workdir: Path, seed: dict[str, Any]) -> None:
        self.kubeconfig = workdir / "kubeconfig"
        seed_file = workdir / "seed.json"
        seed_file.write_text(json.dumps(seed))
        code = (
            f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import fleet; "
            f"fleet._serve({str(self.kubeconfig)!r}, {str(seed_file)!r})"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            self.stop()
            raise SystemExit(f"the simulator process did not start (said {line!r})")
        self.config = yaml.safe_load(self.kubeconfig.read_text())
        self.urls = {c["name"]: c["cluster"]["server"] for c in self.config["clusters"]}

    def stop(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def kubeconfig_of(self, cluster: str) -> dict[str, Any]:
        """A kubeconfig with the one context `cluster`."""
        config = self.config
        context = next(c for c in config["contexts"] if c["name"] == cluster)
        user = next(u for u in config["users"] if u["name"] == context["context"]["user"])
        server = next(c for c in config["clusters"] if c["name"] == context["context"]["cluster"])
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [server],
            "users": [user],
            "contexts": [context],
            "current-context": cluster,
        }

    def admin(self, cluster: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.urls[cluster] + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read()
        return json.loads(text) if text else None

    def counters(self, *clusters: str) -> tuple[int, int, int]:
        """(requests, discovery included; writes; body bytes sent) summed over `clusters` since the last
        reset."""
        requests = writes = sent = 0
        for cluster in clusters:
            answer = self.admin(cluster, "GET", "/_sim/counters")
            requests += sum(sum(by.values()) for by in answer["counters"].values())
            requests += int(answer.get("discovery", 0))  # discovery spends the rate budget too
            writes += int(answer["writes"])
            sent += int(answer["bytes_sent"])
        return requests, writes, sent

    def reset(self, *clusters: str) -> None:
        for cluster in clusters:
            self.admin(cluster, "DELETE", "/_sim/counters")


# -- processes --------------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    @property
    def tree(self) -> list[psutil.Process]:
        try:
            root = psutil.Process(self.popen.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def cpu_s(self) -> float:
        """CPU-seconds (user + system) of the process, its live children and the children it reaped."""
        total = 0.0
        for i, proc in enumerate(self.tree):
            with contextlib.suppress(psutil.NoSuchProcess):
                times = proc.cpu_times()
                total += times.user + times.system
                if i == 0:
                    total += times.children_user + times.children_system
        return total

    def rss_mb(self) -> list[float]:
        out = []
        for proc in self.tree:
            with contextlib.suppress(psutil.NoSuchProcess):
                out.append(proc.memory_info().rss / 2**20)
        return out

    def stop(self) -> None:
        if self.popen.poll() is None:
            # to the main process only, as Kubernetes stops a container: a worker's main process
            # stops its pool itself (a pool process told directly can leave the main one waiting
            # out its soft shutdown for a task it lost)
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.popen.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(10)

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Fleet:
    workdir: Path
    sims: Sims
    redis_url: str
    controller: ClusterClient
    procs: dict[str, Proc] = field(default_factory=dict)
    refs: dict[str, ResourceRef] = field(default_factory=dict)
    asked_at: float = 0.0  # time.monotonic() of the last sync-now

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DRSYNCER_", "PROMETHEUS_"))}
        env.update(
            {
                "DRSYNCER_REDIS_URL": self.redis_url,
                "DRSYNCER_KUBECONFIG": str(self.sims.kubeconfig),
                "DRSYNCER_KUBE_CONTEXT": "controller",
                "DRSYNCER_WATCH_NAMESPACE": NS,
                "DRSYNCER_LOG_LEVEL": "WARNING",
                "PYTHONPATH": str(REPO),
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(extra)
        return env

    def start(self, name: str, command: str, **env: str) -> Proc:
        log_path = self.workdir / f"{name}.log"
        with log_path.open("ab") as log:
            popen = subprocess.Popen(
                [sys.executable, "-m", "drsyncer.cli", command],
                env=self.env(**env),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=REPO,
            )
        proc = self.procs[name] = Proc(name, popen, log_path)
        return proc

    def start_workers(self, count: int, concurrency: int, prefix: str) -> list[Proc]:
        procs = []
        for i in range(count):
            name = f"{prefix}-{i}"
            procs.append(
                self.start(
                    name,
                    "worker",
                    DRSYNCER_WORKER_NAME=f"{name}@fleet",
                    DRSYNCER_CONCURRENCY=str(concurrency),
                    DRSYNCER_METRICS_PORT=str(free_port()),
                    DRSYNCER_HEARTBEAT_FILE=str(self.workdir / f"{name}.heartbeat"),
                    DRSYNCER_METRICS_DIR=str(self.workdir / f"{name}-metrics"),
                )
            )
        for proc in procs:
            heartbeat = self.workdir / f"{proc.name}.heartbeat"
            wait_for(heartbeat.exists, 90, f"{proc.name} to consume", proc)
        # each pool process gets its clients ready as it starts (workers/warm_start.py), some of it
        # after Celery counts the process as up; a run measured before the workers are idle would
        # count their start as the run's CPU
        wait_for(lambda: _idle(procs), 90, "the workers to finish starting", *procs)
        return procs

    def stop(self, procs: list[Proc]) -> None:
        """Stop `procs` side by side (each a warm shutdown of up to 30 s)."""
        if procs:
            with ThreadPoolExecutor(len(procs)) as pool:
                list(pool.map(Proc.stop, procs))
        for proc in procs:
            self.procs.pop(proc.name, None)

    def ref(self, name: str) -> ResourceRef:
        if name not in self.refs:
            self.refs[name] = self.controller.resolve(name)
        return self.refs[name]

    def replication(self, name: str, spec: dict[str, Any], labels: dict[str, str] | None = None) -> None:
        self.controller.create(
            self.ref("replications.dr-syncer.io"),
            NS,
            {
                "apiVersion": "dr-syncer.io/v1alpha1",
                "kind": "Replication",
                "metadata": {"name": name, "namespace": NS, "labels": labels or {}},
                "spec": spec,
            },
        )

    def delete_replications(self, labels: str) -> int:
        """Delete the Replications matching the label selector `labels` in one request (a
        deletecollection); how many went."""
        answer = self.sims.admin(
            "controller",
            "DELETE",
            f"/apis/dr-syncer.io/v1alpha1/namespaces/{NS}/replications?labelSelector={labels}",
        )
        return len(answer.get("items") or [])

    def status(self, name: str) -> dict[str, Any]:
        obj = self.controller.get(self.ref("replications.dr-syncer.io"), NS, name) or {}
        return dict(obj.get("status") or {})

    def sync_now(self, name: str) -> str | None:
        """Ask for a run as `drsyncer sync-now` does; returns the `lastSyncTime` before it, which
        `wait_completed` waits to change. Status times are in whole seconds, so a run is asked no
        sooner than the second after the last one ended."""
        before = self.status(name).get("lastSyncTime")
        if before:
            ended = datetime.fromisoformat(before.replace("Z", "+00:00")).timestamp()
            wait_for(lambda: time.time() >= ended + 1.05, 5, "the next second")
        self.asked_at = time.monotonic()
        self.controller.patch(
            self.ref("replications.dr-syncer.io"),
            NS,
            name,
            {"metadata": {"annotations": {ANNOTATION_SYNC_NOW: f"{time.time():.6f}"}}},
        )
        return before

    def run_span(self, name: str, what: str) -> float:
        """Seconds from the first task's start to the last task's end of the Replication's latest
        run, from the run records workers keep in Redis: the run as the workers saw it, without the
        time it takes to be asked for, sent and reported."""
        obj = self.controller.get(self.ref("replications.dr-syncer.io"), NS, name) or {}
        owner = owner_key("Replication", NS, name, str(obj["metadata"]["uid"]))
        client = redis.Redis.from_url(self.redis_url)
        try:
            records = RunStore(client).records(owner)
        finally:
            client.close()
        latest = max(r.run_id for r in records) if records else None
        mine = [r for r in records if r.run_id == latest]
        if not mine:
            raise SystemExit(f"no run records of {name} ({what})")
        return max(r.finished_at for r in mine) - min(r.started_at for r in mine)

    def wait_completed(
        self, name: str, before: str | None, timeout_s: float, watch: list[Proc]
    ) -> dict[str, Any]:
        """The Replication's status once a run that ended after `before` (a `lastSyncTime`) is there."""

        def done() -> dict[str, Any] | None:
            status = self.status(name)
            if status.get("phase") in ("Completed", "PartiallyCompleted", "Failed") and status.get(
                "lastSyncTime"
            ) not in (None, before):
                return status
            return None

        status = wait_for(done, timeout_s, f"Replication {name} to finish a run", *watch)
        if status.get("phase") != "Completed":
            raise SystemExit(f"Replication {name} ended {status.get('phase')}: {status.get('message')}")
        return status


def scheduled_resync(fleet: Fleet, name: str, args: argparse.Namespace, procs: list[Proc]) -> dict[str, Any]:
    """The same Replication switched to `@every 10s` and its next `args.resync_runs` scheduled runs
    measured: a run beat sends trusts the change feeds (docs/sync-semantics.md, "Scheduled resyncs").
    Each figure is the median of those runs (each run's time in the workers is kept too); counters
    and CPU cover the wait for a run as well (the feeds' watches, the workers' idle loops)."""
    fleet.controller.patch(
        fleet.ref("replications.dr-syncer.io"),
        NS,
        name,
        {"spec": {"replicationMode": "Scheduled", "schedule": "@every 10s"}},
    )
    # the first scheduled run after the switch may be an asked one (the spec changed); measure the
    # runs after the one in progress
    before = fleet.status(name).get("lastSyncTime")
    fleet.wait_completed(name, before, args.timeout, procs)
    runs: list[dict[str, Any]] = []
    for _ in range(args.resync_runs):
        before = fleet.status(name).get("lastSyncTime")
        fleet.sims.reset("source", "dr1", "dr2")
        cpu0 = sum(p.cpu_s() for p in procs)
        fleet.wait_completed(name, before, args.timeout, procs)
        cpu = sum(p.cpu_s() for p in procs) - cpu0
        requests, writes, sent = fleet.sims.counters("source", "dr1", "dr2")
        runs.append(
            {
                "worker_seconds": fleet.run_span(name, "scheduled"),
                "requests": requests,
                "writes": writes,
                "bytes": sent,
                "cpu_s": cpu,
            }
        )
    # back to Manual: its runs every 10 s would otherwise go on into the phases that follow, adding
    # to their workers' CPU and keeping those workers busy when they are stopped
    fleet.controller.patch(
        fleet.ref("replications.dr-syncer.io"), NS, name, {"spec": {"replicationMode": "Manual"}}
    )
    r = redis.Redis.from_url(fleet.redis_url)
    wait_for(
        lambda: not any(f":{NS}/{name}:" in key for key in _entry_keys(r)),
        args.timeout,
        f"the schedule entries of {name} to go",
    )
    r.delete(SYNC_QUEUE)  # runs sent before the entries went
    r.close()
    figures: dict[str, Any] = {
        key: statistics.median(run[key] for run in runs)
        for key in ("worker_seconds", "requests", "writes", "bytes", "cpu_s")
    }
    figures["each_run"] = [run["worker_seconds"] for run in runs]
    return figures


def wait_for(check: Callable[[], Any], timeout_s: float, what: str, *watch: Proc) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        for proc in watch:
            if proc.popen.poll() is not None:
                raise SystemExit(
                    f"{proc.name} exited ({proc.popen.returncode}) waiting for {what}:\n{proc.tail()}"
                )
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(0.2)


@contextlib.contextmanager
def redis_server(workdir: Path) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not on PATH (Debian: apt-get install redis-server)")
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        wait_for(lambda: _pings(url), 20, "redis-server")
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def _pings(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url).ping())
    except redis.RedisError:
        return False


def _idle(procs: list[Proc], window_s: float = 0.5, busy_s: float = 0.004) -> bool:
    """Whether `procs` (with their pool processes) used less than `busy_s` of CPU per process over the
    next `window_s`; an idle pool process ticks at about 2 ms per second."""
    count = sum(len(p.tree) for p in procs)
    before = sum(p.cpu_s() for p in procs)
    time.sleep(window_s)
    return sum(p.cpu_s() for p in procs) - before < busy_s * count


def setup_controller(fleet: Fleet, qps: float, burst: int) -> None:
    """CRDs, the controller namespace, a kubeconfig Secret and a RemoteCluster per cluster; dr3 under
    the rate budget being measured, the others far above what is sent."""
    c = fleet.controller
    c.create(fleet.ref("namespaces"), None, {"metadata": {"name": NS}})
    crds = fleet.ref("customresourcedefinitions")
    for crd in all_crds():
        c.create(crds, None, crd)
    wait_for(lambda: _served(c), 30, "the CRDs to be served")
    for name in CLUSTERS[1:]:
        data = yaml.safe_dump(fleet.sims.kubeconfig_of(name)).encode()
        c.create(
            fleet.ref("secrets"),
            NS,
            {
                "metadata": {"name": f"{name}-kubeconfig"},
                "data": {"kubeconfig": base64.b64encode(data).decode()},
            },
        )
        limit = {"qps": qps, "burst": burst} if name == "dr3" else {"qps": 5000, "burst": 5000}
        c.create(
            fleet.ref("remoteclusters.dr-syncer.io"),
            NS,
            {
                "apiVersion": "dr-syncer.io/v1alpha1",
                "kind": "RemoteCluster",
                "metadata": {"name": name, "namespace": NS},
                "spec": {"kubeconfigSecretRef": {"name": f"{name}-kubeconfig"}, "rateLimit": limit},
            },
        )


def _served(c: ClusterClient) -> bool:
    c.discovery.invalidate()
    try:
        c.resolve("replications.dr-syncer.io")
        c.resolve("remoteclusters.dr-syncer.io")
    except Exception:
        return False
    return True


# -- phases -----------------------------------------------------------------------------------------


def cold_run(
    fleet: Fleet, args: argparse.Namespace, workers: int, label: str
) -> tuple[dict[str, Any], list[Proc]]:
    """A cold sync of every namespace into destination namespaces of its own (`label`), by `workers`
    workers started for it; returns its row and the workers (still running)."""
    objects = args.namespaces * args.objects * 2  # two destinations
    name = f"cold-{label}"
    _copy_replication(fleet, args, name, label)
    step(f"cold {label}: apply")
    procs = fleet.start_workers(workers, args.concurrency, f"cold-{label}")
    # a worker's start: interpreter and imports, Celery, the fork of its pool, each pool process's
    # warm start; paid once per process lifetime, so not part of the CPU per object
    start_cpu = sum(p.cpu_s() for p in procs) / workers
    step(f"cold {label}: start workers")
    wall, cpu = _copied(fleet, args, name, procs)
    # one worker (its main process and pool processes, shared pages counted in each) after the run
    rss = max(sum(p.rss_mb()) for p in procs)
    requests, writes, sent = fleet.sims.counters("source", "dr1", "dr2")
    step(f"cold {label}: measured")
    return {
        "name": name,
        "workers": workers,
        "objects": objects,
        "seconds": wall,
        "objects_per_s": objects / wall,
        "cpu_s_per_1000": cpu / objects * 1000,
        "worker_rss_mb": rss,
        "start_cpu_s": start_cpu,
        "requests": requests,
        "writes": writes,
        "bytes": sent,
        # read now: the run records hold each namespace's latest run only
        "worker_seconds": fleet.run_span(name, "cold"),
        "again_cpu_s_per_1000": _again(fleet, args, label, procs) if args.again else None,
    }, procs


def _copy_replication(fleet: Fleet, args: argparse.Namespace, name: str, prefix: str) -> None:
    """A Manual Replication copying every cold namespace to dr1 and dr2, into `<prefix>-fleet-NNN`."""
    fleet.replication(
        name,
        {
            "sourceCluster": "source",
            "destinationClusters": ["dr1", "dr2"],
            "replicationMode": "Manual",
            "resourceTypes": ["configmaps"],
            "namespaceMappings": [
                {"source": f"fleet-{i:03d}", "destination": f"{prefix}-fleet-{i:03d}"}
                for i in range(args.namespaces)
            ],
        },
    )


def _again(fleet: Fleet, args: argparse.Namespace, label: str, procs: list[Proc]) -> float:
    """The same copy once more into namespaces of its own, by the same workers, every pool process of
    which has synced before: CPU-seconds per 1,000 objects without what a process's first sync costs
    (docs/performance.md, "Worker start"). Not the figure the cold sync is judged by."""
    objects = args.namespaces * args.objects * 2
    name = f"again-{label}"
    _copy_replication(fleet, args, name, f"{label}-again")
    wait_for(lambda: _idle(procs), 90, "the workers to be idle", *procs)
    _, cpu = _copied(fleet, args, name, procs)
    step(f"cold {label}: again, measured")
    return cpu / objects * 1000


def _copied(fleet: Fleet, args: argparse.Namespace, name: str, procs: list[Proc]) -> tuple[float, float]:
    """Sync the copy Replication `name` now and wait until every object is written and its status
    says so: (seconds from the ask, CPU-seconds of `procs`). The clusters' counters start from 0."""
    objects = args.namespaces * args.objects * 2
    fleet.sims.reset("source", "dr1", "dr2")
    cpu0 = sum(p.cpu_s() for p in procs)
    before = fleet.sync_now(name)
    wait_for(
        lambda: fleet.sims.counters("dr1", "dr2")[1] >= objects, args.timeout, f"{objects} copies", *procs
    )
    fleet.wait_completed(name, before, args.timeout, procs)
    return time.monotonic() - fleet.asked_at, sum(p.cpu_s() for p in procs) - cpu0


def unchanged_resync(
    fleet: Fleet, args: argparse.Namespace, cold: dict[str, Any], procs: list[Proc], figures: dict[str, Any]
) -> None:
    """The cold sync's Replication run again unchanged: asked for (sync-now), then scheduled."""
    figures["resync_base"] = cold
    fleet.sims.reset("source", "dr1", "dr2")
    cpu0 = sum(p.cpu_s() for p in procs)
    before = fleet.sync_now(cold["name"])
    fleet.wait_completed(cold["name"], before, args.timeout, procs)
    wall = time.monotonic() - fleet.asked_at
    cpu = sum(p.cpu_s() for p in procs) - cpu0
    requests, writes, sent = fleet.sims.counters("source", "dr1", "dr2")
    figures["resync"] = {
        "workers": cold["workers"],
        "objects": cold["objects"],
        "seconds": wall,
        "worker_seconds": fleet.run_span(cold["name"], "resync"),
        "requests": requests,
        "writes": writes,
        "bytes": sent,
        "cpu_s": cpu,
    }
    step("resync asked for")
    figures["resync_scheduled"] = scheduled_resync(fleet, cold["name"], args, procs)
    step("scheduled resync")


def cold_and_resync(fleet: Fleet, args: argparse.Namespace, figures: dict[str, Any]) -> None:
    """Cold syncs by 1, 2 and 4 workers in `args.rounds` rounds, every other round in reverse order
    (a machine's speed drifting during the bench weighs on each worker count alike); each figure is
    the median of its rounds. The first cold sync's Replication is then resynced unchanged."""
    runs: dict[int, list[dict[str, Any]]] = {w: [] for w in args.workers}
    for round_ in range(args.rounds):
        order = args.workers if round_ % 2 == 0 else list(reversed(args.workers))
        for workers in order:
            row, procs = cold_run(fleet, args, workers, f"w{workers}r{round_}")
            runs[workers].append(row)
            if round_ == 0 and workers == args.workers[0]:
                unchanged_resync(fleet, args, row, procs, figures)
            fleet.stop(procs)
            step(f"cold w{workers}r{round_}: stop workers")
    rows = []
    for workers in args.workers:
        first = runs[workers][0]
        row = {**first}
        for key in (
            "seconds",
            "objects_per_s",
            "cpu_s_per_1000",
            "worker_rss_mb",
            "start_cpu_s",
            "worker_seconds",
        ):
            row[key] = statistics.median(r[key] for r in runs[workers])
        if args.again:
            row["again_cpu_s_per_1000"] = statistics.median(r["again_cpu_s_per_1000"] for r in runs[workers])
        row["rounds"] = {
            key: [r[key] for r in runs[workers]]
            for key in ("cpu_s_per_1000", "seconds", "again_cpu_s_per_1000")
        }
        rows.append(row)
    figures["cold"] = rows
    # the resyncs are compared with the cold sync of the same workers: its medians over the rounds
    # (requests and bytes are the first round's, the one whose Replication is resynced)
    figures["resync_base"] = rows[0]

    table = Table(
        title=f"cold sync: {args.namespaces} namespaces x {args.objects} ConfigMaps of {args.size} B "
        f"to 2 destinations ({args.latency_ms:.0f} ms per destination request); "
        + (f"medians of {args.rounds} rounds" if args.rounds > 1 else "one round")
    )
    for column in (
        "workers",
        "objects",
        "seconds",
        "objects/s",
        "CPU s / 1,000 objects",
        "each round",
        "vs 1 worker",
        "RSS MB / worker",
        "start CPU s / worker",
        "requests",
        "MiB sent",
        *(("again: CPU s / 1,000", "again vs 1 worker") if args.again else ()),
    ):
        table.add_column(column, justify="right")
    base = rows[0]["cpu_s_per_1000"]
    again_base = rows[0].get("again_cpu_s_per_1000")
    for row in rows:
        table.add_row(
            f"{row['workers']} x {args.concurrency}",
            str(row["objects"]),
            f"{row['seconds']:.2f}",
            f"{row['objects_per_s']:.0f}",
            f"{row['cpu_s_per_1000']:.2f}",
            " ".join(f"{v:.2f}" for v in row["rounds"]["cpu_s_per_1000"]),
            f"{row['cpu_s_per_1000'] / base:.2f}x",
            f"{row['worker_rss_mb']:.0f}",
            f"{row['start_cpu_s']:.2f}",
            str(row["requests"]),
            f"{row['bytes'] / 2**20:.1f}",
            *(
                (f"{row['again_cpu_s_per_1000']:.2f}", f"{row['again_cpu_s_per_1000'] / again_base:.2f}x")
                if again_base
                else ()
            ),
        )
    console.print(table)
    if args.rounds > 1:
        paired_ratios(runs, args.workers, figures)

    resync, cold, scheduled = figures["resync"], figures["resync_base"], figures["resync_scheduled"]
    table = Table(title="unchanged resync against the cold sync (same Replication, same workers)")
    for column in ("run", "seconds asked → status", "seconds in workers", "requests", "writes", "MiB sent"):
        table.add_column(column, justify="right")
    for label, row in (
        ("cold (sync now)" + (f", median of {args.rounds}" if args.rounds > 1 else ""), cold),
        ("resync (sync now)", resync),
        (
            "resync (scheduled)" + (f", median of {args.resync_runs}" if args.resync_runs > 1 else ""),
            scheduled,
        ),
    ):
        table.add_row(
            label,
            f"{row['seconds']:.2f}" if "seconds" in row else "-",
            f"{row['worker_seconds']:.3f}",
            str(row["requests"]),
            str(row["writes"]),
            f"{row['bytes'] / 2**20:.2f}",
        )
    console.print(table)
    for label, row in (("resync asked for", resync), ("scheduled resync", scheduled)):
        console.print(
            f"{label}: {cold['worker_seconds'] / row['worker_seconds']:.1f}x faster than cold in the "
            f"workers, {row['bytes'] / cold['bytes'] * 100:.1f} % of its bytes, {row['writes']} writes"
            + (
                " (each run: "
                + ", ".join(f"{cold['worker_seconds'] / s:.1f}x" for s in row["each_run"])
                + ")"
                if len(row.get("each_run", [])) > 1
                else ""
            )
        )


def paired_ratios(runs: dict[int, list[dict[str, Any]]], workers: list[int], figures: dict[str, Any]) -> None:
    """Each worker count's CPU per 1,000 objects over the first count's, round by round (a round's
    syncs run within a minute of each other, so a machine drifting between rounds weighs on both):
    their median, their range and, from `MIN_BOOTSTRAP_ROUNDS` rounds, a 90 % bootstrap interval of
    that median (with fewer, a resampled median falls on the smallest or largest round too often for
    the interval to be more than the range). Printed, and kept in `figures["cold_paired"]`."""
    base = [r["cpu_s_per_1000"] for r in runs[workers[0]]]
    draw = random.Random(0)
    paired = {}
    for count in workers[1:]:
        ratios = [r["cpu_s_per_1000"] / b for r, b in zip(runs[count], base, strict=True)]
        median = statistics.median(ratios)
        interval = None
        if len(ratios) >= MIN_BOOTSTRAP_ROUNDS:
            medians = sorted(
                statistics.median(draw.choices(ratios, k=len(ratios))) for _ in range(BOOTSTRAP_DRAWS)
            )
            interval = [medians[int(0.05 * BOOTSTRAP_DRAWS)], medians[int(0.95 * BOOTSTRAP_DRAWS) - 1]]
        paired[count] = {"ratios": ratios, "median": median, "interval_90": interval}
        console.print(
            f"CPU per 1,000 objects, {count} workers over {workers[0]}, each round's pair: "
            + " ".join(f"{v:.2f}" for v in ratios)
            + f"; their median {median:.2f}x (the table's figure is the ratio of the medians)"
            + (
                f", 90 % bootstrap interval of that median {interval[0]:.2f}-{interval[1]:.2f}x"
                if interval
                else f"; {len(ratios)} rounds place it no closer than their range "
                f"{min(ratios):.2f}-{max(ratios):.2f}x (an interval from {MIN_BOOTSTRAP_ROUNDS} rounds)"
            )
        )
    figures["cold_paired"] = paired


def rate_budget(fleet: Fleet, args: argparse.Namespace, figures: dict[str, Any]) -> None:
    name = "budget"
    namespaces = max(1, args.budget_writes // args.objects)
    fleet.replication(
        name,
        {
            "sourceCluster": "source",
            "destinationClusters": ["dr3"],
            "replicationMode": "Manual",
            "resourceTypes": ["configmaps"],
            "namespaceMappings": [{"source": f"fleet-{i:03d}"} for i in range(namespaces)],
        },
    )
    step("budget: apply")
    procs = fleet.start_workers(2, args.concurrency, "budget")
    step("budget: start workers")
    fleet.sims.reset("dr3")
    samples: list[tuple[float, int]] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            samples.append((time.monotonic(), fleet.sims.counters("dr3")[0]))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    before = fleet.sync_now(name)
    fleet.wait_completed(name, before, args.timeout, procs)
    stop.set()
    sampler.join()
    step("budget: measured")
    fleet.stop(procs)
    step("budget: stop workers")
    active = [(t, n) for t, n in samples if n > 0]
    first_t = active[0][0]
    last_t, total = next((t, n) for t, n in samples if n == samples[-1][1])
    elapsed = max(last_t - first_t, 0.1)
    # the most requests in any one second: the sample counts are cumulative
    peak = 0
    j = 0
    for i in range(len(samples)):
        while samples[i][0] - samples[j][0] > 1.0:
            j += 1
        peak = max(peak, samples[i][1] - samples[j][1])
    attained = total / elapsed / args.qps
    figures["rate_budget"] = {
        "qps": args.qps,
        "burst": args.burst,
        "requests": total,
        "seconds": elapsed,
        "attainment": attained,
        "peak_per_s": peak,
    }
    table = Table(
        title=f"rate budget: a copy into dr3 under qps {args.qps:g} / burst {args.burst} (2 workers)"
    )
    for column in (
        "requests (discovery included)",
        "seconds",
        "requests/s",
        "attainment (÷ qps)",
        "most in one second",
        "ceiling qps + burst",
    ):
        table.add_column(column, justify="right")
    table.add_row(
        str(total),
        f"{elapsed:.1f}",
        f"{total / elapsed:.1f}",
        f"{attained:.2f}",
        str(peak),
        f"{args.qps + args.burst:g}",
    )
    console.print(table)


def schedule_phase(
    fleet: Fleet, args: argparse.Namespace, entries: int, with_workers: bool, figures: dict[str, Any]
) -> None:
    replications = entries // SCHEDULE_NAMESPACES
    prefix = f"e{entries}"
    if "beat" not in fleet.procs:  # stopped at the end of the previous size
        start_beat(fleet)
    watcher, beat = fleet.procs["watcher"], fleet.procs["beat"]
    r = redis.Redis.from_url(fleet.redis_url)
    before = _entry_keys(r)
    step(f"schedule {entries}: before")
    procs = fleet.start_workers(2, args.concurrency, f"sched{entries}") if with_workers else []
    step(f"schedule {entries}: start workers")
    memory_before = int(r.info("memory")["used_memory"])
    t0 = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        list(
            pool.map(
                lambda i: fleet.replication(
                    f"{prefix}-{i:05d}",
                    {
                        "sourceCluster": "source",
                        "destinationClusters": ["dr1"],
                        "schedule": f"@every {args.period_s}s",
                        "resourceTypes": ["configmaps"],
                        "namespaceMappings": [
                            {
                                "source": f"s-{(i * SCHEDULE_NAMESPACES + j) % args.schedule_namespaces:05d}",
                                "destination": f"{prefix}-{i:05d}-{j}",
                            }
                            for j in range(SCHEDULE_NAMESPACES)
                        ],
                    },
                    {PHASE_LABEL: prefix},
                ),
                range(replications),
            )
        )
    applied = time.monotonic() - t0
    step(f"schedule {entries}: apply")
    wait_for(
        lambda: len(_entry_keys(r) - before) >= entries,
        args.timeout,
        f"{entries} schedule entries",
        watcher,
        beat,
    )
    all_in = time.monotonic() - t0
    step(f"schedule {entries}: all in Redis")
    keys = sorted(_entry_keys(r) - before)
    # Redis held per entry: its redbeat hash and schedule score, the watcher's records of it
    entry_bytes = (int(r.info("memory")["used_memory"]) - memory_before) / entries
    # the apply ends when the watcher has also written each new Replication's first status
    # (Pending, its conditions); steady state is measured after that, not during its tail
    wait_for(
        lambda: _statuses_written(fleet, prefix) >= replications,
        args.timeout,
        f"the watcher's first status on {replications} Replications",
        watcher,
    )
    settled = time.monotonic() - t0
    step(f"schedule {entries}: statuses")

    stop = threading.Event()
    replayer = None
    if not with_workers:
        replayer = threading.Thread(
            target=_replay_status_writes,
            args=(fleet, prefix, replications, entries / args.period_s, stop),
            daemon=True,
        )
        replayer.start()
    # each entry's score in redbeat's schedule is when it falls due next. A score that moved on is a
    # send. When the score before it was a point of the Replication's grid (workers.beat.GridEntry,
    # drsyncer.api.schedule.interval_slot) the run was due then, and its lateness is when it was seen
    # minus that point. An entry's first run is due when the entry is written (not on the grid): it
    # counts as a first-run delay instead. One ZRANGE per poll keeps the polling itself cheap, so it
    # does not delay what it measures.
    period = timedelta(seconds=args.period_s)
    wanted = {key: _grid_key(key) for key in keys}
    seen: dict[str, float] = {}
    lateness: list[float] = []
    first_runs: list[float] = []
    cpu0 = {p.name: p.cpu_s() for p in (watcher, beat)}
    rss_peak = {p.name: 0.0 for p in (watcher, beat)}
    started = time.monotonic()
    last_sample = 0.0
    while time.monotonic() - started < args.steady_s:
        if with_workers:
            polled = time.time()
            for raw, due in r.zrange(SCHEDULE_KEY, 0, -1, withscores=True):
                key = raw.decode()
                if key not in wanted:
                    continue
                previous = seen.get(key)
                if previous is not None and due > previous + args.period_s / 2:
                    # the grid point nearest the score; redbeat stores scores in whole seconds, so a
                    # score within a second of it stands for it
                    slot = interval_run_slot(wanted[key], period, datetime.fromtimestamp(previous, UTC))
                    if abs(slot.timestamp() - previous) < 1.0:
                        lateness.append(polled - slot.timestamp())
                    else:
                        first_runs.append(polled - previous)
                seen[key] = due
        if time.monotonic() - last_sample >= 1.0:
            last_sample = time.monotonic()
            for p in (watcher, beat):
                rss_peak[p.name] = max(rss_peak[p.name], sum(p.rss_mb()))
                if p.popen.poll() is not None:
                    raise SystemExit(f"{p.name} exited:\n{p.tail()}")
        time.sleep(0.25)
    steady = time.monotonic() - started
    step(f"schedule {entries}: steady state")
    cpu = {p.name: (p.cpu_s() - cpu0[p.name]) / steady * 100 for p in (watcher, beat)}
    stop.set()
    if replayer is not None:
        replayer.join()
    queued = int(r.llen(SYNC_QUEUE))  # without workers every send waits in the queue
    task_bytes = int(r.memory_usage(SYNC_QUEUE) or 0) / queued if queued else None
    figure: dict[str, Any] = {
        "entries": entries,
        "apply_s": applied,
        "all_entries_s": all_in,
        "settled_s": settled,
        "watcher_cpu_pct": cpu["watcher"],
        "beat_cpu_pct": cpu["beat"],
        "watcher_rss_mb": rss_peak["watcher"],
        "beat_rss_mb": rss_peak["beat"],
        "steady_s": steady,
        "workers": with_workers,
        "redis_bytes_per_entry": entry_bytes,
        "queued_tasks": queued,
        "redis_bytes_per_queued_task": task_bytes,
    }
    if lateness:
        q = statistics.quantiles(lateness, n=10)
        figure.update(
            {
                "lateness_p50_s": statistics.median(lateness),
                "lateness_p90_s": q[8],
                "lateness_samples": len(lateness),
            }
        )
    if first_runs:
        figure["first_run_p90_s"] = (
            statistics.quantiles(first_runs, n=10)[8] if len(first_runs) > 1 else first_runs[0]
        )
    figures.setdefault("schedule", []).append(figure)
    # leave the next size an idle pipeline: these Replications and their entries go. Beat stops
    # first: one that sends an entry while the watcher deletes it writes the entry back, and then
    # it stays until the watcher's next full resync (minutes); with no runs sent, the workers stop
    # at once too. The Replications go in one request, which the watcher handles in a few reconciles
    fleet.stop([beat])
    r.delete(SYNC_QUEUE)  # tasks sent while no worker ran
    fleet.delete_replications(f"{PHASE_LABEL}={prefix}")
    step(f"schedule {entries}: stop beat, delete")
    _wait_entries_gone(fleet, r, before, entries, args.timeout)
    fleet.stop(procs)
    step(f"schedule {entries}: entries gone, workers stopped")


def start_beat(fleet: Fleet) -> Proc:
    heartbeat = fleet.workdir / "beat.heartbeat"
    heartbeat.unlink(missing_ok=True)
    beat = fleet.start("beat", "beat", DRSYNCER_HEARTBEAT_FILE=str(heartbeat))
    wait_for(heartbeat.exists, 90, "beat to start", beat)
    return beat


def _wait_entries_gone(fleet: Fleet, r: redis.Redis, before: set[str], entries: int, timeout: float) -> None:
    watcher = fleet.procs["watcher"]
    wait_for(lambda: not (_entry_keys(r) - before), timeout, f"the {entries} entries to go", watcher)
    r.delete(SYNC_QUEUE)  # tasks sent while no worker ran


def _statuses_written(fleet: Fleet, prefix: str) -> int:
    """How many of this phase's Replications carry the status the watcher writes first."""
    return sum(
        1
        for obj in fleet.controller.list(fleet.ref("replications.dr-syncer.io"), NS)
        if obj["metadata"]["name"].startswith(f"{prefix}-")
        and (obj.get("status") or {}).get("observedGeneration")
    )


def _grid_key(entry_key: str) -> str:
    """The `schedule_key` of the Replication a bench entry belongs to (its key names it:
    `redbeat:<prefix>:<namespace>/<replication>:<source namespace>`)."""
    namespace, _, rest = entry_key.split(":", 2)[2].partition("/")
    return schedule_key(KIND_REPLICATION, namespace, rest.split(":", 1)[0])


def _entry_keys(r: redis.Redis) -> set[str]:
    return {
        k.decode()
        for k in r.scan_iter("redbeat:*", count=5000)
        if not k.decode().startswith(("redbeat::", "redbeat:lock"))
    }


def _replay_status_writes(
    fleet: Fleet, prefix: str, replications: int, per_s: float, stop: threading.Event
) -> None:
    """What the workers' status writes look like to the watcher: one status patch per entry per period."""
    ref = fleet.ref("replications.dr-syncer.io")
    i = 0
    start = time.monotonic()
    while not stop.is_set():
        due = start + i / per_s
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(min(delay, 0.5))
            continue
        name = f"{prefix}-{i % replications:05d}"
        with contextlib.suppress(Exception):
            fleet.controller.patch(
                ref,
                NS,
                name,
                {
                    "status": {
                        "lastSyncTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "phase": "Completed",
                    }
                },
                subresource="status",
            )
        i += 1


def schedule_table(figures: dict[str, Any], period_s: int) -> None:
    table = Table(
        title=f"schedule entries (@every {period_s}s, {SCHEDULE_NAMESPACES} namespaces per Replication)"
    )
    for column in (
        "entries",
        "workers",
        "apply s",
        "all in Redis s",
        "settled s",
        "watcher CPU %",
        "watcher RSS MB",
        "beat CPU %",
        "beat RSS MB",
        "lateness p50 s",
        "lateness p90 s",
        "first run p90 s",
        "Redis B / entry",
        "Redis B / queued task",
    ):
        table.add_column(column, justify="right")
    for f in figures.get("schedule", []):
        table.add_row(
            str(f["entries"]),
            "yes" if f["workers"] else "replayed",
            f"{f['apply_s']:.1f}",
            f"{f['all_entries_s']:.1f}",
            f"{f['settled_s']:.1f}",
            f"{f['watcher_cpu_pct']:.1f}",
            f"{f['watcher_rss_mb']:.0f}",
            f"{f['beat_cpu_pct']:.1f}",
            f"{f['beat_rss_mb']:.0f}",
            f"{f['lateness_p50_s']:.1f}" if "lateness_p50_s" in f else "-",
            f"{f['lateness_p90_s']:.1f}" if "lateness_p90_s" in f else "-",
            f"{f['first_run_p90_s']:.1f}" if "first_run_p90_s" in f else "-",
            f"{f['redis_bytes_per_entry']:.0f}",
            f"{f['redis_bytes_per_queued_task']:.0f}" if f.get("redis_bytes_per_queued_task") else "-",
        )
    console.print(table)


def redis_memory(fleet: Fleet, figures: dict[str, Any]) -> None:
    """Redis's memory after the run, and its keys by kind: how many, the bytes of all of them and of a
    typical one (MEMORY USAGE of every key, every element counted; the median, since one large key,
    e.g. the change record of a namespace of 100,000 objects, would make a mean say nothing of the
    others)."""
    r = redis.Redis.from_url(fleet.redis_url)
    sizes: dict[str, list[int]] = {}
    keys = list(r.scan_iter(count=5000))
    for at in range(0, len(keys), 1000):
        batch = keys[at : at + 1000]
        pipe = r.pipeline(transaction=False)
        for key in batch:
            pipe.memory_usage(key, samples=0)  # every element of a large key, not a sample of 5
        for key, size in zip(batch, pipe.execute(), strict=True):
            sizes.setdefault(_key_kind(key.decode(errors="replace")), []).append(int(size or 0))
    used = int(r.info("memory")["used_memory"])
    figures["redis"] = {
        "used_memory": used,
        "keys": {kind: len(v) for kind, v in sizes.items()},
        "bytes": {kind: sum(v) for kind, v in sizes.items()},
        "median_bytes_per_key": {kind: statistics.median(v) for kind, v in sizes.items()},
        "largest_key_bytes": {kind: max(v) for kind, v in sizes.items()},
    }
    table = Table(title="Redis after the run (used_memory: all its memory, its own included)")
    for column in ("keys", "count", "MiB", "bytes per key (median)", "largest key, bytes"):
        table.add_column(column, justify="left" if column == "keys" else "right")
    for kind, v in sorted(sizes.items(), key=lambda kv: -len(kv[1])):
        table.add_row(kind, str(len(v)), f"{sum(v) / 2**20:.2f}", f"{statistics.median(v):.0f}", str(max(v)))
    table.add_row("used_memory", "", f"{used / 2**20:.1f}", "", "")
    console.print(table)


def _key_kind(key: str) -> str:
    """What a Redis key holds, as the table names it: `drsyncer:<kind>:*`, `redbeat:*`, ..."""
    if key.startswith("celery-task-meta-"):
        return "celery-task-meta-*"
    if key.startswith("redbeat:"):
        return "redbeat:*"
    if key.startswith("drsyncer:"):
        return ":".join(key.split(":")[:2]) + ":*"
    return key.split(":")[0]


def worker_memory(fleet: Fleet, args: argparse.Namespace, figures: dict[str, Any]) -> None:
    name = "big"
    fleet.replication(
        name,
        {
            "sourceCluster": "source",
            "destinationClusters": ["dr2"],
            "replicationMode": "Manual",
            "resourceTypes": ["configmaps"],
            "sourceNamespace": "big",
        },
    )
    step("memory: before")
    (proc,) = fleet.start_workers(1, args.concurrency, "big")
    step("memory: start worker")
    fleet.sims.reset("dr2")
    # what is measured here is memory: without the added latency the copy is bound by the worker's
    # CPU instead of waiting on its write threads, and takes half the time; a sync still holds at
    # most a chunk of objects in full, whatever the latency
    fleet.sims.admin("dr2", "POST", "/_sim/faults", {"latency_ms": 0})
    peak: dict[int, float] = {}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            for p in proc.tree:
                with contextlib.suppress(psutil.NoSuchProcess):
                    peak[p.pid] = max(peak.get(p.pid, 0.0), p.memory_info().rss / 2**20)
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    before = fleet.sync_now(name)
    fleet.wait_completed(name, before, args.timeout * 4, [proc])
    # the run as the worker saw it (the watcher may be busy taking the last schedule away)
    wall = fleet.run_span(name, "copy")
    step("memory: copy")
    cold_peak = max(peak.values())
    resync_wall = None
    if args.memory_resync:
        # the resync that follows: both sides listed as metadata, the change feeds' record of
        # 100,000 copies read
        before = fleet.sync_now(name)
        fleet.wait_completed(name, before, args.timeout * 4, [proc])
        resync_wall = fleet.run_span(name, "resync")
        step("memory: resync")
    stop.set()
    sampler.join()
    fleet.stop([proc])
    fleet.sims.admin("dr2", "POST", "/_sim/faults", {"latency_ms": args.latency_ms})
    step("memory: stop worker")
    figures["memory"] = {
        "objects": args.big_objects,
        "seconds": wall,
        "peak_rss_mb": cold_peak,
        "resync_seconds": resync_wall,
        "peak_rss_mb_with_resync": max(peak.values()) if resync_wall is not None else None,
        "processes": len(peak),
    }
    table = Table(
        title=f"one worker copying a namespace of {args.big_objects} ConfigMaps of {args.size} B "
        "(no added latency)"
    )
    for column in (
        "run",
        "seconds in the worker",
        "objects/s",
        "peak RSS of any one process MB (so far)",
        "processes",
    ):
        table.add_column(column, justify="right")
    table.add_row("copy", f"{wall:.1f}", f"{args.big_objects / wall:.0f}", f"{cold_peak:.0f}", str(len(peak)))
    if resync_wall is not None:
        table.add_row(
            "resync (sync now)",
            f"{resync_wall:.1f}",
            f"{args.big_objects / resync_wall:.0f}",
            f"{max(peak.values()):.0f}",
            str(len(peak)),
        )
    console.print(table)


# -- main -------------------------------------------------------------------------------------------

console = Console(highlight=False, width=140)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--namespaces", type=int, default=40)
    parser.add_argument("--objects", type=int, default=100, help="ConfigMaps per cold namespace")
    parser.add_argument("--size", type=int, default=1024, help="bytes of data per ConfigMap")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="added to every destination request")
    parser.add_argument("--workers", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2, 4])
    parser.add_argument("--concurrency", type=int, default=4, help="pool processes per worker")
    parser.add_argument(
        "--rounds", type=int, default=5, help="cold syncs per worker count (figures: their medians)"
    )
    parser.add_argument(
        "--resync-runs",
        type=int,
        default=3,
        help="scheduled unchanged resyncs measured, 10 s apart (figures: their medians)",
    )
    parser.add_argument(
        "--again",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="cold phase: after each cold sync, the same copy again by the same workers (about 20 s a round)",
    )
    parser.add_argument("--qps", type=float, default=100.0)
    parser.add_argument("--burst", type=int, default=100, help="at least --qps (a RemoteCluster rule)")
    parser.add_argument(
        "--budget-writes", type=int, default=1500, help="objects copied under the rate budget"
    )
    parser.add_argument("--entries", type=lambda s: [int(x) for x in s.split(",")], default=[2000, 10000])
    parser.add_argument("--period-s", type=int, default=60, help="the schedule entries' @every period")
    parser.add_argument("--steady-s", type=float, default=120.0)
    parser.add_argument("--big-objects", type=int, default=100_000)
    parser.add_argument(
        "--memory-resync",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="memory phase: also measure the resync (sync now) that follows the copy (about 40 s)",
    )
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--quick", action="store_true", help="every phase, small")
    parser.add_argument(
        "--skip", default="", help="phases to leave out, comma separated: cold,budget,schedule,memory"
    )
    parser.add_argument("--json", type=Path, help="write the figures here too")
    parser.add_argument(
        "--steps", action="store_true", help="print where the time goes, step by step, as it goes"
    )
    args = parser.parse_args()
    if args.quick:
        args.namespaces, args.objects, args.budget_writes, args.rounds = 8, 50, 300, 1
        args.resync_runs = 1
        args.entries, args.steady_s, args.big_objects, args.period_s = [200], 35.0, 5000, 10
    skip = set(filter(None, args.skip.split(",")))
    global _print_steps
    _print_steps = args.steps
    args.schedule_namespaces = max(args.entries) if "schedule" not in skip else 0

    namespaces = [(f"fleet-{i:03d}", args.objects) for i in range(args.namespaces)]
    namespaces += [(f"s-{i:05d}", 1) for i in range(args.schedule_namespaces)]
    if "memory" not in skip:
        namespaces.append(("big", args.big_objects))
    figures: dict[str, Any] = {"args": {k: v for k, v in vars(args).items() if k != "json"}}
    with tempfile.TemporaryDirectory(prefix="drsyncer-fleet-") as tmp:
        workdir = Path(tmp)
        started = _last_step[0] = time.monotonic()
        console.print(
            f"seeding the source: {sum(c for _, c in namespaces)} ConfigMaps in {len(namespaces)} namespaces"
        )
        sims = Sims(workdir, {"size": args.size, "namespaces": namespaces})
        step("seed and start the simulator")
        try:
            for name in DESTINATIONS:
                sims.admin(name, "POST", "/_sim/faults", {"latency_ms": args.latency_ms})
            controller = client_from_kubeconfig(sims.kubeconfig_of("controller"), name="controller")
            with redis_server(workdir) as url:
                fleet = Fleet(workdir, sims, url, controller)
                setup_controller(fleet, args.qps, args.burst)
                step("redis-server, controller set-up")
                fleet.start(
                    "watcher",
                    "watcher",
                    DRSYNCER_METRICS_PORT=str(free_port()),
                    DRSYNCER_PROBE_PORT=str(free_port()),
                )
                start_beat(fleet)
                step("start watcher and beat")
                phases: dict[str, float] = {"seeding and start": time.monotonic() - started}
                try:
                    if "cold" not in skip:
                        at = time.monotonic()
                        cold_and_resync(fleet, args, figures)
                        phases["cold and resync"] = time.monotonic() - at
                    if "budget" not in skip:
                        at = time.monotonic()
                        rate_budget(fleet, args, figures)
                        phases["rate budget"] = time.monotonic() - at
                    if "schedule" not in skip:
                        for i, entries in enumerate(args.entries):
                            at = time.monotonic()
                            schedule_phase(fleet, args, entries, with_workers=i == 0, figures=figures)
                            phases[f"schedule {entries}"] = time.monotonic() - at
                        schedule_table(figures, args.period_s)
                    if "memory" not in skip:
                        at = time.monotonic()
                        worker_memory(fleet, args, figures)
                        phases["memory"] = time.monotonic() - at
                    redis_memory(fleet, figures)
                    step("redis memory")
                    console.print("phases: " + ", ".join(f"{k} {v:.0f} s" for k, v in phases.items()))
                    figures["phase_seconds"] = phases
                finally:
                    fleet.stop(list(fleet.procs.values()))
                    controller.close()
        finally:
            sims.stop()
        console.print(f"whole run: {time.monotonic() - started:.0f} s")
        step("teardown")
        figures["step_seconds"] = dict(_steps)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
