"""Custom resources get their CRD's structural-schema defaults on create and update."""

import time

from kubernetes import client

from drsyncer.api.crds import all_crds
from drsyncer.sim import SimCluster


def test_replication_created_without_optional_fields_reads_back_with_crd_defaults(
    sim_cluster: SimCluster,
) -> None:
    api = sim_cluster.api_client()
    ext = client.ApiextensionsV1Api(api)
    for crd in all_crds():
        ext.create_custom_resource_definition(crd)
    deadline = time.monotonic() + 10
    while not any(
        c["type"] == "Established" and c["status"] == "True"
        for c in ext.read_custom_resource_definition("replications.dr-syncer.io")
        .to_dict()["status"]
        .get("conditions")
        or []
    ):
        assert time.monotonic() < deadline, "the Replication CRD never became Established"
        time.sleep(0.05)  # poll interval
    client.CoreV1Api(api).create_namespace({"metadata": {"name": "dr"}})
    custom = client.CustomObjectsApi(api)
    created = custom.create_namespaced_custom_object(
        "dr-syncer.io",
        "v1alpha1",
        "dr",
        "replications",
        {
            "apiVersion": "dr-syncer.io/v1alpha1",
            "kind": "Replication",
            "metadata": {"name": "shop"},
            "spec": {"sourceCluster": "src", "destinationCluster": "dr1", "sourceNamespace": "shop"},
        },
    )
    assert created["spec"]["replicationMode"] == "Scheduled"
    assert created["spec"]["scaleToZero"] is True
    # an explicit value is kept, and defaults still fill the rest on update
    created["spec"]["replicationMode"] = "Manual"
    del created["spec"]["scaleToZero"]
    updated = custom.replace_namespaced_custom_object(
        "dr-syncer.io", "v1alpha1", "dr", "replications", "shop", created
    )
    assert updated["spec"]["replicationMode"] == "Manual"
    assert updated["spec"]["scaleToZero"] is True
