"""The table of what kube-apiserver refuses to change in place, over kinds and versions."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from drsyncer.api.builtin_kinds import BUILTIN_KINDS
from drsyncer.api.immutability import TABLE, parse_version, refused, refused_paths, rows_for

Obj = dict[str, Any]

STS: Obj = {
    "apiVersion": "apps/v1",
    "kind": "StatefulSet",
    "metadata": {"name": "queue"},
    "spec": {
        "replicas": 3,
        "serviceName": "queue",
        "selector": {"matchLabels": {"app": "q"}},
        "template": {"metadata": {"labels": {"app": "q"}}, "spec": {"containers": []}},
    },
}
PVC: Obj = {
    "apiVersion": "v1",
    "kind": "PersistentVolumeClaim",
    "metadata": {"name": "logs"},
    "spec": {
        "accessModes": ["ReadWriteOnce"],
        "storageClassName": "standard",
        "resources": {"requests": {"storage": "1Gi"}},
    },
}
BOUND = {"phase": "Bound", "capacity": {"storage": "1Gi"}}


def changed(obj: Obj, **spec: Any) -> Obj:
    new = copy.deepcopy(obj)
    new["spec"].update(spec)
    return new


def with_status(obj: Obj, status: Obj) -> Obj:
    return {**copy.deepcopy(obj), "status": status}


def size(obj: Obj, value: str) -> Obj:
    return changed(obj, resources={"requests": {"storage": value}})


def claim_template(obj: Obj, storage: str) -> Obj:
    template = {"metadata": {"name": "data"}, "spec": {"resources": {"requests": {"storage": storage}}}}
    return changed(obj, volumeClaimTemplates=[template])


def job_pod(*resources: Obj, size_limit: str | None = None) -> Obj:
    """A suspended Job's pod template: a container per `resources`, an emptyDir of `size_limit`."""
    containers = [{"name": f"c{i}", "image": "app:1", "resources": r} for i, r in enumerate(resources)]
    pod: Obj = {"containers": containers, "restartPolicy": "Never"}
    if size_limit is not None:
        pod["volumes"] = [{"name": "scratch", "emptyDir": {"sizeLimit": size_limit}}]
    return {"spec": {"suspend": True, "template": {"spec": pod}}}


