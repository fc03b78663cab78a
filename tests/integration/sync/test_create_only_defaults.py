"""Rules of kube-apiserver that an update of a copy must keep to: a default it gives on create only,
and an Indexed Job's completions, which change only in tandem with its parallelism.

An Ingress that names no class gets the destination's default IngressClass from the
DefaultIngressClass admission plugin, on create only: later updates of the copy keep it, so the
same source gives the same copy whether it was created or updated. On the simulator, which has no
IngressClasses and no admission, the test sets the class itself, as the plugin would on create. An
Indexed Job's completions may change only to equal its new parallelism (validateCompletions):
drsyncer knows that before writing, and the last test holds its table to the server's answers.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator

import pytest
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

from drsyncer.api.immutability import refused_paths
from tests.fixtures.ingress_classes import default_ingress_class
from tests.integration.sync.conftest import Obj, World, counts_of, create, modify, read, rules, seed

INGRESS: Obj = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "Ingress",
    "metadata": {"name": "noclass"},
    "spec": {"defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}},
}
INDEXED_JOB: Obj = {
    "apiVersion": "batch/v1",
    "kind": "Job",
    "metadata": {"name": "shards"},
    "spec": {
        "completionMode": "Indexed",
        "completions": 3,
        "parallelism": 1,
        "suspend": True,
        "template": {
            "spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "work", "image": "registry.example/work:1"}],
            }
        },
    },
}


@pytest.fixture
def dr_default_class(world: World) -> Iterator[str]:
    """The name of dr1's default IngressClass, made for the test and deleted after it."""
    with default_ingress_class(world.stock["dr1"], admitted=world.backend == "real") as name:
        yield name


def test_an_ingress_without_a_class_keeps_the_destinations_default_across_updates(
    world: World, dr_default_class: str
) -> None:
    seed(world, [INGRESS])
    sync_rules = rules(resourceTypes=["ingresses"], syncCRDs=False)

    world.sync(sync_rules, destinations=("dr1",))
    if world.backend != "real":  # what dr1's DefaultIngressClass admission does on a real server

        def give_default(obj: Obj) -> None:
            obj["spec"]["ingressClassName"] = dr_default_class

        modify(world, "dr1", INGRESS, give_default)
    created = read(world, "dr1", INGRESS)
    assert created is not None and created["spec"].get("ingressClassName") == dr_default_class

    def relabel(obj: Obj) -> None:
        obj["metadata"]["labels"] = {"team": "a"}

    modify(world, "source", INGRESS, relabel)
    (result,) = world.sync(sync_rules, destinations=("dr1",))

    assert result.errors == [] and counts_of(result) == {"updated": 1}, result.warnings
    updated = read(world, "dr1", INGRESS)
    assert updated is not None and updated["metadata"]["labels"]["team"] == "a"
    assert updated["spec"].get("ingressClassName") == dr_default_class
    world.reset_counters()
    (again,) = world.sync(sync_rules, destinations=("dr1",))
    assert counts_of(again) == {"unchanged": 1} and world.writes("dr1") == 0


def test_an_indexed_jobs_completions_changed_apart_from_its_parallelism_is_held_back_unwritten(
    world: World,
) -> None:
    seed(world, [INDEXED_JOB])
    sync_rules = rules(resourceTypes=["jobs"], syncCRDs=False)
    world.sync(sync_rules, destinations=("dr1",))
    before = read(world, "dr1", INDEXED_JOB)
    assert before is not None
    # in the source, as its API server allows: in tandem to 5/5, then parallelism alone to 2
    jobs = k8s.BatchV1Api(world.stock["source"])
    jobs.patch_namespaced_job("shards", world.ns, {"spec": {"completions": 5, "parallelism": 5}})
    jobs.patch_namespaced_job("shards", world.ns, {"spec": {"parallelism": 2}})
    world.reset_counters()

    (result,) = world.sync(sync_rules, destinations=("dr1",))

    assert counts_of(result) == {"skipped": 1, "held_back": 1}, result.warnings
    (held,) = result.skips
    assert held.held_back and held.name == "shards" and held.fields == ("spec.completions",)
    assert world.writes("dr1") == 0  # no update the server would refuse
    after = read(world, "dr1", INDEXED_JOB)
    assert after is not None and after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert (after["spec"]["completions"], after["spec"]["parallelism"]) == (3, 1)

    # PartialUpdate leaves completions as they are and takes the new parallelism, which the server accepts
    partial = rules(
        resourceTypes=["jobs"], syncCRDs=False, immutableResourceConfig={"defaultHandling": "PartialUpdate"}
    )
    (result,) = world.sync(partial, destinations=("dr1",))
    assert result.errors == [] and counts_of(result) == {"updated": 1}, result.warnings
    after = read(world, "dr1", INDEXED_JOB)
    assert after is not None and (after["spec"]["completions"], after["spec"]["parallelism"]) == (3, 2)


# (indexed, (completions, parallelism) before, after, the server's words when it refuses, else None)
COMPLETIONS: list[tuple[bool, tuple[int, int], tuple[int, int], str | None]] = [
    (True, (3, 1), (5, 5), None),
    (True, (3, 1), (5, 2), "Invalid value: 5: can only be modified in tandem with spec.parallelism"),
    (True, (3, 1), (3, 2), None),
    (True, (3, 3), (2, 3), "Invalid value: 2: can only be modified in tandem with spec.parallelism"),
    (False, (3, 3), (5, 5), "Invalid value: 5: field is immutable"),
    (False, (3, 1), (3, 2), None),
]


def test_a_jobs_completions_change_is_refused_exactly_as_the_table_predicts(world: World) -> None:
    seed(world, [])
    jobs = k8s.BatchV1Api(world.stock["source"])
    for i, (indexed, before, after, words) in enumerate(COMPLETIONS):
        job = copy.deepcopy(INDEXED_JOB)
        job["metadata"] = {"name": f"job-{i}"}
        job["spec"].update(completions=before[0], parallelism=before[1])
        if not indexed:
            del job["spec"]["completionMode"]
        existing = create(world, "source", job)
        desired = copy.deepcopy(existing)
        desired["spec"].update(completions=after[0], parallelism=after[1])
        case = f"{'Indexed' if indexed else 'NonIndexed'} {before} -> {after}"

        predicted = refused_paths("batch", "Job", None, desired, existing)
        try:
            jobs.patch_namespaced_job(
                f"job-{i}", world.ns, {"spec": {"completions": after[0], "parallelism": after[1]}}
            )
            answer = None
        except ApiException as exc:
            assert exc.status == 422, case
            causes = json.loads(exc.body or "{}")["details"]["causes"]
            (answer,) = [c["message"] for c in causes if c["field"] == "spec.completions"]

        assert answer == words, case
        assert predicted == (() if words is None else ("spec.completions",)), case
