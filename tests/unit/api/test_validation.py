"""Every validation rule, with the exact field path in the message."""

import re
from typing import Any

import pytest

from drsyncer.api.parse import InvalidSpec, parse_replication
from drsyncer.api.resource_types import normalize_resource_type
from tests.unit.api.builders import (
    DROP,
    remote_cluster_dict,
    remote_cluster_errors,
    replication_dict,
    replication_errors,
)

REPLICATION_CASES: list[tuple[str, dict[str, Any], str]] = [
    # unknown fields: the Go operator ignored them silently
    ("unknown top-level spec field", {"watchResources": True}, "spec.watchResources: unknown field"),
    ("unknown nested field", {"pvcConfig": {"syncData": True}}, "spec.pvcConfig.syncData: unknown field"),
    (
        "unknown field in a list item",
        {"excludeResources": [{"kind": "Secret", "name": "a", "ns": "b"}]},
        "spec.excludeResources[0].ns: unknown field",
    ),
    # clusters
    ("missing source cluster", {"sourceCluster": DROP}, "spec.sourceCluster: required"),
    (
        "no destination",
        {"destinationCluster": DROP},
        "spec.destinationCluster: set destinationCluster or destinationClusters",
    ),
    (
        "destination equals source",
        {"destinationCluster": "prod"},
        'spec.destinationCluster: must differ from sourceCluster "prod"',
    ),
    (
        "fan-out destination equals source",
        {"destinationClusters": ["dr2", "prod"]},
        'spec.destinationClusters[1]: must differ from sourceCluster "prod"',
    ),
    (
        "destination listed twice",
        {"destinationClusters": ["dr2", "dr1"]},
        'spec.destinationClusters[1]: "dr1" is listed more than once',
    ),
    (
        "invalid cluster name",
        {"destinationClusters": ["DR_2"]},
        'spec.destinationClusters[0]: "DR_2" is not a valid name: lower-case letters, digits, "-" and ".", '
        "starting and ending with a letter or digit, at most 253 characters",
    ),
    # namespaces
    (
        "no namespaces at all",
        {"sourceNamespace": DROP},
        "spec.sourceNamespace: set sourceNamespace, namespaceMappings or namespaceSelector",
    ),
    (
        "destination namespace without source namespace",
        {"sourceNamespace": DROP, "destinationNamespace": "x", "namespaceMappings": [{"source": "a"}]},
        "spec.destinationNamespace: only allowed together with sourceNamespace",
    ),
    (
        "two sources into one destination namespace",
        {"destinationNamespace": "shared", "namespaceMappings": [{"source": "a", "destination": "shared"}]},
        'spec.namespaceMappings[0].destination: "shared" is already the destination of sourceNamespace',
    ),
    (
        "duplicate mapping",
        {"namespaceMappings": [{"source": "a"}, {"source": "a"}]},
        'spec.namespaceMappings[1].destination: "a" is already the destination of namespaceMappings[0]',
    ),
    (
        "namespace name not DNS-1123",
        {"sourceNamespace": "Web"},
        'spec.sourceNamespace: "Web" is not a valid name: lower-case letters, digits and "-", starting and '
        "ending with a letter or digit, at most 63 characters",
    ),
    (
        "namespace name too long",
        {"namespaceMappings": [{"source": "a", "destination": "x" * 64}]},
        'spec.namespaceMappings[0].destination: "' + "x" * 64 + '" is not a valid name',
    ),
    (
        "empty mapping source",
        {"namespaceMappings": [{"source": ""}]},
        "spec.namespaceMappings[0].source: must not be empty",
    ),
    (
        "empty namespace selector",
        {"namespaceSelector": {}},
        "spec.namespaceSelector: must set matchLabels or matchExpressions (an empty selector would select "
        "every namespace)",
    ),
    # selectors
    (
        "In without values",
        {"labelSelector": {"matchExpressions": [{"key": "app", "operator": "In"}]}},
        "spec.labelSelector.matchExpressions[0].values: operator In needs at least one value",
    ),
    (
        "Exists with values",
        {"labelSelector": {"matchExpressions": [{"key": "app", "operator": "Exists", "values": ["x"]}]}},
        "spec.labelSelector.matchExpressions[0].values: operator Exists takes no values",
    ),
    (
        "unknown operator",
        {"labelSelector": {"matchExpressions": [{"key": "app", "operator": "Has"}]}},
        "spec.labelSelector.matchExpressions[0].operator: must be one of In, NotIn, Exists or DoesNotExist "
        '(got "Has")',
    ),
    (
        "invalid label key",
        {"namespaceSelector": {"matchLabels": {"-bad": "x"}}},
        'spec.namespaceSelector.matchLabels[-bad]: label key "-bad" is invalid',
    ),
    (
        "invalid label key prefix",
        {"namespaceSelector": {"matchLabels": {"Bad_Prefix/app": "x"}}},
        'spec.namespaceSelector.matchLabels[Bad_Prefix/app]: label key "Bad_Prefix/app" has an invalid prefix',
    ),
    (
        "invalid label value",
        {"namespaceSelector": {"matchLabels": {"app": "a b"}}},
        'spec.namespaceSelector.matchLabels[app]: label value "a b" is invalid',
    ),
    (
        "invalid expression value",
        {
            "labelSelector": {
                "matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["ok", "no!"]}]
            }
        },
        'spec.labelSelector.matchExpressions[0].values[1]: label value "no!" is invalid',
    ),
    # mode and schedule
    (
        "unknown mode",
        {"replicationMode": "Hourly"},
        'spec.replicationMode: must be one of Scheduled, Continuous or Manual (got "Hourly")',
    ),
    (
        "cron with four fields",
        {"schedule": "* * * *"},
        'spec.schedule: "* * * *" is not a 5-field cron expression (e.g. "*/5 * * * *") or "@every <duration>"',
    ),
    ("cron with seconds field", {"schedule": "0 */5 * * * *"}, 'spec.schedule: "0 */5 * * * *" is not a'),
    (
        "cron out of range",
        {"schedule": "61 * * * *"},
        'spec.schedule: "61 * * * *" is not a valid cron expression: minute "61" (0-59)',
    ),
    (
        "cron that never fires",
        {"schedule": "0 0 31 2 *"},
        'spec.schedule: "0 0 31 2 *" never fires: no date matches its day of month and month',
    ),
    (
        "cron whose day of month never occurs but whose day of week does (cron would run it on Mondays)",
        {"schedule": "0 0 31 2 MON"},
        'spec.schedule: "0 0 31 2 MON": day of month "31" never occurs in month "2"; drsyncer cannot run such '
        'a cron, even on the days its day of week "MON" names: write the day of month as *',
    ),
    (
        "cron fields out of range named each",
        {"schedule": "61 25 * * 8"},
        'spec.schedule: "61 25 * * 8" is not a valid cron expression: minute "61" (0-59); hour "25" (0-23); '
        'day of week "8" (0-6 or SUN-SAT)',
    ),
    (
        "cron range that starts after it ends (robfig/cron refuses it; croniter would wrap round)",
        {"schedule": "0 0 * * SAT-SUN"},
        'spec.schedule: "0 0 * * SAT-SUN" is not a valid cron expression: day of week "SAT-SUN" starts after '
        'it ends (a range cannot wrap round: write "SAT,SUN")',
    ),
    (
        "cron ranges reversed named each",
        {"schedule": "50-10/5 22-2 * * *"},
        'spec.schedule: "50-10/5 22-2 * * *" is not a valid cron expression: minute "50-10/5" starts after it '
        'ends (a range cannot wrap round: write "50-59/5,0-10/5"); hour "22-2" starts after it ends (a range '
        'cannot wrap round: write "22-23,0-2")',
    ),
    (
        "@every without duration",
        {"schedule": "@every"},
        'spec.schedule: "@every": write @every followed by a duration, e.g. "@every 30s"',
    ),
    (
        "@every with a bad duration",
        {"schedule": "@every 5 minutes"},
        'spec.schedule: "@every 5 minutes": "5 minutes" is not a duration like 30s, 5m or 1h30m',
    ),
    ("@every zero", {"schedule": "@every 0s"}, 'spec.schedule: "@every 0s": "0s" must be longer than zero'),
    (
        "bad background interval",
        {"replicationMode": "Continuous", "continuous": {"backgroundSyncInterval": "1d"}},
        'spec.continuous.backgroundSyncInterval: "1d" is not a duration like 30s, 5m or 1h30m',
    ),
    # what to copy
    (
        "unknown built-in type",
        {"resourceTypes": ["configmaps", "foos"]},
        'spec.resourceTypes[1]: "foos" is not a known built-in resource; write custom resources as '
        '"resource.group" (e.g. "certificates.cert-manager.io")',
    ),
    (
        "misspelt built-in type",
        {"resourceTypes": ["deploymnets"]},
        'spec.resourceTypes[0]: "deploymnets" is not a known built-in resource; did you mean "deployments"? '
        'write custom resources as "resource.group" (e.g. "certificates.cert-manager.io")',
    ),
    (
        "cluster-scoped type",
        {"resourceTypes": ["clusterroles"]},
        'spec.resourceTypes[0]: "clusterroles" (ClusterRole) is cluster-scoped; a Replication copies '
        "namespaced resources",
    ),
    (
        "cluster-scoped built-in outside the table with rules",
        {"resourceTypes": ["configmaps", "priorityclasses.scheduling.k8s.io", "ingressclasses"]},
        'spec.resourceTypes[1]: "priorityclasses.scheduling.k8s.io" (PriorityClass) is cluster-scoped; a '
        "Replication copies namespaced resources",
    ),
    (
        "CRDs as a type",
        {"resourceTypes": ["crd"]},
        'spec.resourceTypes[0]: "crd" (CustomResourceDefinition) is cluster-scoped; a Replication copies '
        "namespaced resources; use syncCRDs to copy CRDs",
    ),
    (
        "unknown resource of a built-in group",
        {"namespaceScopedResources": ["widgets.apps"]},
        'spec.namespaceScopedResources[0]: "widgets.apps": the apps group has no resource "widgets"',
    ),
    (
        "malformed custom type",
        {"resourceTypes": ["widgets.Example_Com"]},
        'spec.resourceTypes[0]: "widgets.Example_Com" is not a valid "resource.group" name',
    ),
    ("empty type", {"resourceTypes": [""]}, "spec.resourceTypes[0]: must not be empty"),
    (
        "no types at all",
        {"resourceTypes": []},
        "spec.resourceTypes: must list at least one type (leave it out for the defaults)",
    ),
    ("type not a string", {"resourceTypes": [5]}, "spec.resourceTypes[0]: must be a string (got 5)"),
    (
        "exclude with all types",
        {"excludeResources": [{"kind": "*", "name": "a"}]},
        'spec.excludeResources[0].kind: "*" is not allowed here',
    ),
    (
        "exclude without name",
        {"excludeResources": [{"kind": "Secret"}]},
        "spec.excludeResources[0].name: required",
    ),
    # transforms
    (
        "empty storage class target",
        {"pvcConfig": {"storageClassMappings": [{"from": "a", "to": "b"}, {"from": "c", "to": ""}]}},
        "spec.pvcConfig.storageClassMappings[1].to: must not be empty",
    ),
    (
        "storage class mapped twice",
        {"pvcConfig": {"storageClassMappings": [{"from": "a", "to": "b"}, {"from": "a", "to": "c"}]}},
        'spec.pvcConfig.storageClassMappings[1].from: "a" is mapped more than once',
    ),
    (
        "unknown access mode",
        {"pvcConfig": {"accessModeMappings": [{"from": "ReadWriteOnce", "to": "RWX"}]}},
        "spec.pvcConfig.accessModeMappings[0].to: must be one of ReadWriteOnce, ReadOnlyMany, ReadWriteMany or "
        'ReadWriteOncePod (got "RWX")',
    ),
    (
        "unknown immutable handling",
        {"immutableResourceConfig": {"defaultHandling": "Replace"}},
        "spec.immutableResourceConfig.defaultHandling: must be one of NoChange, Recreate, RecreateWithPodDrain, "
        'PartialUpdate or ForceUpdate (got "Replace")',
    ),
    (
        "override for an unknown type",
        {"immutableResourceConfig": {"resourceOverrides": {"foos": "Recreate"}}},
        'spec.immutableResourceConfig.resourceOverrides[foos]: "foos" is not a known built-in resource',
    ),
    (
        "string for a boolean",
        {"scaleToZero": "false"},
        'spec.scaleToZero: must be true or false (got "false")',
    ),
    # lifecycle
    (
        "unknown cleanup policy",
        {"cleanupOnDelete": "Purge"},
        'spec.cleanupOnDelete: must be one of Orphan or Delete (got "Purge")',
    ),
    (
        "negative retries",
        {"retryConfig": {"maxRetries": -1}},
        "spec.retryConfig.maxRetries: must be at least 0",
    ),
    (
        "string retries",
        {"retryConfig": {"maxRetries": "5"}},
        'spec.retryConfig.maxRetries: must be an integer (got "5")',
    ),
    (
        "multiplier below 100 %",
        {"retryConfig": {"backoffMultiplier": 50}},
        "spec.retryConfig.backoffMultiplier: must be at least 100",
    ),
    (
        "multiplier above 1000 %",
        {"retryConfig": {"backoffMultiplier": 1500}},
        "spec.retryConfig.backoffMultiplier: must be at most 1000",
    ),
    (
        "bad backoff duration",
        {"retryConfig": {"initialBackoff": "5 s"}},
        'spec.retryConfig.initialBackoff: "5 s" is not a duration like 30s, 5m or 1h30m',
    ),
    (
        "max backoff below initial",
        {"retryConfig": {"initialBackoff": "10m", "maxBackoff": "1m"}},
        "spec.retryConfig.maxBackoff: must not be shorter than initialBackoff (10m)",
    ),
]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [(s, e) for _, s, e in REPLICATION_CASES],
    ids=[name for name, _, _ in REPLICATION_CASES],
)
def test_invalid_replication_spec_is_reported_at_its_field_path(spec: dict[str, Any], expected: str) -> None:
    errors = replication_errors(replication_dict(**spec))
    assert any(e.startswith(expected) for e in errors), errors


