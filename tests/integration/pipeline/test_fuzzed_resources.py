"""Generated Replications, NamespaceMappings and RemoteClusters, valid and invalid
(tests/fixtures/fuzz.py, hypothesis), applied to the controller with the watcher, beat and workers
running: nothing crashes or stops reconciling; every invalid object gets `InvalidSpec` (condition and
Event) naming the broken field, or is refused by the API server's schema naming it; every valid
Replication and NamespaceMapping is scheduled; Replications that name a malformed RemoteCluster say so
in their status.

In CI a few dozen objects; `DRSYNCER_RELIABILITY_LONG=1` applies `DRSYNCER_FUZZ_OBJECTS` (default
1000) Replications, and a quarter as many NamespaceMappings and RemoteClusters.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from drsyncer.api import keys
from drsyncer.kube.errors import ApiError
from scheduler.entries import entry_name
from scheduler.store import ScheduleStore
from tests.fixtures import fuzz, reliability
from tests.integration.pipeline.conftest import EVENTS, Pipeline, eventually

REPLICATIONS = reliability.sized(30, fuzz.OBJECTS)
OTHERS = reliability.sized(10, fuzz.OBJECTS // 4)  # NamespaceMappings, and RemoteClusters
REFERRING = reliability.sized(3, 20)  # Replications naming a malformed RemoteCluster
RESOURCE = {
    "Replication": "replications.dr-syncer.io",
    "NamespaceMapping": "namespacemappings.dr-syncer.io",
    "RemoteCluster": "remoteclusters.dr-syncer.io",
}


def _source_namespaces(spec: dict[str, Any]) -> list[str]:
    if "namespaceMappings" in spec:
        return [m["source"] for m in spec["namespaceMappings"]]
    return [spec["sourceNamespace"]]


def _invalid_spec(pipe: Pipeline, kind: str, name: str) -> dict[str, Any]:
    obj = pipe.controller.get(pipe.resolve(RESOURCE[kind]), pipe.ns, name) or {}
    conditions = (obj.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c.get("type") == "InvalidSpec"), {})


def _apply(pipe: Pipeline, generated: fuzz.Generated) -> fuzz.Generated | None:
    """Create the object; None when the API server's schema refused it (naming the field), else the
    object as it is to be judged (an unknown field the server pruned leaves a valid object)."""
    try:
        stored = pipe.controller.create(pipe.resolve(RESOURCE[generated.kind]), pipe.ns, generated.obj)
    except ApiError as exc:
        assert generated.broken is not None and exc.status == 422, (generated.obj, exc)
        assert generated.broken.removeprefix("spec.").split(".")[0] in str(exc), (generated.obj, str(exc))
        return None
    if generated.kind == "Replication":
        pipe.created.append(generated.name)
    if generated.broken is not None:
        field = generated.broken.removeprefix("spec.").split(".")[0]
        if field in generated.obj["spec"] and field not in (stored.get("spec") or {}):
            return fuzz.Generated(stored, None)  # pruned by the server: what drsyncer sees is valid
    return generated


@pytest.mark.timeout(1200 if reliability.long_run() else 300)  # the long run applies 1,500 objects
def test_generated_resources_are_scheduled_or_marked_invalid_naming_the_field(pipe: Pipeline) -> None:
    generated = [
        *fuzz.draw_many(fuzz.remote_clusters(pipe.ns), OTHERS, "fuzz-rc", salt=1),
        *fuzz.draw_many(fuzz.replications(pipe.ns, selectors=False), REPLICATIONS, "fuzz-repl"),
        *fuzz.draw_many(fuzz.namespace_mappings(pipe.ns), OTHERS, "fuzz-nm", salt=2),
    ]
    applied = [g for g in (_apply(pipe, g) for g in generated) if g is not None]
    bad_clusters = [g.name for g in applied if g.kind == "RemoteCluster" and g.broken is not None]
    referring = {}
    for i, cluster in enumerate(bad_clusters[:REFERRING]):
        name = f"fuzz-ref-{i}"
        pipe.seed(name, 1)
        pipe.apply_replication(
            name, sourceNamespace=name, schedule="@every 1h", destinationClusters=["dr1", cluster]
        )
        referring[name] = cluster
    invalid = [g for g in applied if g.broken is not None]
    valid = [g for g in applied if g.broken is None and g.kind != "RemoteCluster"]
    store = ScheduleStore(pipe.app, pipe.ns)

    def invalid_marked() -> bool:
        for g in invalid:
            condition = _invalid_spec(pipe, g.kind, g.name)
            assert condition.get("status") == "True", (g.kind, g.name, g.broken, condition)
            assert str(g.broken) in condition.get("message", ""), (g.name, g.broken, condition)
        return True

    eventually(invalid_marked, timeout_s=180, what="InvalidSpec on every invalid object")
    events = [e for e in pipe.controller.list(EVENTS, pipe.ns) if e.get("reason") == "InvalidSpec"]
    for g in invalid:
        assert any(
            (e.get("involvedObject") or {}).get("name") == g.name and str(g.broken) in e.get("message", "")
            for e in events
        ), f"no InvalidSpec Event naming {g.broken} for {g.kind} {g.name}"

    wanted = {
        entry_name(g.kind, pipe.ns, g.name, source)
        for g in valid
        for source in _source_namespaces(g.obj["spec"])
    }
    eventually(
        lambda: wanted <= store.names(),
        timeout_s=180,
        what="a schedule entry for every valid Replication and NamespaceMapping",
    )
    for g in valid:
        assert _invalid_spec(pipe, g.kind, g.name).get("status") != "True", (g.kind, g.name)
    # a run of a Replication that names a malformed RemoteCluster ends saying which cluster and why
    for name in referring:
        pipe.annotate(name, {keys.ANNOTATION_SYNC_NOW: "true"})

    def referring_reported() -> bool:
        for name, cluster in referring.items():
            status = pipe.status(name)
            assert status.get("phase") in ("Failed", "PartiallyFailed"), (name, status)
            # the malformed cluster's target failed naming the cluster and its field; the others synced
            assert f"RemoteCluster {pipe.ns}/{cluster}: spec." in json.dumps(status), (name, cluster, status)
        return True

    eventually(referring_reported, timeout_s=120, what="the runs naming a malformed RemoteCluster to fail")
    # still reconciling after all of it: a new Replication is scheduled
    pipe.apply_replication("fuzz-after", sourceNamespace="fuzz-after", schedule="@every 1h")
    eventually(
        lambda: entry_name("Replication", pipe.ns, "fuzz-after", "fuzz-after") in store.names(),
        timeout_s=60,
        what="the watcher to schedule a Replication made after the generated ones",
    )
    for name in ("watcher", "beat", "worker-1", "worker-2"):
        assert pipe.procs[name].alive, f"{name} exited:\n{pipe.procs[name].tail()}"
    by_kind = {
        kind: (
            sum(1 for g in applied if g.kind == kind and g.broken is None),
            sum(1 for g in applied if g.kind == kind and g.broken is not None),
        )
        for kind in RESOURCE
    }
    print(
        f"seed {fuzz.SEED}: (valid, invalid) by kind {by_kind}, {len(generated) - len(applied)} refused by "
        f"the schema, {len(referring)} Replications naming a malformed RemoteCluster"
    )
    reliability.record(
        "generated Replications, NamespaceMappings and RemoteClusters, valid and invalid",
        converged=True,
        objects=len(generated),
        seed=fuzz.SEED,
    )
