"""Case 03: a bound claim (volumeName, selector, dataSource, binding annotations) and a Block-mode claim.

The DR cluster must provision its own volume for `data`, so nothing that ties it to the source's
volume may survive; `raw` must stay `volumeMode: Block`, or the workload that mounts it through
volumeDevices cannot start (kubelet: "has volumeMode Filesystem, but is specified in volumeDevices").
Reports: velero-io/velero#2519, #6449, red-hat-storage/ocs-ci#11605, kanisterio/kanister#936.
"""

from __future__ import annotations

from kubernetes import client as k8s

from tests.fixtures.backends import World
from tests.integration.cases.sync_driver import drsyncer_sync, seed, writes_nothing

CASE = "03-pvc-bound-block"
NS = "c03"
TIES = ("volumeName", "selector", "dataSource", "dataSourceRef")
BINDING = {
    "pv.kubernetes.io/bind-completed",
    "pv.kubernetes.io/bound-by-controller",
    "volume.beta.kubernetes.io/storage-provisioner",
    "volume.kubernetes.io/storage-provisioner",
    "volume.kubernetes.io/selected-node",
}


def _claims(world: World, cluster: str) -> dict[str, dict]:
    api = world.api(cluster)
    items = k8s.CoreV1Api(api).list_namespaced_persistent_volume_claim(NS).items
    return {c.metadata.name: api.sanitize_for_serialization(c) for c in items}


def test_bound_claim_is_copied_without_its_ties_and_block_claim_keeps_block(kube) -> None:
    world = kube(["src", "dst"])
    seed(world, CASE)

    drsyncer_sync(world, "--namespace", NS)

    claims = _claims(world, "dst")
    data, raw = claims["data"], claims["raw"]
    for field in TIES:
        assert field not in data["spec"], field
    assert not BINDING & set(data["metadata"].get("annotations") or {})
    assert data["spec"]["storageClassName"] == "fast"
    assert data["spec"]["resources"]["requests"]["storage"] == "10Gi"
    assert raw["spec"]["volumeMode"] == "Block"
    assert _claims(world, "src")["raw"]["spec"]["volumeMode"] == "Block"
    deployment = k8s.AppsV1Api(world.api("dst")).read_namespaced_deployment("blockdb", NS)
    assert deployment.spec.template.spec.volumes[0].persistent_volume_claim.claim_name == "raw"
    assert deployment.spec.replicas == 0  # a standby copy

    with writes_nothing(world, NS):
        drsyncer_sync(world, "--namespace", NS)