@pytest.mark.parametrize(
    "spec",
    [
        {"schedule": "@every 30s"},
        {"schedule": "@every 1m30s"},
        {"schedule": "@every 2h"},
        {"schedule": "@daily"},
        {"schedule": "0 2 * * 1-5"},
        {"schedule": "*/15 8-18 * * MON-FRI"},
        {"replicationMode": "Continuous", "continuous": {"backgroundSyncInterval": "1h30m"}},
        # settings of another mode are left over by a switch of mode (a patch of replicationMode alone)
        {"replicationMode": "Manual", "schedule": "* * * * *"},
        {"replicationMode": "Manual", "continuous": {"backgroundSyncInterval": "2h"}},
        {"replicationMode": "Continuous", "schedule": "*/5 * * * *"},
        {"continuous": {"backgroundSyncInterval": "2h"}},
        {"resourceTypes": ["*"]},
        {"resourceTypes": ["pvc", "Secret", "ingress", "deployments.apps", "Certificate.cert-manager.io"]},
        # namespaced built-ins outside the table drsyncer has rules for
        {
            "resourceTypes": [
                "limitranges",
                "quota",
                "rc",
                "podtemplates",
                "ep",
                "endpointslices",
                "resourceclaims",
            ]
        },
        {
            "sourceNamespace": DROP,
            "namespaceSelector": {"matchExpressions": [{"key": "dr", "operator": "Exists"}]},
        },
        {"labelSelector": {"matchLabels": {"example.com/tier": "", "app": "web"}}},
        {"destinationCluster": DROP, "destinationClusters": ["dr1", "dr2"]},
        {
            "excludeResources": [
                {"kind": "Secret", "name": "tls"},
                {"kind": "widgets.example.com", "name": "w"},
            ]
        },
        {
            "immutableResourceConfig": {
                "defaultHandling": "Recreate",
                "resourceOverrides": {"pvc": "NoChange"},
            }
        },
        {"pvcConfig": {"accessModeMappings": [{"from": "ReadWriteOnce", "to": "ReadWriteMany"}]}},
    ],
)
def test_valid_replication_spec_parses(spec: dict[str, Any]) -> None:
    assert replication_errors(replication_dict(**spec)) == []


