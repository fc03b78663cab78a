"""`drsyncer sync` end to end: a real process against the clusters (simulated and real) through a kubeconfig
file.

The process's own requests are out of this test's reach, so "writes nothing" is checked in the
destinations: no object of the namespace changed its resourceVersion, and the destination's own
request counts (the simulator's counters, a real kube-apiserver's `apiserver_request_total`) did not
grow.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from drsyncer.api import keys
from drsyncer.sync.command import CLI_REPLICATION_NAMESPACE
from tests.integration.sync.conftest import (
    World,
    delete,
    pod_template,
    read,
    recreate,
    seed,
    source_objects,
)


@pytest.fixture
def kubeconfig(world: World) -> Path:
    return world.clusters.kubeconfig


def destination_state(
    world: World, namespace: str, clusters: tuple[str, ...] = ("dr1", "dr2")
) -> dict[str, object]:
    """What a write to dr1 and dr2 would change: each object's resourceVersion in `namespace` by kind
    (and, on the simulator, the count of write requests)."""
    state: dict[str, object] = {}
    for cluster in clusters:
        for plural in ("configmaps", "secrets", "services", "persistentvolumeclaims"):
            items = (world.get(cluster, f"/api/v1/namespaces/{namespace}/{plural}") or {}).get("items", [])
            state[f"{cluster}/{plural}"] = {
                o["metadata"]["name"]: o["metadata"]["resourceVersion"] for o in items
            }
        for path in ("/apis/apps/v1", "/apis/networking.k8s.io/v1"):
            plural = "deployments" if "apps" in path else "ingresses"
            items = (world.get(cluster, f"{path}/namespaces/{namespace}/{plural}") or {}).get("items", [])
            state[f"{cluster}/{plural}"] = {
                o["metadata"]["name"]: o["metadata"]["resourceVersion"] for o in items
            }
        state[f"{cluster}/namespace"] = world.get(cluster, f"/api/v1/namespaces/{namespace}") is not None
        # the simulator counts every write request; a real apiserver its creates and updates of these kinds
        state[f"{cluster}/writes"] = world.clusters[cluster].writes()
    return state


def drsyncer_sync(kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "drsyncer.cli", "sync", "--kubeconfig", str(kubeconfig), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def table_row(output: str, kind: str) -> list[str]:
    """The counts of `kind` in the first table of `output`: created, updated, unchanged, pruned,
    skipped, failed."""
    for line in output.splitlines():
        cells = line.split()
        if cells and cells[0] == kind:
            return [c for c in cells[1:] if c.isdigit()]
    raise AssertionError(f"no row for {kind} in:\n{output}")


def test_sync_copies_to_both_destinations_resyncs_without_writes_and_prunes(
    world: World, kubeconfig: Path
) -> None:
    seed(world)

    run = drsyncer_sync(
        kubeconfig, "--source-context", "source", "--dest-context", "dr1,dr2", "--namespace", world.ns
    )

    assert run.returncode == 0, run.stdout + run.stderr
    assert f"{world.ns} → dr1/{world.ns}: Completed" in run.stdout
    assert f"{world.ns} → dr2/{world.ns}: Completed" in run.stdout
    assert table_row(run.stdout, "Service") == ["2", "0", "0", "0", "0", "0"]
    # the default types; kube-root-ca.crt is skipped
    assert table_row(run.stdout, "total") == ["7", "0", "0", "0", "1", "0"]
    assert f"Deployment {world.ns}/web: 3 → 0 replicas" in run.stdout
    for cluster in ("dr1", "dr2"):
        copy = read(world, cluster, source_objects()[0])
        assert copy is not None
        marks = copy["metadata"]["annotations"]
        assert marks[keys.ANNOTATION_REPLICATION] == f"{CLI_REPLICATION_NAMESPACE}/source"

    before = destination_state(world, world.ns)
    again = drsyncer_sync(
        kubeconfig, "--source-context", "source", "--dest-context", "dr1,dr2", "--namespace", world.ns
    )
    assert again.returncode == 0
    assert table_row(again.stdout, "total") == ["0", "0", "7", "0", "1", "0"]
    assert destination_state(world, world.ns) == before

    delete(world, "source", source_objects()[0])
    pruned = drsyncer_sync(
        kubeconfig,
        "--source-context",
        "source",
        "--dest-context",
        "dr1,dr2",
        "--namespace",
        world.ns,
        "--prune",
    )
    assert pruned.returncode == 0
    assert table_row(pruned.stdout, "ConfigMap") == ["0", "0", "0", "1", "1", "0"]
    assert read(world, "dr1", source_objects()[0]) is None and read(world, "dr2", source_objects()[0]) is None


def test_dry_run_to_a_mapped_namespace_writes_nothing(world: World, kubeconfig: Path) -> None:
    seed(world)
    mapped = f"{world.ns}-copy"
    before = destination_state(world, mapped)

    run = drsyncer_sync(
        kubeconfig,
        "--source-context",
        "source",
        "--dest-context",
        "dr1",
        "--namespace",
        f"{world.ns}:{mapped}",
        "--dry-run",
        "--no-scale-to-zero",
        "--types",
        "deployments,cm",
    )

    assert run.returncode == 0, run.stdout + run.stderr
    assert f"{world.ns} → dr1/{mapped}: Completed" in run.stdout and "dry run" in run.stdout
    assert table_row(run.stdout, "total") == ["2", "0", "0", "0", "1", "0"]
    assert f"Namespace {mapped} does not exist and would be created" in run.stdout
    assert "replicas" not in run.stdout  # --no-scale-to-zero: the count is kept
    assert destination_state(world, mapped) == before


def test_failed_objects_are_listed_with_category_and_message_and_exit_non_zero(
    world: World, kubeconfig: Path
) -> None:
    seed(world)  # the Widget CRD exists only in the source, and the CLI does not copy CRDs

    run = drsyncer_sync(
        kubeconfig,
        "--source-context",
        "source",
        "--dest-context",
        "dr1",
        "--namespace",
        world.ns,
        "--types",
        "configmaps,widgets.example.com",
    )

    assert run.returncode == 1
    assert f"{world.ns} → dr1/{world.ns}: PartiallyFailed" in run.stdout
    assert table_row(run.stdout, "Widget.example.com") == ["0", "0", "0", "0", "0", "1"]
    assert (
        f"WaitForNextSync: Widget.example.com {world.ns}/blue: Widget (example.com/v1) is not "
        "served by cluster dr1"
    ) in run.stdout
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--source-context", "source", "--dest-context", "nope"], "contexts has no entry named 'nope'"),
        (["--source-context", "source", "--dest-context", "source"], "is both the source and a destination"),
        (
            ["--source-context", "source", "--dest-context", "dr1", "--namespace", ":x"],
            "expected NS or NS:DEST",
        ),
        (
            ["--source-context", "source", "--dest-context", "dr1", "--types", "gizmos"],
            "drsyncer sync: context source: resource type 'gizmos' is not served by cluster source",
        ),
        # a namespace's sync never writes a cluster-wide type: a ClusterRole copied from one would
        # overwrite the destination's own (cluster-admin included), `namespaces` every Namespace
        (
            ["--source-context", "source", "--dest-context", "dr1", "--types", "configmaps,clusterroles"],
            "drsyncer sync: context source: resource type 'clusterroles' (ClusterRole.rbac.authorization.k8s.io)"
            " is served as cluster-scoped by cluster source: resourceTypes (--types) name namespaced types only",
        ),
        (
            ["--source-context", "source", "--dest-context", "dr1", "--types", "ns"],
            "drsyncer sync: context source: resource type 'ns' (Namespace) is served as cluster-scoped",
        ),
        (
            ["--source-context", "source", "--dest-context", "dr1", "--namespace", "shpo"],
            "drsyncer sync: context source: no namespace shpo",
        ),
    ],
)
def test_bad_input_fails_in_one_line(world: World, kubeconfig: Path, args: list[str], message: str) -> None:
    seed(world, [])
    if "--namespace" not in args:
        args = [*args, "--namespace", world.ns]

    run = drsyncer_sync(kubeconfig, *args)

    assert run.returncode == 1
    assert message in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and run.stdout == ""


def test_an_unreadable_kubeconfig_fails_in_one_line(world: World, tmp_path: Path) -> None:
    missing = drsyncer_sync(
        tmp_path / "absent", "--source-context", "source", "--dest-context", "dr1", "--namespace", world.ns
    )
    assert missing.returncode == 1
    expected = f"kubeconfig {tmp_path / 'absent'}: cannot read (No such file or directory)"
    # the error category is for status and metrics, not for a terminal
    assert missing.stderr.strip().splitlines() == [f"drsyncer sync: {expected}"]


@pytest.mark.sim_only("takes a destination down")
def test_an_unreachable_destination_fails_in_one_line_before_anything_is_written(
    world: World, kubeconfig: Path
) -> None:
    seed(world)
    world.sim("dr2").down()
    before = destination_state(world, world.ns, ("dr1",))
    down = drsyncer_sync(
        kubeconfig, "--source-context", "source", "--dest-context", "dr1,dr2", "--namespace", world.ns
    )
    assert down.returncode == 1
    (line,) = down.stderr.strip().splitlines()
    assert line.startswith("drsyncer sync: context dr2: cluster unreachable:") and "cannot connect" in line
    assert destination_state(world, world.ns, ("dr1",)) == before  # nothing ran


def test_skipped_objects_are_listed_with_their_reason_grouped_or_one_per_line(
    world: World, kubeconfig: Path
) -> None:
    ignored = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"local-{i}", "labels": {keys.LABEL_IGNORE: "true"}},
            "data": {},
        }
        for i in range(5)
    ]
    seed(world, [*source_objects()[:1], *ignored])
    args = (
        "--source-context",
        "source",
        "--dest-context",
        "dr1",
        "--namespace",
        world.ns,
        "--types",
        "configmaps",
    )

    grouped = drsyncer_sync(kubeconfig, *args)

    assert grouped.returncode == 0, grouped.stdout + grouped.stderr
    # the five ignored, and the namespace's kube-root-ca.crt, which its own cluster publishes
    assert table_row(grouped.stdout, "ConfigMap") == ["1", "0", "0", "0", "6", "0"]
    assert f"ConfigMap {world.ns}/kube-root-ca.crt" in grouped.stdout
    assert (
        f"labelled {keys.LABEL_IGNORE}=true (5): ConfigMap {world.ns}/local-0, "
        f"ConfigMap {world.ns}/local-1, ConfigMap {world.ns}/local-2 and 2 more"
    ) in grouped.stdout

    verbose = drsyncer_sync(kubeconfig, *args, "--verbose")

    assert verbose.returncode == 0
    for i in range(5):
        assert f"ConfigMap {world.ns}/local-{i}: labelled {keys.LABEL_IGNORE}=true" in verbose.stdout


def _workload(kind: str, name: str, replicas: int, labels: dict[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "replicas": replicas,
        "selector": {"matchLabels": {"app": name}},
        "template": pod_template(name),
    }
    if kind == "StatefulSet":
        spec["serviceName"] = name
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": name, "labels": {"app": name, **(labels or {})}},
        "spec": spec,
    }


@pytest.mark.sim_only(
    "which copies get a replica line is drsyncer's own report; held-back copies on a real server are "
    "in test_immutable.py"
)
def test_replica_changes_are_printed_only_for_copies_written_or_to_be_written(
    world: World, kubeconfig: Path
) -> None:
    web, db = _workload("Deployment", "web", 3), _workload("StatefulSet", "db", 2)
    idle = _workload("Deployment", "idle", 2, {keys.LABEL_IGNORE: "true"})
    seed(world, [web, db, idle])
    args = ["--source-context", "source", "--dest-context", "dr1", "--namespace", world.ns]
    args += ["--types", "deployments,statefulsets"]

    first = drsyncer_sync(kubeconfig, *args)

    assert first.returncode == 0, first.stdout + first.stderr
    assert f"Deployment {world.ns}/web: 3 → 0 replicas" in first.stdout
    assert f"StatefulSet {world.ns}/db: 2 → 0 replicas" in first.stdout
    assert first.stdout.count("replicas") == 2, first.stdout  # not for idle, which was skipped

    # web stays as it is (unchanged), db changes a field its copy cannot take in place (held back)
    recreate(world, "source", db, lambda o: o["spec"].update(serviceName="db-2"))
    for run in (drsyncer_sync(kubeconfig, *args, "--dry-run"), drsyncer_sync(kubeconfig, *args)):
        assert run.returncode == 0, run.stdout + run.stderr
        assert table_row(run.stdout, "total") == ["0", "0", "1", "0", "2", "0"]
        assert f"StatefulSet {world.ns}/db: held back" in run.stdout
        assert "replicas" not in run.stdout, run.stdout