# (case, group, kind, version, desired, existing, refused paths)
CASES: list[tuple[str, str, str, tuple[int, int], Obj, Obj, list[str]]] = [
    (
        "sts revisionHistoryLimit on 1.32",
        "apps",
        "StatefulSet",
        (1, 32),
        changed(STS, revisionHistoryLimit=3),
        changed(STS, revisionHistoryLimit=10),
        ["spec.revisionHistoryLimit"],
    ),
    (
        "sts revisionHistoryLimit on 1.33",
        "apps",
        "StatefulSet",
        (1, 33),
        changed(STS, revisionHistoryLimit=3),
        changed(STS, revisionHistoryLimit=10),
        [],
    ),
    (
        "sts revisionHistoryLimit on 1.34",
        "apps",
        "StatefulSet",
        (1, 34),
        changed(STS, revisionHistoryLimit=3),
        changed(STS, revisionHistoryLimit=10),
        [],
    ),
    (
        "sts defaults count as stated",
        "apps",
        "StatefulSet",
        (1, 32),
        STS,
        changed(STS, revisionHistoryLimit=10, podManagementPolicy="OrderedReady"),
        [],
    ),
    (
        "sts serviceName",
        "apps",
        "StatefulSet",
        (1, 34),
        changed(STS, serviceName="other"),
        STS,
        ["spec.serviceName"],
    ),
    (
        "sts podManagementPolicy",
        "apps",
        "StatefulSet",
        (1, 30),
        changed(STS, podManagementPolicy="Parallel"),
        STS,
        ["spec.podManagementPolicy"],
    ),
    (
        "sts selector",
        "apps",
        "StatefulSet",
        (1, 34),
        changed(STS, selector={"matchLabels": {"app": "x"}}),
        STS,
        ["spec.selector"],
    ),
    (
        "sts claim templates",
        "apps",
        "StatefulSet",
        (1, 34),
        changed(STS, volumeClaimTemplates=[{"metadata": {"name": "d"}, "spec": {"accessModes": ["X"]}}]),
        STS,
        ["spec.volumeClaimTemplates"],
    ),
    (
        "sts claim template as stored (status, volumeMode)",
        "apps",
        "StatefulSet",
        (1, 34),
        changed(STS, volumeClaimTemplates=[{"metadata": {"name": "d"}, "spec": {"accessModes": ["X"]}}]),
        changed(
            STS,
            volumeClaimTemplates=[
                {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "metadata": {"name": "d"},
                    "status": {"phase": "Pending"},
                    "spec": {"accessModes": ["X"], "volumeMode": "Filesystem"},
                }
            ],
        ),
        [],
    ),
    (
        "sts updatable fields",
        "apps",
        "StatefulSet",
        (1, 32),
        changed(
            STS,
            replicas=0,
            minReadySeconds=5,
            ordinals={"start": 1},
            updateStrategy={"type": "OnDelete"},
            persistentVolumeClaimRetentionPolicy={"whenDeleted": "Delete"},
        ),
        STS,
        [],
    ),
    (
        "deployment selector",
        "apps",
        "Deployment",
        (1, 34),
        {"spec": {"selector": {"matchLabels": {"a": "2"}}}},
        {"spec": {"selector": {"matchLabels": {"a": "1"}}}},
        ["spec.selector"],
    ),
    (
        "daemonset selector",
        "apps",
        "DaemonSet",
        (1, 28),
        {"spec": {"selector": {"matchLabels": {"a": "2"}}}},
        {"spec": {"selector": {"matchLabels": {"a": "1"}}}},
        ["spec.selector"],
    ),
    (
        "replicaset selector",
        "apps",
        "ReplicaSet",
        (1, 32),
        {"spec": {"selector": {"matchLabels": {"a": "2"}}}},
        {"spec": {"selector": {"matchLabels": {"a": "1"}}}},
        ["spec.selector"],
    ),
    (
        "deployment template",
        "apps",
        "Deployment",
        (1, 34),
        {"spec": {"template": {"x": 2}}},
        {"spec": {"template": {"x": 1}}},
        [],
    ),
    (
        "pvc growth, unbound",
        "",
        "PersistentVolumeClaim",
        (1, 32),
        size(PVC, "2Gi"),
        PVC,
        ["spec.resources.requests.storage"],
    ),
    (
        "pvc growth, bound",
        "",
        "PersistentVolumeClaim",
        (1, 32),
        size(PVC, "2Gi"),
        with_status(PVC, BOUND),
        [],
    ),
    (
        "pvc shrink, bound, 1.31",
        "",
        "PersistentVolumeClaim",
        (1, 31),
        size(PVC, "512Mi"),
        with_status(PVC, BOUND),
        ["spec.resources.requests.storage"],
    ),
    (
        "pvc shrink to capacity, bound, 1.34",
        "",
        "PersistentVolumeClaim",
        (1, 34),
        size(with_status(size(PVC, "2Gi"), BOUND), "1Gi"),
        with_status(size(PVC, "2Gi"), BOUND),
        ["spec.resources.requests.storage"],
    ),
    (
        "pvc shrink above capacity, bound, 1.34",
        "",
        "PersistentVolumeClaim",
        (1, 34),
        size(PVC, "1536Mi"),
        with_status(size(PVC, "2Gi"), BOUND),
        [],
    ),
    ("pvc same size in other units", "", "PersistentVolumeClaim", (1, 32), size(PVC, "1073741824"), PVC, []),
    (
        "pvc class",
        "",
        "PersistentVolumeClaim",
        (1, 34),
        changed(PVC, storageClassName="slow"),
        with_status(PVC, BOUND),
        ["spec.storageClassName"],
    ),
    (
        "pvc class left out keeps the default",
        "",
        "PersistentVolumeClaim",
        (1, 34),
        {"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}},
        PVC,
        [],
    ),
    (
        "pvc class given to a claim without one",
        "",
        "PersistentVolumeClaim",
        (1, 34),
        PVC,
        {"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}},
        [],
    ),
    (
        "pvc access modes",
        "",
        "PersistentVolumeClaim",
        (1, 34),
        changed(PVC, accessModes=["ReadWriteMany"]),
        PVC,
        ["spec.accessModes"],
    ),
    (
        "pvc volumeMode",
        "",
        "PersistentVolumeClaim",
        (1, 34),
        changed(PVC, volumeMode="Block"),
        PVC,
        ["spec.volumeMode"],
    ),
    (
        "pvc volumeName bound by the destination",
        "",
        "PersistentVolumeClaim",
        (1, 34),
        PVC,
        changed(PVC, volumeName="pvc-123"),
        [],
    ),
    (
        "pvc volume attributes class, bound, 1.33",
        "",
        "PersistentVolumeClaim",
        (1, 33),
        changed(PVC, volumeAttributesClassName="gold"),
        with_status(PVC, BOUND),
        ["spec.volumeAttributesClassName"],
    ),
    (
        "pvc volume attributes class, bound, 1.34",
        "",
        "PersistentVolumeClaim",
        (1, 34),
        changed(PVC, volumeAttributesClassName="gold"),
        with_status(PVC, BOUND),
        [],
    ),
    (
        "pvc volume attributes class, unbound, 1.34",
        "",
        "PersistentVolumeClaim",
        (1, 34),
        changed(PVC, volumeAttributesClassName="gold"),
        PVC,
        ["spec.volumeAttributesClassName"],
    ),
    (
        "rolebinding roleRef",
        "rbac.authorization.k8s.io",
        "RoleBinding",
        (1, 34),
        {"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "editor"}},
        {"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"}},
        ["roleRef"],
    ),
    (
        "clusterrolebinding roleRef",
        "rbac.authorization.k8s.io",
        "ClusterRoleBinding",
        (1, 30),
        {"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "a"}},
        {"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "b"}},
        ["roleRef"],
    ),
    (
        "rolebinding subjects",
        "rbac.authorization.k8s.io",
        "RoleBinding",
        (1, 34),
        {"roleRef": {"name": "r"}, "subjects": [{"name": "a"}]},
        {"roleRef": {"name": "r"}, "subjects": []},
        [],
    ),
    (
        "job template",
        "batch",
        "Job",
        (1, 34),
        {"spec": {"template": {"spec": {"x": 2}}}},
        {"spec": {"template": {"spec": {"x": 1}}}},
        ["spec.template"],
    ),
    (
        "job controller labels are not a change",
        "batch",
        "Job",
        (1, 34),
        {"spec": {"template": {"metadata": {"labels": {"app": "m"}}}}},
        {
            "spec": {
                "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "1"}},
                "template": {
                    "metadata": {
                        "labels": {"app": "m", "batch.kubernetes.io/controller-uid": "1", "job-name": "m"}
                    }
                },
            }
        },
        [],
    ),
    (
        "job scheduling directives while the existing job is suspended and never started",
        "batch",
        "Job",
        (1, 34),
        {
            "spec": {
                "suspend": True,
                "template": {
                    "metadata": {"labels": {"app": "m", "tier": "batch"}, "annotations": {"a": "1"}},
                    "spec": {
                        "x": 1,
                        "nodeSelector": {"pool": "b"},
                        "tolerations": [{"key": "k", "operator": "Exists"}],
                        "schedulingGates": [{"name": "g"}],
                        "affinity": {"nodeAffinity": {"y": 2}},
                    },
                },
            }
        },
        {
            "spec": {
                "suspend": True,
                "template": {
                    "metadata": {"labels": {"app": "m"}},
                    "spec": {"x": 1, "nodeSelector": {"pool": "a"}},
                },
            }
        },
        [],
    ),
    (
        "job scheduling directives once the existing job started",
        "batch",
        "Job",
        (1, 34),
        {"spec": {"suspend": True, "template": {"spec": {"x": 1, "nodeSelector": {"pool": "b"}}}}},
        {
            "spec": {"suspend": True, "template": {"spec": {"x": 1, "nodeSelector": {"pool": "a"}}}},
            "status": {"startTime": "2026-01-01T00:00:00Z"},
        },
        ["spec.template"],
    ),
    (
        "job scheduling directives while the existing job runs",
        "batch",
        "Job",
        (1, 34),
        {"spec": {"suspend": True, "template": {"spec": {"x": 1, "nodeSelector": {"pool": "b"}}}}},
        {"spec": {"template": {"spec": {"x": 1, "nodeSelector": {"pool": "a"}}}}},
        ["spec.template"],
    ),
    (
        "the rest of a suspended job's template",
        "batch",
        "Job",
        (1, 34),
        {"spec": {"suspend": True, "template": {"spec": {"x": 2, "affinity": {"podAffinity": {"z": 1}}}}}},
        {"spec": {"suspend": True, "template": {"spec": {"x": 2}}}},
        ["spec.template"],
    ),
    (
        "job completions",
        "batch",
        "Job",
        (1, 34),
        {"spec": {"completions": 3}},
        {"spec": {"completions": 1}},
        ["spec.completions"],
    ),
    (
        "indexed job completions in tandem with parallelism",
        "batch",
        "Job",
        (1, 34),
        {"spec": {"completionMode": "Indexed", "completions": 5, "parallelism": 5}},
        {"spec": {"completionMode": "Indexed", "completions": 3, "parallelism": 1}},
        [],
    ),
    (
        "indexed job completions not equal to the new parallelism",
        "batch",
        "Job",
        (1, 34),
        {"spec": {"completionMode": "Indexed", "completions": 5, "parallelism": 2}},
        {"spec": {"completionMode": "Indexed", "completions": 3, "parallelism": 1}},
        ["spec.completions"],
    ),
    (
        "indexed job completions equal to the old parallelism only",
        "batch",
        "Job",
        (1, 34),
        {"spec": {"completionMode": "Indexed", "completions": 3, "parallelism": 5}},
        {"spec": {"completionMode": "Indexed", "completions": 5, "parallelism": 3}},
        ["spec.completions"],
    ),
    (
        "indexed job completions with parallelism left out (defaulted to 1)",
        "batch",
        "Job",
        (1, 34),
        {"spec": {"completionMode": "Indexed", "completions": 3}},
        {"spec": {"completionMode": "Indexed", "completions": 1, "parallelism": 1}},
        ["spec.completions"],
    ),
    (
        "indexed job parallelism alone",
        "batch",
        "Job",
        (1, 34),
        {"spec": {"completionMode": "Indexed", "completions": 5, "parallelism": 2}},
        {"spec": {"completionMode": "Indexed", "completions": 5, "parallelism": 5}},
        [],
    ),
    (
        "indexed job completions before ElasticIndexedJob",
        "batch",
        "Job",
        (1, 26),
        {"spec": {"completionMode": "Indexed", "completions": 5, "parallelism": 5}},
        {"spec": {"completionMode": "Indexed", "completions": 3, "parallelism": 3}},
        ["spec.completions"],
    ),
    (
        "non-indexed job completions even in tandem with parallelism",
        "batch",
        "Job",
        (1, 34),
        {"spec": {"completions": 5, "parallelism": 5}},
        {"spec": {"completions": 3, "parallelism": 3}},
        ["spec.completions"],
    ),
    (
        "non-indexed job completions left out with parallelism (defaulted to 1)",
        "batch",
        "Job",
        (1, 34),
        {"spec": {}},
        {"spec": {"completions": 1, "parallelism": 1}},
        [],
    ),
    (
        "non-indexed job completions left out while parallelism is stated",
        "batch",
        "Job",
        (1, 34),
        {"spec": {"parallelism": 2}},
        {"spec": {"completions": 4, "parallelism": 2}},
        ["spec.completions"],
    ),
    (
        "job parallelism and suspend",
        "batch",
        "Job",
        (1, 34),
        {"spec": {"parallelism": 3, "suspend": True}},
        {"spec": {"parallelism": 1}},
        [],
    ),
    (
        "service to headless",
        "",
        "Service",
        (1, 34),
        {"spec": {"clusterIP": "None", "clusterIPs": ["None"]}},
        {"spec": {"clusterIP": "10.96.0.9", "clusterIPs": ["10.96.0.9"]}},
        ["spec.clusterIP", "spec.clusterIPs"],
    ),
    (
        "service from headless",
        "",
        "Service",
        (1, 34),
        {"spec": {"ports": [{"port": 80}]}},
        {"spec": {"clusterIP": "None", "clusterIPs": ["None"]}},
        ["spec.clusterIP", "spec.clusterIPs"],
    ),
    (
        "service keeps its allocated address",
        "",
        "Service",
        (1, 34),
        {"spec": {"ports": [{"port": 81}]}},
        {"spec": {"clusterIP": "10.96.0.9", "ports": [{"port": 80}]}},
        [],
    ),
    (
        "service to ExternalName",
        "",
        "Service",
        (1, 34),
        {"spec": {"type": "ExternalName", "externalName": "x"}},
        {"spec": {"clusterIP": "None"}},
        [],
    ),
    (
        "service loadBalancerClass",
        "",
        "Service",
        (1, 34),
        {"spec": {"type": "LoadBalancer", "loadBalancerClass": "b"}},
        {"spec": {"type": "LoadBalancer", "loadBalancerClass": "a", "clusterIP": "10.96.0.9"}},
        ["spec.loadBalancerClass"],
    ),
    ("secret type", "", "Secret", (1, 34), {"type": "kubernetes.io/tls"}, {"type": "Opaque"}, ["type"]),
    ("secret type default", "", "Secret", (1, 34), {}, {"type": "Opaque"}, []),
    (
        "immutable secret data",
        "",
        "Secret",
        (1, 34),
        {"immutable": True, "data": {"a": "Mg=="}},
        {"immutable": True, "data": {"a": "MQ=="}},
        ["data"],
    ),
    (
        "immutable configmap unset",
        "",
        "ConfigMap",
        (1, 34),
        {"data": {"a": "1"}},
        {"immutable": True, "data": {"a": "1"}},
        ["immutable"],
    ),
    ("mutable configmap data", "", "ConfigMap", (1, 34), {"data": {"a": "2"}}, {"data": {"a": "1"}}, []),
    (
        "storageclass parameters and provisioner",
        "storage.k8s.io",
        "StorageClass",
        (1, 34),
        {"provisioner": "b", "parameters": {"type": "ssd"}},
        {"provisioner": "a", "parameters": {"type": "hdd"}},
        ["parameters", "provisioner"],
    ),
    (
        "storageclass defaults",
        "storage.k8s.io",
        "StorageClass",
        (1, 34),
        {"provisioner": "a"},
        {"provisioner": "a", "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"},
        [],
    ),
    (
        "storageclass binding mode",
        "storage.k8s.io",
        "StorageClass",
        (1, 34),
        {"provisioner": "a", "volumeBindingMode": "WaitForFirstConsumer"},
        {"provisioner": "a"},
        ["volumeBindingMode"],
    ),
    (
        "crd scope once established",
        "apiextensions.k8s.io",
        "CustomResourceDefinition",
        (1, 34),
        {"spec": {"group": "x.io", "scope": "Cluster", "names": {"plural": "ws", "kind": "W"}}},
        {
            "spec": {"group": "x.io", "scope": "Namespaced", "names": {"plural": "ws", "kind": "W"}},
            "status": {"conditions": [{"type": "Established", "status": "True"}]},
        },
        ["spec.scope"],
    ),
    (
        "crd stored version removed",
        "apiextensions.k8s.io",
        "CustomResourceDefinition",
        (1, 34),
        {"spec": {"group": "x.io", "names": {"plural": "ws"}, "versions": [{"name": "v2"}]}},
        {
            "spec": {
                "group": "x.io",
                "names": {"plural": "ws"},
                "versions": [{"name": "v1"}, {"name": "v2"}],
            },
            "status": {"storedVersions": ["v1", "v2"]},
        },
        ["spec.versions"],
    ),
    (
        "resourcequota scopes",
        "",
        "ResourceQuota",
        (1, 34),
        {"spec": {"scopes": ["BestEffort"]}},
        {"spec": {}},
        ["spec.scopes"],
    ),
    (
        "ingress anything",
        "networking.k8s.io",
        "Ingress",
        (1, 34),
        {"spec": {"ingressClassName": "b"}},
        {"spec": {"ingressClassName": "a"}},
        [],
    ),
    (
        "pdb selector (mutable since 1.15)",
        "policy",
        "PodDisruptionBudget",
        (1, 34),
        {"spec": {"selector": {"matchLabels": {"a": "2"}}}},
        {"spec": {"selector": {"matchLabels": {"a": "1"}}}},
        [],
    ),
    (
        # what the destination's scheduler and admission filled in, and the copy leaves out
        "pod image change beside the fields the destination assigned",
        "",
        "Pod",
        (1, 34),
        {"spec": {"containers": [{"name": "c", "image": "app:2"}]}},
        {
            "spec": {
                "containers": [{"name": "c", "image": "app:1"}],
                "nodeName": "dr-node-1",
                "priority": 0,
                "preemptionPolicy": "PreemptLowerPriority",
            }
        },
        [],
    ),
    (
        "pod container change",
        "",
        "Pod",
        (1, 34),
        {"spec": {"containers": [{"name": "c", "image": "app:1", "args": ["x"]}]}},
        {"spec": {"containers": [{"name": "c", "image": "app:1"}], "priority": 0}},
        ["spec.containers"],
    ),
    # kube-apiserver stores quantities rewritten ("1024Mi" as "1Gi", and a ResourceList's rounded up
    # to a thousandth) and compares them by value: a copy stating one in another form changes nothing
    (
        "sts claim template size in another form",
        "apps",
        "StatefulSet",
        (1, 34),
        claim_template(STS, "1024Mi"),
        claim_template(STS, "1Gi"),
        [],
    ),
    (
        "sts claim template size changed",
        "apps",
        "StatefulSet",
        (1, 34),
        claim_template(STS, "2Gi"),
        claim_template(STS, "1Gi"),
        ["spec.volumeClaimTemplates"],
    ),
    (
        "job template quantities in another form",
        "batch",
        "Job",
        (1, 34),
        job_pod(
            {"requests": {"cpu": "0.5", "memory": "1073741824", "ephemeral-storage": "1n"}},
            {"limits": {"cpu": "1000m", "hugepages-2Mi": "2048Ki", "example.com/gpu": "1e0"}},
            size_limit="1024Mi",
        ),
        job_pod(
            {"requests": {"cpu": "500m", "memory": "1Gi", "ephemeral-storage": "1m"}},
            {"limits": {"cpu": "1", "hugepages-2Mi": "2Mi", "example.com/gpu": "1"}},
            size_limit="1Gi",
        ),
        [],
    ),
    (
        "job template quantity changed",
        "batch",
        "Job",
        (1, 34),
        job_pod({"requests": {"cpu": "1001m"}}),
        job_pod({"requests": {"cpu": "1"}}),
        ["spec.template"],
    ),
    (
        "job template size limit below a thousandth is no ResourceList",
        "batch",
        "Job",
        (1, 34),
        job_pod(size_limit="1n"),
        job_pod(size_limit="1m"),
        ["spec.template"],
    ),
    (
        "pod resources in another form",
        "",
        "Pod",
        (1, 34),
        {"spec": {"containers": [{"name": "c", "image": "app:1", "resources": {"limits": {"cpu": "0.25"}}}]}},
        {"spec": {"containers": [{"name": "c", "image": "app:1", "resources": {"limits": {"cpu": "250m"}}}]}},
        [],
    ),
    (
        "claim limits in another form",
        "",
        "PersistentVolumeClaim",
        (1, 34),
        changed(PVC, resources={"requests": {"storage": "1Gi"}, "limits": {"storage": "1024Mi"}}),
        changed(PVC, resources={"requests": {"storage": "1Gi"}, "limits": {"storage": "1Gi"}}),
        [],
    ),
    (
        "custom resources are not in the table",
        "example.com",
        "Widget",
        (1, 34),
        {"spec": {"a": 2}},
        {"spec": {"a": 1}},
        [],
    ),
]


@pytest.mark.parametrize(
    ("group", "kind", "version", "desired", "existing", "paths"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_the_table_names_what_each_kind_refuses_at_each_version(
    group: str, kind: str, version: tuple[int, int], desired: Obj, existing: Obj, paths: list[str]
) -> None:
    before = copy.deepcopy((desired, existing))
    assert list(refused_paths(group, kind, version, desired, existing)) == paths
    assert (desired, existing) == before  # pure


def test_the_refusal_carries_kube_apiservers_field_and_words_for_its_version() -> None:
    (on_132,) = refused("apps", "StatefulSet", (1, 32), changed(STS, serviceName="x"), STS)
    (on_134,) = refused("apps", "StatefulSet", (1, 34), changed(STS, serviceName="x"), STS)
    assert on_132.field == "spec" and on_132.message == (
        "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
        "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"
    )
    assert (
        "'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy'" in on_134.message
    )
    (role,) = refused(
        "rbac.authorization.k8s.io",
        "RoleBinding",
        (1, 34),
        {"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "editor"}},
        {"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"}},
    )
    assert role.message == (
        'Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"Role", '
        'Name:"editor"}: cannot change roleRef'
    )
    (selector,) = refused(
        "apps",
        "Deployment",
        (1, 34),
        {"spec": {"selector": {"matchLabels": {"a": "2"}}}},
        {"spec": {"selector": {"matchLabels": {"a": "1"}}}},
    )
    assert (selector.field, selector.message) == (
        "spec.selector",
        'Invalid value: {"matchLabels":{"a":"2"}}: field is immutable',
    )
    (claim,) = refused("", "PersistentVolumeClaim", (1, 32), size(PVC, "2Gi"), PVC)
    assert claim.field == "spec" and claim.message.startswith("Forbidden: spec is immutable after creation")
    (completions,) = refused(
        "batch",
        "Job",
        (1, 34),
        {"spec": {"completionMode": "Indexed", "completions": 5, "parallelism": 2}},
        {"spec": {"completionMode": "Indexed", "completions": 3, "parallelism": 1}},
    )
    assert (completions.field, completions.message) == (
        "spec.completions",
        "Invalid value: 5: can only be modified in tandem with spec.parallelism",
    )


def test_every_built_in_kind_drsyncer_copies_has_a_row() -> None:
    """A kind missing from the table would be taken as changeable: each must be listed, even when it
    refuses nothing (Events are never copied: a cluster writes its own)."""
    listed = {(r.group, r.kind) for r in TABLE}
    missing = [k.kind for k in BUILTIN_KINDS if (k.group, k.kind) not in listed and k.kind != "Event"]
    assert missing == []


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("v1.32.0-drsyncer-sim", (1, 32)),
        ("v1.34.4", (1, 34)),
        ("1.29+", (1, 29)),
        ("v1.33.0-eks-1a2b", (1, 33)),
        ("", None),
        ("unknown", None),
    ],
)
def test_server_versions_are_read_from_git_version(text: str, version: tuple[int, int] | None) -> None:
    assert parse_version(text) == version


def test_an_unknown_version_gets_the_newest_rows() -> None:
    assert rows_for("apps", "StatefulSet", None) == rows_for("apps", "StatefulSet", (1, 34))
    assert rows_for("apps", "StatefulSet", (1, 32)) != rows_for("apps", "StatefulSet", (1, 33))