def test_every_error_is_reported_at_once() -> None:
    errors = replication_errors(replication_dict(paused="no", dryRun=1, foo=1))
    assert errors == [
        'spec.paused: must be true or false (got "no")',
        "spec.dryRun: must be true or false (got 1)",
        "spec.foo: unknown field",
    ]


def test_namespaces_named_twice_are_reported_with_the_field_errors() -> None:
    # pydantic skips a model's cross-field checks once a field fails; they are run on the raw spec
    mappings = [
        {"source": "a", "destination": "Not_A_Name"},
        {"source": ""},
        {"source": "b", "destination": "same"},
        {"source": "c", "destination": "same"},
    ]
    errors = replication_errors(replication_dict(sourceNamespace=DROP, namespaceMappings=mappings))
    assert any(e.startswith("spec.namespaceMappings[0].destination:") for e in errors), errors
    assert any(e.startswith("spec.namespaceMappings[1].source:") for e in errors), errors
    assert (
        'spec.namespaceMappings[3].destination: "same" is already the destination of namespaceMappings[2]'
        in errors
    )
    assert len(errors) == len(set(errors))


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (
            {
                "apiVersion": "dr-syncer.io/v1beta1",
                "kind": "Replication",
                "metadata": {"name": "a"},
                "spec": {},
            },
            'apiVersion: must be dr-syncer.io/v1alpha1 (got "dr-syncer.io/v1beta1")',
        ),
        (
            {"apiVersion": "dr-syncer.io/v1alpha1", "kind": "Replication", "metadata": {"name": "a"}},
            "spec: required",
        ),
        (
            {"apiVersion": "dr-syncer.io/v1alpha1", "kind": "Replication", "metadata": {}, "spec": {}},
            "metadata.name: required",
        ),
        (
            {
                "apiVersion": "dr-syncer.io/v1alpha1",
                "kind": "Replication",
                "metadata": {"name": "a"},
                "spec": [1],
            },
            "spec: must be an object",
        ),
        (
            {
                "apiVersion": "dr-syncer.io/v1alpha1",
                "kind": "Replication",
                "metadata": {"name": "a"},
                "spec": {},
                "extra": 1,
            },
            "extra: unknown field",
        ),
    ],
)
def test_malformed_objects_are_reported_by_path(obj: dict, expected: str) -> None:
    assert expected in replication_errors(obj)


