"""Claims keep the shape of their storage and lose their ties to the source's volumes, whether they
are PersistentVolumeClaims or the claim templates of a StatefulSet."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from drsyncer.sync.objects import Obj
from drsyncer.sync.transform import for_destination
from tests.unit.sync.factories import DEST_NS, obj, rules

BINDING = {
    "pv.kubernetes.io/bind-completed": "yes",
    "pv.kubernetes.io/bound-by-controller": "yes",
    "volume.beta.kubernetes.io/storage-provisioner": "csi.example.com",
    "volume.kubernetes.io/storage-provisioner": "csi.example.com",
    "volume.kubernetes.io/selected-node": "node-a",
}
SHAPE = {
    "accessModes": ["ReadWriteOnce"],
    "storageClassName": "fast",
    "volumeMode": "Block",
    "resources": {"requests": {"storage": "20Gi"}},
}
TIES = {
    "selector": {"matchLabels": {"pool": "gold"}},
    "dataSource": {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": "n1"},
    "dataSourceRef": {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": "n1"},
}
VOLUME = {"volumeName": "pvc-0b6f3f5e"}


def _claim_metadata() -> dict[str, Any]:
    return {"labels": {"app": "db"}, "annotations": {**BINDING, "team": "storage"}}


def claim() -> Obj:
    meta = _claim_metadata()
    return obj(
        "v1",
        "PersistentVolumeClaim",
        "data",
        labels=meta["labels"],
        annotations=meta["annotations"],
        spec={**SHAPE, **TIES, **VOLUME},
        status={"phase": "Bound"},
    )


def claim_template() -> Obj:
    template = {"metadata": {"name": "data", **_claim_metadata()}, "spec": {**SHAPE, **TIES, **VOLUME}}
    return obj(
        "apps/v1",
        "StatefulSet",
        "db",
        spec={
            "replicas": 1,
            "serviceName": "db",
            "selector": {"matchLabels": {"app": "db"}},
            "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": []}},
            "volumeClaimTemplates": [template],
        },
    )


def _written_claim(source: Obj, pvc_config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(metadata, spec) of the claim as written: the PVC itself or the StatefulSet's template."""
    out = for_destination(source, rules(pvcConfig=pvc_config), destination_namespace=DEST_NS)
    if out["kind"] == "StatefulSet":
        template = out["spec"]["volumeClaimTemplates"][0]
        return template["metadata"], template["spec"]
    return out["metadata"], out["spec"]


KINDS = ["PersistentVolumeClaim", "volumeClaimTemplate"]
CASES = [
    # (case, pvcConfig, ties kept, volumeName kept)
    ("by default", {}, False, False),
    ("preserveVolumeAttributes", {"preserveVolumeAttributes": True}, True, False),
    ("syncPersistentVolumes", {"syncPersistentVolumes": True}, True, True),
]


@pytest.mark.parametrize("make", [claim, claim_template], ids=KINDS)
@pytest.mark.parametrize(
    ("pvc_config", "ties_kept", "volume_kept"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_claims_keep_their_shape_and_drop_their_ties(
    make: Any, pvc_config: dict[str, Any], ties_kept: bool, volume_kept: bool
) -> None:
    source = make()
    before = copy.deepcopy(source)
    meta, spec = _written_claim(source, pvc_config)
    for field, value in SHAPE.items():
        assert spec[field] == value, field  # volumeMode Block above all: the workload's volumeDevices need it
    for field, value in TIES.items():
        assert spec.get(field) == (value if ties_kept else None), field
    assert spec.get("volumeName") == (VOLUME["volumeName"] if volume_kept else None)
    # the binding and provisioner annotations describe the source's volume and node, always dropped
    assert meta["annotations"] == {"team": "storage"}
    assert meta["labels"] == {"app": "db"}
    assert source == before


@pytest.mark.parametrize("make", [claim, claim_template], ids=KINDS)
def test_claims_get_the_mapped_class_and_access_modes(make: Any) -> None:
    config = {
        "storageClassMappings": [{"from": "fast", "to": "dr-fast"}],
        "accessModeMappings": [{"from": "ReadWriteOnce", "to": "ReadWriteMany"}],
    }
    _, spec = _written_claim(make(), config)
    assert spec["storageClassName"] == "dr-fast"
    assert spec["accessModes"] == ["ReadWriteMany"]


@pytest.mark.parametrize(
    ("annotations", "written"),
    [
        (None, None),  # none before, none after
        (BINDING, None),  # only binding annotations: the emptied map is left out
        ({**BINDING, "team": "storage"}, {"team": "storage"}),
    ],
)
def test_claim_template_annotations_are_left_out_when_nothing_remains(
    annotations: dict[str, str] | None, written: dict[str, str] | None
) -> None:
    source = claim_template()
    template = source["spec"]["volumeClaimTemplates"][0]
    if annotations is None:
        del template["metadata"]["annotations"]
    else:
        template["metadata"]["annotations"] = dict(annotations)
    meta, _ = _written_claim(source, {})
    assert meta.get("annotations") == written
    assert meta["name"] == "data" and meta["labels"] == {"app": "db"}


def test_claim_template_without_metadata_gets_none() -> None:
    source = claim_template()
    del source["spec"]["volumeClaimTemplates"][0]["metadata"]
    out = for_destination(source, rules(), destination_namespace=DEST_NS)
    assert "metadata" not in out["spec"]["volumeClaimTemplates"][0]
