"""Defaults of docs/api.md, as the models fill them in."""

from datetime import timedelta

import pytest

from drsyncer.api.parse import parse_remote_cluster, parse_replication
from drsyncer.api.replication import Target
from tests.unit.api.builders import DROP, remote_cluster_dict, replication_dict

DEFAULT_TYPES = [
    "configmaps",
    "secrets",
    "deployments.apps",
    "services",
    "ingresses.networking.k8s.io",
    "persistentvolumeclaims",
]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("replicationMode", "Scheduled"),
        ("schedule", "*/5 * * * *"),
        ("continuous", None),
        ("paused", False),
        ("resourceTypes", DEFAULT_TYPES),
        ("namespaceScopedResources", []),
        ("excludeResources", []),
        ("labelSelector", None),
        ("syncCRDs", False),
        ("scaleToZero", True),
        (
            "pvcConfig",
            {
                "storageClassMappings": [],
                "accessModeMappings": [],
                "preserveVolumeAttributes": False,
                "syncPersistentVolumes": False,
            },
        ),
        ("immutableResourceConfig", {"defaultHandling": "NoChange", "resourceOverrides": {}}),
        ("pruneDeleted", False),
        ("cleanupOnDelete", "Orphan"),
        ("dryRun", False),
        (
            "retryConfig",
            {"maxRetries": 5, "initialBackoff": "5s", "maxBackoff": "5m", "backoffMultiplier": 200},
        ),
        ("destinationNamespace", "web"),
        ("destinationClusters", ["dr1"]),
    ],
)
def test_replication_spec_dict_fills_in_design_defaults(path: str, expected: object) -> None:
    assert parse_replication(replication_dict()).spec_dict()[path] == expected


def test_raw_model_dump_is_camel_case_and_keeps_unset_fields_unset() -> None:
    dumped = parse_replication(replication_dict()).spec.model_dump(by_alias=True, mode="json")
    assert dumped["sourceCluster"] == "prod"
    assert dumped["syncCRDs"] is False
    assert dumped["schedule"] is None and dumped["resourceTypes"] is None
    assert "sync_crds" not in dumped


def test_continuous_mode_has_a_one_hour_background_sync_by_default() -> None:
    repl = parse_replication(replication_dict(replicationMode="Continuous"))
    assert repl.background_sync_interval() == timedelta(hours=1)
    assert repl.schedule() is None
    assert repl.spec_dict()["continuous"] == {"backgroundSyncInterval": "1h"}


def test_manual_mode_has_no_schedule() -> None:
    assert parse_replication(replication_dict(replicationMode="Manual")).schedule() is None


def test_source_remote_cluster_supplies_schedule_and_types_the_replication_leaves_unset() -> None:
    source = parse_remote_cluster(
        remote_cluster_dict(defaultSchedule="0 * * * *", defaultResourceTypes=["cm", "Secret"])
    )
    repl = parse_replication(replication_dict())
    assert repl.schedule(source) == "0 * * * *"
    assert repl.resource_types(source) == ["configmaps", "secrets"]


def test_replication_values_win_over_the_remote_cluster_defaults() -> None:
    source = parse_remote_cluster(
        remote_cluster_dict(defaultSchedule="0 * * * *", defaultResourceTypes=["cm"])
    )
    repl = parse_replication(replication_dict(schedule="@every 30s", resourceTypes=["svc"]))
    assert repl.schedule(source) == "@every 30s"
    assert repl.spec_dict(source)["resourceTypes"] == ["services"]


@pytest.mark.parametrize(
    ("types", "legacy", "expected"),
    [
        (["deploy", "Deployment", "deployments"], [], ["deployments.apps"]),
        (["cm"], ["certificates.cert-manager.io"], ["configmaps", "certificates.cert-manager.io"]),
        (["Secrets"], ["*"], ["*"]),
        (None, ["widgets.example.com"], [*DEFAULT_TYPES, "widgets.example.com"]),
    ],
)
def test_resource_types_are_canonical_deduplicated_and_merge_the_legacy_field(
    types: list[str] | None, legacy: list[str], expected: list[str]
) -> None:
    spec = {"namespaceScopedResources": legacy}
    if types is not None:
        spec["resourceTypes"] = types
    assert parse_replication(replication_dict(**spec)).resource_types() == expected


def test_targets_cover_every_destination_cluster_and_explicit_namespace() -> None:
    repl = parse_replication(
        replication_dict(
            destinationClusters=["dr2"],
            destinationNamespace="web-dr",
            namespaceMappings=[{"source": "api"}, {"source": "db", "destination": "db-dr"}],
        )
    )
    assert repl.targets() == [
        Target("dr1", "web", "web-dr"),
        Target("dr1", "api", "api"),
        Target("dr1", "db", "db-dr"),
        Target("dr2", "web", "web-dr"),
        Target("dr2", "api", "api"),
        Target("dr2", "db", "db-dr"),
    ]


def test_selector_adds_matching_namespaces_under_their_own_name_unless_mapped_or_taken() -> None:
    repl = parse_replication(
        replication_dict(
            sourceNamespace=DROP,
            namespaceMappings=[{"source": "a", "destination": "b"}],
            namespaceSelector={"matchLabels": {"dr": "yes"}},
        )
    )
    namespaces = {"a": {"dr": "yes"}, "b": {"dr": "yes"}, "c": {"dr": "yes"}, "d": {"dr": "no"}, "e": None}
    assert repl.namespace_pairs(namespaces) == [("a", "b"), ("c", "c")]
    assert repl.namespace_pairs() == [("a", "b")]


def test_remote_cluster_defaults_and_secret_in_own_namespace() -> None:
    rc = parse_remote_cluster(remote_cluster_dict())
    assert rc.spec_dict() == {
        "kubeconfigSecretRef": {"name": "prod-kubeconfig", "namespace": "dr-system", "key": "kubeconfig"},
        "rateLimit": {"qps": 50, "burst": 100},
        "insecureSkipTLSVerify": False,
        "defaultSchedule": None,
        "defaultResourceTypes": None,
    }


def test_remote_cluster_keeps_an_explicit_secret_namespace() -> None:
    rc = parse_remote_cluster(
        remote_cluster_dict(kubeconfigSecretRef={"name": "k", "namespace": "vault", "key": "config"})
    )
    assert (rc.secret_namespace, rc.spec.kubeconfig_secret_ref.key) == ("vault", "config")


def test_replication_ref_and_generation_come_from_metadata() -> None:
    obj = replication_dict()
    obj["metadata"]["generation"] = 7
    repl = parse_replication(obj)
    assert (repl.ref, repl.generation) == ("dr-system/web", 7)


def test_retry_backoff_grows_by_the_multiplier_and_stops_at_the_maximum() -> None:
    retry = parse_replication(replication_dict()).spec.retry_config
    assert [retry.backoff(n).total_seconds() for n in (1, 2, 3, 7, 8)] == [5, 10, 20, 300, 300]


def test_status_counts_derive_synced_and_read_leniently() -> None:
    obj = replication_dict()
    obj["status"] = {
        "phase": "Completed",
        "syncStats": {"created": 2, "updated": 1, "unchanged": 4, "failed": 1, "synced": 99},
        "syncProgress": {"percentComplete": 100},
    }
    status = parse_replication(obj).status
    assert status.sync_stats.synced == 7
    assert status.model_dump(mode="json", by_alias=True, exclude_none=True)["syncStats"]["synced"] == 7
