"""Case 11: a StatefulSet field outside kube-apiserver's updatable list changed in the source
(data/11-statefulset-forbidden-field/expect.md). What is updatable depends on the destination's
version: `revisionHistoryLimit` became updatable in 1.33, so a 1.32 destination (the simulator told
to answer as 1.32) holds the change back while 1.34 (the real control plane and the simulator by
default) takes it in place; `serviceName` is fixed on every version
and is held back, or recreated with the recreate handling. A second run writes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kubernetes.client.rest import ApiException

from drsyncer.api import keys
from drsyncer.api.immutability import NEWEST_KNOWN, parse_version
from drsyncer.sim import SimFleet
from tests.fixtures.backends import World
from tests.integration.cases.sync_driver import Writes, apply, delete, get, load, patch, sync, table_row

CASE = "11-statefulset-forbidden-field"
NS = "c11"
TYPES = ("--types", "statefulsets")
STS = ("apps/v1", "StatefulSet")


def queue(world: Any, cluster: str) -> dict[str, Any]:
    found = get(world, cluster, *STS, NS, "queue")
    assert found is not None
    return found


def server_version(world: Any) -> tuple[int, int]:
    from kubernetes import client as k8s

    version = k8s.VersionApi(world.api("dst")).get_code().git_version
    return parse_version(version) or NEWEST_KNOWN


def recreate_source(world: Any, change: Any) -> None:
    """The owner's delete (orphaning the Pods) and create with the new spec, as kube requires."""
    obj = load(CASE, "source-v2.yaml")[0]
    change(obj)
    delete(world, "src", *STS, NS, "queue")
    apply(world, "src", [obj])


def test_case_11_forbidden_statefulset_changes_follow_the_destination_version_and_the_handling(
    kube: Any,
) -> None:
    _forbidden_changes(kube(["src", "dst"]))


def test_case_11_on_a_1_32_destination_revision_history_limit_is_held_back(tmp_path: Path) -> None:
    # the simulator answering as kube-apiserver 1.32, before revisionHistoryLimit became updatable
    with SimFleet(["src", "dst"], namespace_defaults=True, kube_version="v1.32.0-drsyncer-sim") as fleet:
        world = World(
            "sim", {"src": fleet["src"], "dst": fleet["dst"]}, fleet.write_kubeconfig(tmp_path / "kubeconfig")
        )
        assert server_version(world) == (1, 32)
        _forbidden_changes(world)


def _forbidden_changes(world: World) -> None:
    apply(world, "src", load(CASE, "source.yaml"))
    first = sync(world, NS, *TYPES)
    assert first.returncode == 0, first.stdout + first.stderr

    # revisionHistoryLimit 10 -> 3
    recreate_source(world, lambda obj: None)
    changed = sync(world, NS, *TYPES)
    assert changed.returncode == 0, changed.stdout + changed.stderr
    assert table_row(changed.stdout, "StatefulSet")["failed"] == 0
    if server_version(world) < (1, 33):
        assert "held back: immutable field(s) spec.revisionHistoryLimit changed" in changed.stdout
        assert queue(world, "dst")["spec"]["revisionHistoryLimit"] == 10
    else:
        assert table_row(changed.stdout, "StatefulSet")["updated"] == 1
        assert queue(world, "dst")["spec"]["revisionHistoryLimit"] == 3

    mark = Writes.mark(world, NS, STS)
    again = sync(world, NS, *TYPES)
    assert again.returncode == 0 and mark.none_since()

    # serviceName is fixed on every version: held back by default ...
    recreate_source(world, lambda obj: obj["spec"].update(serviceName="queue-v2"))
    held = sync(world, NS, *TYPES)
    assert held.returncode == 0, held.stdout + held.stderr
    assert f"StatefulSet {NS}/queue: held back: immutable field(s) " in held.stdout
    assert "spec.serviceName" in held.stdout
    assert queue(world, "dst")["spec"]["serviceName"] == "queue"

    # ... and recreated with the handling label
    before = queue(world, "dst")["metadata"]["uid"]

    def renamed_with_recreate(obj: dict[str, Any]) -> None:
        obj["spec"]["serviceName"] = "queue-v2"
        obj["metadata"]["labels"] = {keys.LABEL_IMMUTABLE_HANDLING: "recreate"}

    recreate_source(world, renamed_with_recreate)
    recreated = sync(world, NS, *TYPES)
    assert recreated.returncode == 0, recreated.stdout + recreated.stderr
    after = queue(world, "dst")
    assert after["metadata"]["uid"] != before
    assert after["spec"]["serviceName"] == "queue-v2" and after["spec"]["revisionHistoryLimit"] == 3
    assert after["spec"]["replicas"] == 0  # still a standby copy

    mark = Writes.mark(world, NS, STS)
    resync = sync(world, NS, *TYPES)
    assert resync.returncode == 0 and table_row(resync.stdout, "StatefulSet")["unchanged"] == 1
    assert mark.none_since()


def test_case_11_an_in_place_service_name_change_is_refused_with_422_forbidden(kube: Any) -> None:
    world = kube(["src", "dst"])
    apply(world, "dst", load(CASE, "source.yaml"))

    with pytest.raises(ApiException) as refused:
        patch(world, "dst", *STS, NS, "queue", {"spec": {"serviceName": "other", "revisionHistoryLimit": 1}})

    assert refused.value.status == 422
    assert (
        "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', "
        "'template', 'updateStrategy', "
    ) in refused.value.body
    kept = queue(world, "dst")["spec"]
    assert kept["serviceName"] == "queue" and kept["revisionHistoryLimit"] == 10
