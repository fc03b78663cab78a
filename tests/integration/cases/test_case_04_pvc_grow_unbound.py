"""Case 04: the source claim grows while its DR copy is unbound (Pending), and kube-apiserver takes a
size change only on a Bound claim (data/04-pvc-grow-unbound/expect.md). The copy is not reported
"updated": the change is held back and said so, or recreated when the handling says so; the
simulator refuses the resize of an unbound claim with 422 as kube-apiserver does."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

from drsyncer.api import keys
from tests.fixtures.polling import eventually
from tests.integration.cases.sync_driver import Writes, apply, get, label, load, patch, sync, table_row

CASE = "04-pvc-grow-unbound"
NS = "c04"
PVC = ("v1", "PersistentVolumeClaim")


def claim(world: Any, cluster: str) -> dict[str, Any]:
    found = get(world, cluster, *PVC, NS, "logs")
    assert found is not None
    return found


def grow_source_claim(world: Any) -> None:
    """The source claim is Bound there (its class allows expansion) and its owner grows it to 2Gi."""
    k8s.StorageV1Api(world.api("src")).create_storage_class(
        {"metadata": {"name": "standard"}, "provisioner": "example.com/none", "allowVolumeExpansion": True}
    )
    k8s.CoreV1Api(world.api("src")).patch_namespaced_persistent_volume_claim_status(
        "logs",
        NS,
        {"status": {"phase": "Bound", "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"]}},
    )
    # the resize admission reads the class from its informer: it may take a moment to see it
    eventually(
        lambda: patch(
            world, "src", *PVC, NS, "logs", {"spec": {"resources": {"requests": {"storage": "2Gi"}}}}
        ),
        timeout_s=20,
        what="the source claim grown",
        tolerate=(ApiException,),
    )


def test_case_04_a_grown_claim_is_held_back_while_its_copy_is_unbound_or_recreated_by_handling(
    kube: Any,
) -> None:
    world = kube(["src", "dst"])
    apply(world, "src", load(CASE, "source.yaml"))

    first = sync(world, NS)
    assert first.returncode == 0, first.stdout + first.stderr
    copy = claim(world, "dst")
    assert copy["spec"]["resources"]["requests"]["storage"] == "1Gi"
    assert (copy.get("status") or {}).get("phase") != "Bound"  # no provisioner: the copy stays unbound

    grow_source_claim(world)

    # default handling NoChange: not "updated"; held back, naming the field, and the run still completes
    held = sync(world, NS)
    assert held.returncode == 0, held.stdout + held.stderr
    assert table_row(held.stdout, "PersistentVolumeClaim")["updated"] == 0
    assert table_row(held.stdout, "PersistentVolumeClaim")["skipped"] == 1
    assert "held back" in held.stdout and f"PersistentVolumeClaim {NS}/logs" in held.stdout
    assert "spec.resources.requests.storage" in held.stdout
    assert claim(world, "dst")["spec"]["resources"]["requests"]["storage"] == "1Gi"

    # a second run holds it back again and writes nothing
    mark = Writes.mark(world, NS, PVC)
    again = sync(world, NS)
    assert again.returncode == 0 and "held back" in again.stdout
    assert mark.none_since()

    # with the handling label, the copy is deleted and created again at the new size
    before = claim(world, "dst")["metadata"]["uid"]
    label(world, "src", *PVC, NS, "logs", {keys.LABEL_IMMUTABLE_HANDLING: "recreate"})
    recreated = sync(world, NS)
    assert recreated.returncode == 0, recreated.stdout + recreated.stderr
    assert table_row(recreated.stdout, "PersistentVolumeClaim")["updated"] == 1
    after = claim(world, "dst")
    assert after["metadata"]["uid"] != before
    assert after["spec"]["resources"]["requests"]["storage"] == "2Gi"

    mark = Writes.mark(world, NS, PVC)
    resync = sync(world, NS)
    assert resync.returncode == 0 and table_row(resync.stdout, "PersistentVolumeClaim")["unchanged"] == 1
    assert mark.none_since()


def test_case_04_an_unbound_claim_refuses_a_resize_and_other_spec_changes_with_422(kube: Any) -> None:
    world = kube(["src", "dst"])
    apply(world, "dst", load(CASE, "source.yaml"))

    for change in (
        {"spec": {"resources": {"requests": {"storage": "3Gi"}}}},
        {"spec": {"storageClassName": "other", "accessModes": ["ReadWriteMany"]}},
    ):
        with pytest.raises(ApiException) as refused:
            patch(world, "dst", *PVC, NS, "logs", change)
        assert refused.value.status == 422
        assert (
            "spec: Forbidden: spec is immutable after creation except resources.requests and "
            "volumeAttributesClassName for bound claims"
        ) in refused.value.body
    kept = claim(world, "dst")["spec"]
    assert kept["storageClassName"] == "standard" and kept["accessModes"] == ["ReadWriteOnce"]
    assert kept["resources"]["requests"]["storage"] == "1Gi"
