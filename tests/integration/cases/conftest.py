"""Replayed real-world cases (the inputs in data/<case>/): seed the source cluster, run `drsyncer sync`
as a user does, and check that a second run writes nothing, on the simulator and on a real control
plane (the `kube` fixture).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import utils

from tests.fixtures.backends import World

DATA = Path(__file__).parent / "data"
# written by the API server and controllers as they go, not by a sync
_NOT_SYNCED = ("events", "events.events.k8s.io", "leases.coordination.k8s.io",
               "endpointslices.discovery.k8s.io", "endpoints")


def seed(world: World, case: str, *, edit: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
         name: str = "source.yaml") -> list[dict[str, Any]]:
    """Create the objects of data/<case>/<name> in the source cluster `src` (each changed by `edit`)."""
    docs = [d for d in yaml.safe_load_all((DATA / case / name).read_text()) if d]
    if edit is not None:
        docs = [edit(d) for d in docs]
    utils.create_from_yaml(world.api("src"), yaml_objects=docs)
    return docs


def drsyncer_sync(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    """`drsyncer sync --kubeconfig … --source-context src --dest-context dst ARGS` in a process of its own."""
    command = [sys.executable, "-m", "drsyncer.cli", "sync", "--kubeconfig", str(world.kubeconfig),
               "--source-context", "src", "--dest-context", "dst", *args]
    run = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    return run


def _resource_versions(world: World, namespace: str) -> dict[str, str]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not on PATH; it lists every type of the real cluster")
    base = [kubectl, "--kubeconfig", str(world.kubeconfig), "--context", "dst"]
    listed = subprocess.run([*base, "api-resources", "--verbs=list", "--namespaced", "-o", "name"],
                            capture_output=True, text=True, check=True, timeout=60).stdout.split()
    types = ",".join(t for t in listed if t not in _NOT_SYNCED)
    listing = subprocess.run([*base, "-n", namespace, "get", types, "-o", "json"], capture_output=True,
                             text=True, check=True, timeout=60)
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
