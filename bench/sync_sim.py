"""Simulated clusters for the sync benchmarks, served from their own process.

The benchmarks measure drsyncer's client side (its time, its memory), so the simulator runs in a
separate process: it neither shares the interpreter lock with the code under test nor counts
towards its memory. The source namespace is seeded straight into the simulator's store, which is
much faster than thousands of creates over HTTP.

    with SimProcess(seed={"kind": "configmaps", "count": 10000, "size": 1024}) as sims:
        sims.kubeconfig  # contexts "source" and "dr1"
        sims.set_faults("dr1", latency_ms=20)
        sims.writes("dr1")
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

NAMESPACE = "bench"


def mixed_objects(count: int, size: int = 256) -> list[dict[str, Any]]:
    """A namespace's worth of objects: 60 % ConfigMaps, 20 % Secrets, 10 % Services, 10 % Deployments."""
    payload = "x" * size
    out: list[dict[str, Any]] = []
    for i in range(count):
        name = f"obj-{i:05d}"
        slot = i % 10
        if slot < 6:
            out.append(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": name},
                    "data": {"payload": payload, "index": str(i)},
                }
            )
        elif slot < 8:
            out.append(
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": name},
                    "type": "Opaque",
                    "stringData": {"token": payload[:64]},
                }
            )
        elif slot < 9:
            out.append(
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": name},
                    "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]},
                }
            )
        else:
            labels = {"app": name}
            out.append(
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": {"name": name},
                    "spec": {
                        "replicas": 2,
                        "selector": {"matchLabels": labels},
                        "template": {
                            "metadata": {"labels": labels},
                            "spec": {"containers": [{"name": "c", "image": "nginx"}]},
                        },
                    },
                }
            )
    return out


def configmaps(count: int, size: int) -> list[dict[str, Any]]:
    payload = "x" * size
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"cm-{i:05d}"},
            "data": {"payload": payload},
        }
        for i in range(count)
    ]


def standby_copies(namespaces: int, per_namespace: int) -> list[dict[str, Any]]:
    """What a sync leaves in a DR cluster: `namespaces` namespaces of `per_namespace` Deployments each, held
    at 0 replicas by the standby transform and marked as drsyncer's copies (the failover benchmark's seed)."""
    from drsyncer.sync.ownership import mark
    from drsyncer.sync.rules import Rules
    from drsyncer.sync.transform import for_destination

    out: list[dict[str, Any]] = []
    for n in range(namespaces):
        ns = f"app-{n:03d}"
        rules = Rules.from_spec({}, replication="dr-system/bench", source_cluster="source")
        out.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        for i in range(per_namespace):
            labels = {"app": f"svc-{i}"}
            source = {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": f"svc-{i}", "namespace": ns, "uid": f"u-{n}-{i}"},
                "spec": {
                    "replicas": 3,
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {"containers": [{"name": "c", "image": "nginx"}]},
                    },
                },
            }
            out.append(mark(for_destination(source, rules, destination_namespace=ns), rules, source))
    return out


def _serve(kubeconfig: str, seed: dict[str, Any]) -> None:
    """The child process: start the clusters, seed the source store, say "ready", serve until stdin closes."""
    from drsyncer.sim import SimFleet

    fleet = SimFleet(["source", "dr1"]).start()
    try:
        if seed.get("kind") == "standby":
            for obj in standby_copies(int(seed["namespaces"]), int(seed["count"])):
                fleet["dr1"].store.put(obj)
        else:
            make = mixed_objects if seed.get("kind") == "mixed" else configmaps
            store = fleet["source"].store
            for obj in make(int(seed.get("count", 0)), int(seed.get("size", 1024))):
                obj["metadata"]["namespace"] = NAMESPACE
                store.put(obj)
        fleet.write_kubeconfig(kubeconfig)
        print("ready", flush=True)
        sys.stdin.read()  # the parent closes stdin (or dies) to stop us
    finally:
        fleet.stop()


class SimProcess:
    def __init__(self, seed: dict[str, Any]) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="drsyncer-bench-")
        self.kubeconfig = Path(self._dir.name) / "kubeconfig"
        self._seed = seed
        self._proc: subprocess.Popen[str] | None = None
        self.urls: dict[str, str] = {}

    def __enter__(self) -> SimProcess:
        code = (
            f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import sync_sim; "
            f"sync_sim._serve({str(self.kubeconfig)!r}, {self._seed!r})"
        )
        self._proc = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline().strip()
        if line != "ready":
            self.__exit__(None, None, None)
            raise RuntimeError(f"the simulator process did not start (said {line!r})")
        config = yaml.safe_load(self.kubeconfig.read_text())
        self.urls = {c["name"]: c["cluster"]["server"] for c in config["clusters"]}
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._proc is not None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
            self._proc = None
        self._dir.cleanup()

    def _admin(self, cluster: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.urls[cluster] + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read()
        return json.loads(text) if text else None

    def set_faults(self, cluster: str, **settings: Any) -> None:
        self._admin(cluster, "POST", "/_sim/faults", settings)

    def clear_faults(self, cluster: str) -> None:
        self._admin(cluster, "DELETE", "/_sim/faults")

    def writes(self, cluster: str) -> int:
        return int(self._admin(cluster, "GET", "/_sim/counters")["writes"])

    def counters(self, cluster: str) -> dict[str, dict[str, int]]:
        counters: dict[str, dict[str, int]] = self._admin(cluster, "GET", "/_sim/counters")["counters"]
        return counters

    def reset_counters(self, cluster: str) -> None:
        self._admin(cluster, "DELETE", "/_sim/counters")
