"""Many namespaces: spread over both workers, and every result lands in the status exactly once. Plugins
installed with pip, used by the workers and checked by the watcher."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from typing import Any

import pytest

from drsyncer.errors import CategorisedError
from drsyncer.kube.client import NAMESPACES
from drsyncer.kube.discovery import ResourceRef
from tests.fixtures.crds import widget_crd
from tests.fixtures.plugins import install_example_plugin, python_path
from tests.fixtures.polling import builtin_ref
from tests.integration.pipeline.conftest import CONFIGMAPS, Pipeline, eventually


def test_twenty_namespace_replication_runs_on_both_workers_and_syncs_every_namespace(pipe: Pipeline) -> None:
    namespaces = [f"fan-{i:02d}" for i in range(20)]
    for ns in namespaces:
        pipe.seed(ns, 3, labels={"team": "fanout"})
    for cluster in ("dr1", "dr2"):
        # each task takes long enough that one worker cannot take them all before the other
        pipe.sim(cluster).faults.set(latency_ms=20)
    try:
        pipe.apply_replication(
            "fanout", namespaceSelector={"matchLabels": {"team": "fanout"}}, schedule="@every 10s"
        )
        status = eventually(
            lambda: (s := pipe.status("fanout")).get("phase") == "Completed" and s,
            timeout_s=90,
            what="the 20-namespace run to complete",
        )
    finally:
        for cluster in ("dr1", "dr2"):
            pipe.sim(cluster).faults.clear()

    records = pipe.run_records("fanout")
    assert set(records) == set(namespaces)
    assert {r["worker"] for r in records.values()} == {"worker-1@pipeline", "worker-2@pipeline"}
    for ns in namespaces:
        for cluster in ("dr1", "dr2"):
            assert set(pipe.configmaps(cluster, ns)) >= {"cm-00000", "cm-00001", "cm-00002"}, (cluster, ns)
    assert {(t["cluster"], t["sourceNamespace"]) for t in status["targets"]} == {
        (c, ns) for c in ("dr1", "dr2") for ns in namespaces
    }
    assert status["syncStats"]["failed"] == 0


def test_sync_now_of_many_concurrent_namespaces_loses_no_result_and_reports_once(pipe: Pipeline) -> None:
    namespaces = [f"burst-{i:02d}" for i in range(24)]
    for i, ns in enumerate(namespaces):
        pipe.seed(ns, i + 1, labels={"team": "burst"})  # a different count per namespace
    pipe.apply_replication(
        "burst", namespaceSelector={"matchLabels": {"team": "burst"}}, replicationMode="Manual"
    )
    eventually(lambda: pipe.status("burst").get("phase") == "Pending", what="the watcher to see it")
    pipe.annotate("burst", {"dr-syncer.io/sync-now": "now"})

    status = eventually(
        lambda: (s := pipe.status("burst")).get("phase") == "Completed" and s,
        timeout_s=90,
        what="the sync-now run to complete",
    )
    assert "dr-syncer.io/sync-now" not in (pipe.replication("burst")["metadata"].get("annotations") or {})
    records = pipe.run_records("burst")
    assert set(records) == set(namespaces)
    assert len({r["run_id"] for r in records.values()}) == 1  # one run, sent by the watcher
    per_namespace = sum(t["totals"]["created"] for r in records.values() for t in r["targets"])
    expected = 2 * sum(range(1, len(namespaces) + 1))  # every ConfigMap into two destinations
    assert per_namespace == expected
    assert status["syncStats"]["created"] == expected
    assert status["syncStats"]["total"] == expected
    assert sum(t["syncStats"]["created"] for t in status["targets"]) == expected
    assert len(status["targets"]) == 2 * len(namespaces)
    # the status was written once for the run: one Event of each kind
    reasons = [e["reason"] for e in pipe.events("burst")]
    assert reasons.count("SyncStarted") == 1 and reasons.count("SyncCompleted") == 1, reasons


def _sync_now(pipe: Pipeline, name: str, phase: str) -> dict[str, Any]:
    """Trigger a run and wait for the phase it must end in (each run here ends in another phase than the
    one before it: lastSyncTime has whole seconds, too coarse to tell two quick runs apart)."""
    pipe.annotate(name, {"dr-syncer.io/sync-now": uuid.uuid4().hex})
    return eventually(
        lambda: (s := pipe.status(name)).get("phase") == phase and s,
        timeout_s=60,
        what=f"a sync-now run of {name} to end {phase}",
    )


def test_a_crd_every_namespace_copies_counts_once_per_destination_in_the_replications_totals(
    pipe: Pipeline,
) -> None:
    # syncStats adds up the targets; the definition each namespace's sync writes is one object per
    # destination, not one per namespace (kubectl's SYNCED column read 40 where 34 copies existed)
    source = pipe.client("source")
    crds = source.resolve("customresourcedefinitions.apiextensions.k8s.io")
    source.create(crds, None, widget_crd())

    def served() -> ResourceRef | None:
        source.discovery.invalidate()
        try:
            return source.resolve("widgets.example.com")
        except CategorisedError:  # not served yet
            return None

    widgets = eventually(served, what="the Widget CRD to be served")
    namespaces = ("gadget-a", "gadget-b", "gadget-c")
    for ns in namespaces:
        source.create(NAMESPACES, None, {"metadata": {"name": ns}})
        for i in range(2):
            source.create(
                widgets, ns, {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": f"w{i}"}}
            )
    pipe.apply_replication(
        "widgets",
        namespaceMappings=[{"source": ns} for ns in namespaces],
        resourceTypes=["widgets.example.com"],
        syncCRDs=True,
        replicationMode="Manual",
    )
    eventually(lambda: pipe.status("widgets").get("phase") == "Pending", what="the watcher to see it")
    pipe.annotate("widgets", {"dr-syncer.io/sync-now": "now"})
    status = eventually(
        lambda: (
            (s := pipe.status("widgets")).get("phase") in ("Completed", "PartiallyFailed", "Failed") and s
        ),
        timeout_s=60,
        what="the run to end",
    )
    assert status["phase"] == "Completed", (status.get("lastError"), status.get("targets"))
    # per destination: 6 Widgets and the one CRD
    assert status["syncStats"]["synced"] == status["syncStats"]["total"] == 2 * (6 + 1), status["syncStats"]
    groups = {g["groupKind"]: g for g in status["resourceGroups"]}
    assert groups["CustomResourceDefinition.apiextensions.k8s.io"]["total"] == 2, groups
    # each target still counts the definition it wrote or found in step
    assert all(t["syncStats"]["total"] == 2 + 1 for t in status["targets"]), status["targets"]


def test_modifiers_give_each_destination_its_own_copy_and_a_failing_one_is_reported(pipe: Pipeline) -> None:
    ns = pipe.unique("modifiers")
    pipe.seed(ns, 2)
    per_destination = [
        {"clusters": [c], "mergePatch": {"data": {"endpoint": f"db.{c}.example.com"}}} for c in ("dr1", "dr2")
    ]
    failing = {
        "clusters": ["dr1"],
        "names": ["cm-00001"],
        "jsonPatch": [{"op": "replace", "path": "/data/missing", "value": "x"}],
    }
    pipe.apply_replication(
        "modifiers", sourceNamespace=ns, replicationMode="Manual", modifiers=[*per_destination, failing]
    )
    eventually(lambda: pipe.status("modifiers").get("phase") == "Pending", what="the watcher to see it")

    status = _sync_now(pipe, "modifiers", "PartiallyFailed")
    for cluster in ("dr1", "dr2"):
        copies = pipe.configmaps(cluster, ns)
        assert copies["cm-00000"]["data"]["endpoint"] == f"db.{cluster}.example.com"
    assert "cm-00001" not in pipe.configmaps("dr1", ns)  # never written unmodified
    assert (
        pipe.configmaps("dr2", ns)["cm-00001"]["data"]["endpoint"] == "db.dr2.example.com"
    )  # no rule fails there
    message = "spec.modifiers[2].jsonPatch[0] (/data/missing): path not found"
    assert message in json.dumps(status), status
    assert status["syncStats"]["failed"] == 1
    assert any(message in e.get("message", "") for e in pipe.events("modifiers"))
    assert message in pipe.logs()  # the worker's log

    # dr1's rules change (its endpoint, and the failing rule goes): dr1's cm-00000 is rewritten and its
    # cm-00001 arrives; dr2's rules are as they were, so its copies are settled and nothing is written there
    per_destination[0]["mergePatch"] = {"data": {"endpoint": "db2.dr1.example.com"}}
    pipe.controller.patch(
        pipe.resolve("replications.dr-syncer.io"),
        pipe.ns,
        "modifiers",
        {"spec": {"modifiers": per_destination}},
    )
    status = _sync_now(pipe, "modifiers", "Completed")
    assert pipe.configmaps("dr1", ns)["cm-00000"]["data"]["endpoint"] == "db2.dr1.example.com"
    assert pipe.configmaps("dr2", ns)["cm-00000"]["data"]["endpoint"] == "db.dr2.example.com"
    stats = status["syncStats"]
    assert (stats["updated"], stats["unchanged"], stats["created"], stats["failed"]) == (1, 2, 1, 0), stats


def test_a_malformed_modifier_is_an_invalid_spec_naming_the_rule_and_field(pipe: Pipeline) -> None:
    ns = pipe.unique("modifiers-invalid")
    pipe.apply_replication(
        "modifiers-invalid",
        sourceNamespace=ns,
        replicationMode="Manual",
        modifiers=[
            {"labels": {"set": {"site": "dr"}}},
            {"nameRegex": "web-(", "labels": {"set": {"a": "b"}}},
        ],
    )
    condition = eventually(
        lambda: (c := pipe.condition("modifiers-invalid", "InvalidSpec")).get("status") == "True" and c,
        what="InvalidSpec on the Replication",
    )
    assert "spec.modifiers[1].nameRegex: invalid regular expression 'web-('" in condition["message"]


# -- plugins ---------------------------------------------------------------------------------------
# These share this module's pipeline (test time is scarce): every process of it has the example plugin
# (examples/plugin-example) installed with pip on its path, as a derived image would.


@pytest.fixture(scope="module")
def pipeline_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    site = install_example_plugin(tmp_path_factory.mktemp("example-plugin"))
    return {"PYTHONPATH": python_path(site)}


def test_drsyncer_plugins_lists_the_pip_installed_example(pipe: Pipeline) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "drsyncer.cli", "plugins", "--json"],
        env=pipe.env(),
        capture_output=True,
        text=True,
        check=True,
    )
    listed = {p["name"]: p for p in json.loads(out.stdout)}
    assert listed["example"]["distribution"] == "drsyncer-example-plugin"
    assert listed["example"]["version"] == "0.1.0"
    assert listed["example"]["hooks"] == ["transform", "filter", "validate"]
    assert listed["example"]["error"] == ""
    table = subprocess.run(
        [sys.executable, "-m", "drsyncer.cli", "plugins"],
        env=pipe.env(),
        capture_output=True,
        text=True,
        check=True,
    )
    row = next(line for line in table.stdout.splitlines() if line.startswith("example"))
    assert row.split()[:5] == ["example", "drsyncer-example-plugin", "0.1.0", "transform,", "filter,"]


def test_workers_apply_the_example_plugin_with_per_destination_values(pipe: Pipeline) -> None:
    ns = "plugged"
    pipe.seed(ns, 1)
    local = {"metadata": {"name": "local", "labels": {"example.com/local-only": "yes"}}, "data": {"a": "b"}}
    pipe.source.create(CONFIGMAPS, ns, local)
    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "shop"},
        "spec": {"rules": [{"host": "shop.example.com", "http": {"paths": []}}]},
    }
    ingresses = builtin_ref("ingresses")
    pipe.source.create(ingresses, ns, ingress)
    parameters = {
        "hostSuffix": ".dr.example.com",
        "annotations": {"example.com/site": "{cluster}"},
        "skipLabel": "example.com/local-only",
    }
    pipe.apply_replication(
        "plugged",
        sourceNamespace=ns,
        schedule="@every 10s",
        plugins=[{"name": "example", "parameters": parameters}],
    )
    status = eventually(
        lambda: (s := pipe.status("plugged")).get("phase") == "Completed" and s,
        timeout_s=60,
        what="the plugged run to complete",
    )
    for cluster in ("dr1", "dr2"):
        copies = pipe.configmaps(cluster, ns)
        assert "local" not in copies  # the filter hook left it out
        assert copies["cm-00000"]["metadata"]["annotations"]["example.com/site"] == cluster
        copy = pipe.client(cluster).get(ingresses, ns, "shop")
        assert copy is not None
        assert copy["spec"]["rules"][0]["host"] == "shop.example.com.dr.example.com"
    assert status["syncStats"]["failed"] == 0
    skips = [s for r in pipe.run_records("plugged").values() for t in r["targets"] for s in t["skips"]]
    assert {(s["name"], s["reason"]) for s in skips} == {
        ("local", 'plugin "example": labelled example.com/local-only')
    }


def test_a_plugin_that_is_not_installed_or_badly_parameterised_is_an_invalid_spec(pipe: Pipeline) -> None:
    pipe.apply_replication(
        "unplugged",
        sourceNamespace="plugged",
        plugins=[{"name": "not-installed"}, {"name": "example", "parameters": {"hostSuffix": "dr"}}],
    )
    condition = eventually(
        lambda: (c := pipe.condition("unplugged", "InvalidSpec")).get("status") == "True" and c,
        what="InvalidSpec on the Replication",
    )
    assert 'spec.plugins[0].name: plugin "not-installed" is not installed' in condition["message"]
    assert "spec.plugins[1].parameters.hostSuffix: must be a string starting with '.'" in condition["message"]
    warnings = eventually(
        lambda: [e for e in pipe.events("unplugged") if e.get("type") == "Warning"],
        what="a Warning Event",
    )
    assert any("spec.plugins[0].name" in e["message"] for e in warnings)
