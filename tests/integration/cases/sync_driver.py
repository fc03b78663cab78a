"""Driving drsyncer as a user does in the replayed cases: objects applied from the case's YAML with the
stock kubernetes client, `drsyncer sync --kubeconfig ... --source-context src --dest-context dst` as
a process, and a check that a run writes nothing (the simulator counts writes; on a real control
plane the resourceVersions of the objects must stay as they were)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kubernetes import dynamic
from kubernetes.client.rest import ApiException

from tests.fixtures.backends import World

DATA = Path(__file__).parent / "data"
Obj = dict[str, Any]


def load(case: str, name: str) -> list[Obj]:
    """The objects of `data/<case>/<name>` (a multi-document YAML file)."""
    return [d for d in yaml.safe_load_all((DATA / case / name).read_text()) if d]


def client(world: World, cluster: str) -> dynamic.DynamicClient:
    return dynamic.DynamicClient(world.api(cluster))


def resource(world: World, cluster: str, api_version: str, kind: str) -> Any:
    return client(world, cluster).resources.get(api_version=api_version, kind=kind)


def apply(world: World, cluster: str, objects: list[Obj]) -> None:
    """Create each object (what `kubectl apply -f` does for objects that do not exist yet)."""
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


def patch(world: World, cluster: str, api_version: str, kind: str, namespace: str, name: str,
          body: Obj) -> Obj:
    """A JSON merge patch (`kubectl patch --type merge`); raises ApiException when refused."""
    found = resource(world, cluster, api_version, kind).patch(
        name=name, namespace=namespace, body=body, content_type="application/merge-patch+json")
    return dict(found.to_dict())


def label(world: World, cluster: str, api_version: str, kind: str, namespace: str, name: str,
          labels: dict[str, str]) -> None:
    patch(world, cluster, api_version, kind, namespace, name, {"metadata": {"labels": labels}})


def sync(world: World, namespace: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`drsyncer sync --kubeconfig <world> --source-context src --dest-context dst --namespace NS ...`"""
    command = [sys.executable, "-m", "drsyncer.cli", "sync", "--kubeconfig", str(world.kubeconfig),
               "--source-context", "src", "--dest-context", "dst", "--namespace", namespace, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=180)


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
