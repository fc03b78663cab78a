"""Driving drsyncer as a user does in the replayed cases (inputs in data/<case>/): objects applied
from the case's YAML with the stock kubernetes client, `drsyncer sync --kubeconfig ... --source-context
src --dest-context dst` as a process, and checks that a run writes nothing (the simulator counts
writes; on a real control plane the resourceVersions of the objects must stay as they were). Each case
runs on the simulator and on a real control plane (the `kube` fixture)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes import dynamic, utils
from kubernetes.client.rest import ApiException

from tests.fixtures.backends import World
from tests.fixtures.polling import eventually

DATA = Path(__file__).parent / "data"
Obj = dict[str, Any]


def load(case: str, name: str) -> list[Obj]:
    """The objects of `data/<case>/<name>` (a multi-document YAML file)."""
    return [d for d in yaml.safe_load_all((DATA / case / name).read_text()) if d]


def client(world: World, cluster: str) -> dynamic.DynamicClient:
    return dynamic.DynamicClient(world.api(cluster))


def resource(world: World, cluster: str, api_version: str, kind: str) -> Any:
    return client(world, cluster).resources.get(api_version=api_version, kind=kind)


def await_namespaces_free(world: World, cluster: str, objects: list[Obj]) -> None:
    """Wait until no Namespace named in `objects` is still being deleted (the real clusters are shared
    by the session, and an earlier test of the same case leaves its namespace terminating)."""
    core = k8s.CoreV1Api(world.api(cluster))
    for obj in objects:
        if obj.get("kind") != "Namespace":
            continue

        def free(name: str = obj["metadata"]["name"]) -> bool:
            try:
                found = core.read_namespace(name)
            except ApiException as exc:
                if exc.status == 404:
                    return True
                raise
            return found.metadata.deletion_timestamp is None

        eventually(free, timeout_s=90, what=f"namespace {obj['metadata']['name']} to finish deleting")


def apply(world: World, cluster: str, objects: list[Obj]) -> None:
    """Create each object (what `kubectl apply -f` does for objects that do not exist yet)."""
    await_namespaces_free(world, cluster, objects)
    for obj in objects:
        meta = obj["metadata"]
        kind = resource(world, cluster, obj["apiVersion"], obj["kind"])
        kind.create(body=obj, namespace=meta.get("namespace"))


def get(world: World, cluster: str, api_version: str, kind: str, namespace: str, name: str) -> Obj | None:
    try:
        found = resource(world, cluster, api_version, kind).get(name=name, namespace=namespace)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    return dict(found.to_dict())


def delete(world: World, cluster: str, api_version: str, kind: str, namespace: str, name: str) -> None:
    resource(world, cluster, api_version, kind).delete(name=name, namespace=namespace)


def patch(
    world: World, cluster: str, api_version: str, kind: str, namespace: str, name: str, body: Obj
) -> Obj:
    """A JSON merge patch (`kubectl patch --type merge`); raises ApiException when refused."""
    found = resource(world, cluster, api_version, kind).patch(
        name=name, namespace=namespace, body=body, content_type="application/merge-patch+json"
    )
    return dict(found.to_dict())


def label(
    world: World, cluster: str, api_version: str, kind: str, namespace: str, name: str, labels: dict[str, str]
) -> None:
    patch(world, cluster, api_version, kind, namespace, name, {"metadata": {"labels": labels}})


def run_sync(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    """`drsyncer sync --kubeconfig <world> --source-context src --dest-context dst ARGS` in a process of
    its own, whatever its exit code."""
    command = [
        sys.executable,
        "-m",
        "drsyncer.cli",
        "sync",
        "--kubeconfig",
        str(world.kubeconfig),
        "--source-context",
        "src",
        "--dest-context",
        "dst",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=180)


def sync(world: World, namespace: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`drsyncer sync ... --namespace NS ARGS`, whatever its exit code."""
    return run_sync(world, "--namespace", namespace, *args)


def table_row(output: str, kind: str) -> dict[str, int]:
    """The counts of `kind` in the per-kind table of `drsyncer sync`'s output."""
    header: list[str] = []
    for line in output.splitlines():
        cells = line.split()
        if cells and cells[0] == "kind":
            header = cells[1:]
        elif cells and cells[0] == kind and header and all(c.isdigit() for c in cells[1:]):
            return dict(zip(header, (int(c) for c in cells[1:]), strict=False))
    raise AssertionError(f"no row for {kind} in:\n{output}")


@dataclass
class Writes:
    """What the destination holds now, to tell afterwards that a run wrote nothing to it."""

    world: World
    namespace: str
    kinds: tuple[tuple[str, str], ...]  # (apiVersion, kind) of the objects to watch
    before: dict[tuple[str, str], str]
    sim_writes: int

    @classmethod
    def mark(cls, world: World, namespace: str, *kinds: tuple[str, str]) -> Writes:
        return cls(world, namespace, kinds, _versions(world, namespace, kinds), _sim_writes(world))

    def none_since(self) -> bool:
        if self.world.backend == "sim":
            return _sim_writes(self.world) == self.sim_writes
        return _versions(self.world, self.namespace, self.kinds) == self.before


def _sim_writes(world: World) -> int:
    return int(world["dst"].writes()) if world.backend == "sim" else 0


def _versions(world: World, namespace: str, kinds: tuple[tuple[str, str], ...]) -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    for api_version, kind in kinds:
        for item in resource(world, "dst", api_version, kind).get(namespace=namespace).items:
            found[(kind, item.metadata.name)] = item.metadata.resourceVersion
    return found


# written by the API server and controllers as they go, not by a sync
_NOT_SYNCED = (
    "events",
    "events.events.k8s.io",
    "leases.coordination.k8s.io",
    "endpointslices.discovery.k8s.io",
    "endpoints",
)


def seed(
    world: World,
    case: str,
    *,
    edit: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    name: str = "source.yaml",
) -> list[dict[str, Any]]:
    """Create the objects of data/<case>/<name> in the source cluster `src` (each changed by `edit`)."""
    docs = load(case, name)
    if edit is not None:
        docs = [edit(d) for d in docs]
    await_namespaces_free(world, "src", docs)
    utils.create_from_yaml(world.api("src"), yaml_objects=docs)
    return docs


def drsyncer_sync(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    """`drsyncer sync ... ARGS` (see `run_sync`), which must succeed."""
    run = run_sync(world, *args)
    assert run.returncode == 0, run.stdout + run.stderr
    return run


def _resource_versions(world: World, namespace: str) -> dict[str, str]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not on PATH; it lists every type of the real cluster")
    base = [kubectl, "--kubeconfig", str(world.kubeconfig), "--context", "dst"]
    listed = subprocess.run(
        [*base, "api-resources", "--verbs=list", "--namespaced", "-o", "name"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split()
    types = ",".join(t for t in listed if t not in _NOT_SYNCED)
    listing = subprocess.run(
        [*base, "-n", namespace, "get", types, "-o", "json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    items = json.loads(listing.stdout)["items"]
    return {f"{o['kind']}/{o['metadata']['name']}": o["metadata"]["resourceVersion"] for o in items}


@contextmanager
def writes_nothing(world: World, namespace: str) -> Iterator[None]:
    """Assert that the block writes nothing into the destination cluster `dst`: no write request on the
    simulator; on a real cluster, every object in `namespace` keeps its resourceVersion."""
    if world.backend == "sim":
        before_count = world["dst"].writes()
        yield
        assert world["dst"].writes() == before_count, "the destination received writes"
        return
    before = _resource_versions(world, namespace)
    yield
    after = _resource_versions(world, namespace)
    assert after == before, "objects changed in the destination"
