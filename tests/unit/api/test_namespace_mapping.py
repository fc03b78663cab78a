"""Legacy NamespaceMapping objects convert to Replications with the same spec names."""

from pathlib import Path
from typing import Any

import pytest

from drsyncer.api.namespacemapping import (
    DROPPED_FIELDS,
    convert_namespace_mapping,
    parse_namespace_mapping,
)
from drsyncer.api.parse import InvalidSpec, parse_replication

GO_SPEC: dict[str, Any] = {
    "sourceCluster": "prod",
    "destinationCluster": "dr1",
    "sourceNamespace": "web",
    "destinationNamespace": "web-dr",
    "resourceTypes": ["configmaps", "deployments"],
    "namespaceScopedResources": ["certificates.cert-manager.io"],
    "scaleToZero": False,
    "schedule": "0 * * * *",
    "replicationMode": "Scheduled",
    "pvcConfig": {
        "storageClassMappings": [{"from": "gp2", "to": "standard"}],
        "accessModeMappings": [{"from": "ReadWriteOnce", "to": "ReadWriteMany"}],
        "preserveVolumeAttributes": True,
        "syncPersistentVolumes": False,
    },
    "immutableResourceConfig": {
        "defaultHandling": "Recreate",
        "resourceOverrides": {"deployments.apps": "NoChange"},
    },
    "retryConfig": {"maxRetries": 3, "initialBackoff": "10s", "maxBackoff": "2m", "backoffMultiplier": 150},
    "paused": False,
    "syncCRDs": True,
}


def mapping(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "dr-syncer.io/v1alpha1",
        "kind": "NamespaceMapping",
        "metadata": {
            "name": "web",
            "namespace": "dr-system",
            "uid": "u-1",
            "generation": 4,
            "resourceVersion": "99",
            "labels": {"team": "a"},
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}", "note": "x"},
        },
        "spec": {**GO_SPEC, **spec},
        "status": {"phase": "Completed"},
    }


def test_shared_fields_keep_their_names_and_values() -> None:
    converted = convert_namespace_mapping(mapping()).replication
    assert converted == {
        "apiVersion": "dr-syncer.io/v1alpha1",
        "kind": "Replication",
        "metadata": {
            "name": "web",
            "namespace": "dr-system",
            "labels": {"team": "a"},
            "annotations": {"note": "x"},
        },
        "spec": GO_SPEC,
    }
    assert parse_replication(converted).resource_types() == [
        "configmaps",
        "deployments.apps",
        "certificates.cert-manager.io",
    ]


@pytest.mark.parametrize(
    ("extra", "dropped_path"),
    [
        ({"tempPodKeySecretRef": {"name": "k"}}, "spec.tempPodKeySecretRef"),
        ({"failureHandling": {"defaultMode": "RetryAndWait"}}, "spec.failureHandling"),
        ({"ingressConfig": {"preserveTLS": False}}, "spec.ingressConfig"),
        ({"namespaceConfig": {"createNamespace": True}}, "spec.namespaceConfig"),
        (
            {
                "replicationMode": "Continuous",
                "schedule": "0 * * * *",
                "continuous": {"watchResources": True, "backgroundSyncInterval": "30m"},
            },
            "spec.continuous.watchResources",
        ),
        (
            {"pvcConfig": {"syncData": True, "dataSyncConfig": {"concurrentSyncs": 2}}},
            "spec.pvcConfig.syncData",
        ),
        ({"pvcConfig": {"dataSyncConfig": {"concurrentSyncs": 2}}}, "spec.pvcConfig.dataSyncConfig"),
        (
            {"immutableResourceConfig": {"drainTimeout": "5m", "forceDeleteTimeout": "2m"}},
            "spec.immutableResourceConfig.drainTimeout",
        ),
        ({"replicationMode": "Manual"}, "spec.schedule"),
        ({"continuous": {"backgroundSyncInterval": "1h"}}, "spec.continuous"),
        ({"clusterMappingRef": {"name": "prod-to-dr1"}}, "spec.clusterMappingRef"),
    ],
)
def test_fields_without_meaning_in_drsyncer_are_dropped_with_a_warning(
    extra: dict, dropped_path: str
) -> None:
    result = convert_namespace_mapping(mapping(**extra))
    assert any(w.startswith(f"{dropped_path}: dropped: ") for w in result.warnings), result.warnings
    parse_replication(result.replication)  # what is left is a valid Replication


def test_star_resource_types_keep_their_go_meaning_of_the_six_defaults() -> None:
    result = convert_namespace_mapping(mapping(resourceTypes=["*"], namespaceScopedResources=[]))
    assert result.replication["spec"]["resourceTypes"] == [
        "configmaps",
        "secrets",
        "deployments",
        "services",
        "ingresses",
        "persistentvolumeclaims",
    ]
    assert any("resourceTypes" in w for w in result.warnings)


def test_star_custom_resources_warn_that_they_now_include_built_ins() -> None:
    result = convert_namespace_mapping(mapping(namespaceScopedResources=["*"]))
    assert any(w.startswith("spec.namespaceScopedResources:") for w in result.warnings)
    assert parse_replication(result.replication).resource_types() == ["*"]


def test_cluster_mapping_reference_alone_cannot_be_converted() -> None:
    with pytest.raises(InvalidSpec) as caught:
        convert_namespace_mapping(
            mapping(sourceCluster=None, destinationCluster=None, clusterMappingRef={"name": "m"})
        )
    assert caught.value.errors[0].startswith("spec.clusterMappingRef: ClusterMapping is not supported")


def test_unknown_fields_survive_conversion_so_validation_rejects_them() -> None:
    with pytest.raises(InvalidSpec) as caught:
        parse_namespace_mapping(mapping(watchResources=True))
    assert caught.value.errors == ["spec.watchResources: unknown field"]


def test_live_mapping_parses_as_a_replication_that_remembers_its_kind_and_identity() -> None:
    repl = parse_namespace_mapping(mapping())
    assert (repl.kind, repl.metadata.uid, repl.generation) == ("NamespaceMapping", "u-1", 4)
    assert repl.ref == "dr-system/web"
    assert repl.spec.destination_namespace == "web-dr"


def test_every_dropped_field_is_documented_in_the_migration_guide() -> None:
    guide = (Path(__file__).resolve().parents[3] / "docs" / "migration.md").read_text()
    for path in DROPPED_FIELDS:
        assert f"`{path}`" in guide, path
