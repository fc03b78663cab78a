"""Case 09: a RoleBinding copied into a namespace of another name.

The subject naming the copied ServiceAccount (`c09/worker`) must name it where it is copied
(`c09-dr/worker`), or the copied workload runs without its permissions; the subject from a namespace
that is not copied (`shared-tools/auditor`) stays as it is. Reports: velero-io/velero#1954, fixed by
velero-io/velero#1974.
"""

from __future__ import annotations

from kubernetes import client as k8s

from tests.integration.cases.sync_driver import drsyncer_sync, seed, writes_nothing

CASE = "09-rolebinding-ns-mapping"
ARGS = ("--namespace", "c09:c09-dr", "--types", "serviceaccounts,roles,rolebindings")


def test_rolebinding_subjects_follow_the_namespace_mapping(kube) -> None:
    world = kube(["src", "dst"])
    seed(world, CASE)

    drsyncer_sync(world, *ARGS)

    rbac = k8s.RbacAuthorizationV1Api(world.api("dst"))
    binding = rbac.read_namespaced_role_binding("worker-read-config", "c09-dr")
    subjects = [(s.kind, s.namespace, s.name) for s in binding.subjects]
    assert subjects == [("ServiceAccount", "c09-dr", "worker"), ("ServiceAccount", "shared-tools", "auditor")]
    assert binding.role_ref.name == "read-config"
    assert rbac.read_namespaced_role("read-config", "c09-dr").rules[0].resources == ["configmaps"]
    k8s.CoreV1Api(world.api("dst")).read_namespaced_service_account("worker", "c09-dr")
    source_rbac = k8s.RbacAuthorizationV1Api(world.api("src"))
    source = source_rbac.read_namespaced_role_binding("worker-read-config", "c09")
    assert source.subjects[0].namespace == "c09"

    with writes_nothing(world, "c09-dr"):
        drsyncer_sync(world, *ARGS)