def test_invalid_spec_is_a_drsyncer_error_naming_the_object() -> None:
    with pytest.raises(InvalidSpec) as caught:
        parse_replication(replication_dict(sourceCluster=DROP))
    assert str(caught.value) == "Replication/dr-system/web: spec.sourceCluster: required"
    assert caught.value.summary == "spec.sourceCluster: required"


REMOTE_CLUSTER_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("missing secret ref", {"kubeconfigSecretRef": DROP}, "spec.kubeconfigSecretRef: required"),
    (
        "missing secret name",
        {"kubeconfigSecretRef": {"key": "config"}},
        "spec.kubeconfigSecretRef.name: required",
    ),
    (
        "empty key",
        {"kubeconfigSecretRef": {"name": "a", "key": " "}},
        "spec.kubeconfigSecretRef.key: must not be empty",
    ),
    ("zero qps", {"rateLimit": {"qps": 0}}, "spec.rateLimit.qps: must be greater than 0"),
    (
        "burst below qps",
        {"rateLimit": {"qps": 80, "burst": 20}},
        "spec.rateLimit.burst: must be at least qps (80)",
    ),
    (
        "bad default schedule",
        {"defaultSchedule": "hourly"},
        'spec.defaultSchedule: "hourly" is not a 5-field',
    ),
    (
        "bad default type",
        {"defaultResourceTypes": ["nodes"]},
        'spec.defaultResourceTypes[0]: "nodes" (Node) is cluster-scoped; a Replication copies namespaced',
    ),
    (
        "unknown default type",
        {"defaultResourceTypes": ["nodez"]},
        'spec.defaultResourceTypes[0]: "nodez" is not a known built-in resource',
    ),
    ("Go operator's pvcSync", {"pvcSync": {"enabled": True}}, "spec.pvcSync: unknown field"),
    (
        "TLS flag spelled in camel case",
        {"insecureSkipTlsVerify": True},
        "spec.insecureSkipTlsVerify: unknown field",
    ),
]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [(s, e) for _, s, e in REMOTE_CLUSTER_CASES],
    ids=[name for name, _, _ in REMOTE_CLUSTER_CASES],
)
def test_invalid_remote_cluster_spec_is_reported_at_its_field_path(
    spec: dict[str, Any], expected: str
) -> None:
    errors = remote_cluster_errors(remote_cluster_dict(**spec))
    assert any(e.startswith(expected) for e in errors), errors


def test_remote_cluster_accepts_fractional_qps_and_insecure_flag() -> None:
    assert (
        remote_cluster_errors(
            remote_cluster_dict(rateLimit={"qps": 0.5, "burst": 1}, insecureSkipTLSVerify=True)
        )
        == []
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "ingresses.extensions",
            'no cluster serves the extensions group since Kubernetes 1.22; use "ingresses.networking.k8s.io"',
        ),
        ("deployments.extensions", 'use "deployments.apps"'),
        ("ConfigMap.v1", '"v1" is an API version, not a group'),
        ("widgets.v1beta1", '"v1beta1" is an API version, not a group'),
    ],
)
def test_a_type_name_no_cluster_serves_is_refused_saying_what_to_write(name: str, message: str) -> None:
    """Taken as a custom resource, such a name would match nothing, silently, every run."""
    with pytest.raises(ValueError, match=re.escape(message)):
        normalize_resource_type(name)
