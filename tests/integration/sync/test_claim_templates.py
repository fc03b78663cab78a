"""`drsyncer sync` on the simulator and a real control plane: a StatefulSet's claim templates are
treated as claims (volumeMode kept, ties to the source's volumes dropped)."""

from __future__ import annotations

from kubernetes import client as k8s
from kubernetes import utils

from tests.integration.cases.sync_driver import drsyncer_sync, writes_nothing

NS = "claim-templates"
BINDING = {
    "volume.kubernetes.io/selected-node": "node-a",
    "volume.kubernetes.io/storage-provisioner": "csi.example.com",
}


def test_statefulset_claim_templates_keep_block_and_drop_ties(kube) -> None:
    world = kube(["src", "dst"])
    k8s.CoreV1Api(world.api("src")).create_namespace({"metadata": {"name": NS}})
    template = {
        "metadata": {"name": "raw", "annotations": {**BINDING, "team": "db"}},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "volumeMode": "Block",
            "storageClassName": "fast",
            "resources": {"requests": {"storage": "5Gi"}},
            "selector": {"matchLabels": {"pool": "gold"}},
        },
    }
    utils.create_from_yaml(
        world.api("src"),
        yaml_objects=[
            {
                "apiVersion": "apps/v1",
                "kind": "StatefulSet",
                "metadata": {"name": "db", "namespace": NS},
                "spec": {
                    "replicas": 3,
                    "serviceName": "db",
                    "selector": {"matchLabels": {"app": "db"}},
                    "template": {
                        "metadata": {"labels": {"app": "db"}},
                        "spec": {
                            "containers": [
                                {
                                    "name": "db",
                                    "image": "registry.example/db:1",
                                    "volumeDevices": [{"name": "raw", "devicePath": "/dev/xvda"}],
                                }
                            ]
                        },
                    },
                    "volumeClaimTemplates": [template],
                },
            }
        ],
    )
    args = ("--namespace", NS, "--types", "statefulsets")

    drsyncer_sync(world, *args)

    copy = k8s.AppsV1Api(world.api("dst")).read_namespaced_stateful_set("db", NS)
    claim = copy.spec.volume_claim_templates[0]
    assert claim.spec.volume_mode == "Block"
    assert claim.spec.selector is None
    assert claim.metadata.annotations == {"team": "db"}
    assert claim.spec.storage_class_name == "fast"
    assert copy.spec.replicas == 0
    with writes_nothing(world, NS):
        drsyncer_sync(world, *args)
