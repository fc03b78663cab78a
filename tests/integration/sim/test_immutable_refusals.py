"""Updates kube-apiserver refuses in place, per kind: each is a 422 Invalid naming the field, in
kube-apiserver's words, and leaves the object as it was. Run on the simulator (which answers from
drsyncer.api.immutability at the version it reports) and on a real kube-apiserver (the authority)."""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes import dynamic
from kubernetes.client.rest import ApiException

from tests.fixtures.polling import eventually

Obj = dict[str, Any]


def _meta(name: str, namespace: str | None = "refusals") -> Obj:
    return {"name": name, **({"namespace": namespace} if namespace else {})}


POD = {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}}

# (case, object, merge patch, the field of the cause, words of its message)
REFUSALS: list[tuple[str, Obj, Obj, str, str]] = [
    (
        "ClusterRoleBinding roleRef",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": _meta("refusals-crb", None),
            "subjects": [{"kind": "Group", "name": "g"}],
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        },
        {"roleRef": {"name": "edit"}},
        "roleRef",
        "cannot change roleRef",
    ),
    (
        "Pod spec",
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {**_meta("pod"), **POD["metadata"]},
            "spec": POD["spec"],
        },
        {"spec": {"hostname": "other"}},
        "spec",
        "Forbidden: pod updates may not change fields other than",
    ),
    (
        "DaemonSet selector",
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": _meta("agent"),
            "spec": {"selector": {"matchLabels": {"app": "a"}}, "template": POD},
        },
        {
            "spec": {
                "selector": {"matchLabels": {"app": "a", "x": "y"}},
                "template": {"metadata": {"labels": {"x": "y"}}},
            }
        },
        "spec.selector",
        "field is immutable",
    ),
    (
        "ReplicaSet selector",
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": _meta("rs"),
            "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "a"}}, "template": POD},
        },
        {
            "spec": {
                "selector": {"matchLabels": {"app": "a", "x": "y"}},
                "template": {"metadata": {"labels": {"x": "y"}}},
            }
        },
        "spec.selector",
        "field is immutable",
    ),
    (
        "StatefulSet podManagementPolicy",
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": _meta("sts"),
            "spec": {
                "replicas": 0,
                "serviceName": "sts",
                "selector": {"matchLabels": {"app": "a"}},
                "template": POD,
            },
        },
        {"spec": {"podManagementPolicy": "Parallel"}},
        "spec",
        "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template'",
    ),
    (
        "Job template",
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": _meta("job"),
            "spec": {
                "suspend": True,
                "template": {
                    "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox:1"}]}
                },
            },
        },
        {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox:2"}]}}}},
        "spec.template",
        "field is immutable",
    ),
    (
        "Secret type",
        {"apiVersion": "v1", "kind": "Secret", "metadata": _meta("s"), "type": "example.com/one"},
        {"type": "example.com/two"},
        "type",
        'Invalid value: "example.com/two": field is immutable',
    ),
    (
        "immutable ConfigMap data",
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": _meta("frozen"),
            "data": {"a": "1"},
            "immutable": True,
        },
        {"data": {"a": "2"}},
        "data",
        "Forbidden: field is immutable when `immutable` is set",
    ),
    (
        "PersistentVolumeClaim volumeMode",
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": _meta("claim"),
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": "standard",
                "resources": {"requests": {"storage": "1Gi"}},
            },
        },
        {"spec": {"volumeMode": "Block"}},
        "volumeMode",
        'Invalid value: "Block": field is immutable',
    ),
    (
        "StorageClass parameters",
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": _meta("refusals-sc", None),
            "provisioner": "example.com/none",
            "parameters": {"type": "hdd"},
        },
        {"parameters": {"type": "ssd"}},
        "parameters",
        "Forbidden: updates to parameters are forbidden.",
    ),
    (
        "CustomResourceDefinition scope",
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": _meta("gadgets.refusals.example.com", None),
            "spec": {
                "group": "refusals.example.com",
                "scope": "Namespaced",
                "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
                "versions": [
                    {
                        "name": "v1",
                        "served": True,
                        "storage": True,
                        "schema": {
                            "openAPIV3Schema": {
                                "type": "object",
                                "x-kubernetes-preserve-unknown-fields": True,
                            }
                        },
                    }
                ],
            },
        },
        {"spec": {"scope": "Cluster"}},
        "spec.scope",
        'Invalid value: "Cluster": field is immutable',
    ),
]


@pytest.mark.parametrize(
    ("obj", "change", "field", "words"), [c[1:] for c in REFUSALS], ids=[c[0] for c in REFUSALS]
)
def test_an_in_place_change_of_a_fixed_field_is_refused_with_422_naming_it(
    kube: Any, obj: Obj, change: Obj, field: str, words: str
) -> None:
    world = kube(["c1"])
    if obj["metadata"].get("namespace"):  # a namespace of the test's own: real clusters are shared
        namespace = f"refusals-{secrets.token_hex(3)}"
        obj = {**obj, "metadata": {**obj["metadata"], "namespace": namespace}}
        k8s.CoreV1Api(world.api("c1")).create_namespace({"metadata": {"name": namespace}})
    else:
        namespace = None
    kinds = dynamic.DynamicClient(world.api("c1")).resources
    kind = kinds.get(api_version=obj["apiVersion"], kind=obj["kind"])
    kind.create(body=obj, namespace=namespace)
    if obj["kind"] == "CustomResourceDefinition":  # its scope is fixed once it is Established

        def established() -> bool:
            conditions = kind.get(name=obj["metadata"]["name"]).to_dict()["status"]["conditions"] or ()
            return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)

        eventually(established, what="the CRD Established", tolerate=(AssertionError, KeyError, TypeError))
    before = kind.get(name=obj["metadata"]["name"], namespace=namespace).to_dict()

    with pytest.raises(ApiException) as refused:
        kind.patch(
            name=obj["metadata"]["name"],
            namespace=namespace,
            body=change,
            content_type="application/merge-patch+json",
        )

    status = json.loads(refused.value.body)
    assert refused.value.status == 422 and status["reason"] == "Invalid"
    causes = status["details"]["causes"]
    assert any(c["field"] == field and words in c["message"] for c in causes), causes
    after = kind.get(name=obj["metadata"]["name"], namespace=namespace).to_dict()
    # unchanged (a CRD's status moves on by itself on a real server: its conditions are set after)
    assert {k: v for k, v in after.items() if k not in ("metadata", "status")} == {
        k: v for k, v in before.items() if k not in ("metadata", "status")
    }


@pytest.mark.parametrize(
    ("api_version", "kind", "extra"),
    [
        ("apps/v1", "Deployment", {}),
        ("apps/v1", "ReplicaSet", {}),
        ("apps/v1", "StatefulSet", {"serviceName": "db"}),
        ("apps/v1", "DaemonSet", {}),
    ],
)
def test_a_workload_whose_selector_misses_its_template_is_refused_with_the_servers_words(
    kube: Any, api_version: str, kind: str, extra: Obj
) -> None:
    # what a partial update that keeps an old selector meets (drsyncer.sync.execute._partial_refused)
    world = kube(["c1"])
    namespace = f"workloads-{secrets.token_hex(3)}"
    k8s.CoreV1Api(world.api("c1")).create_namespace({"metadata": {"name": namespace}})
    resource = dynamic.DynamicClient(world.api("c1")).resources.get(api_version=api_version, kind=kind)
    spec = {"selector": {"matchLabels": {"app": "a", "track": "b"}}, "template": POD, **extra}
    body = {"apiVersion": api_version, "kind": kind, "metadata": {"name": "w", "namespace": namespace}}

    with pytest.raises(ApiException) as refused:
        resource.create(body={**body, "spec": spec}, namespace=namespace)
    assert refused.value.status == 422
    assert json.loads(refused.value.body)["details"]["causes"] == [
        {
            "reason": "FieldValueInvalid",
            "message": 'Invalid value: {"app":"a"}: `selector` does not match template `labels`',
            "field": "spec.template.metadata.labels",
        }
    ]
    with pytest.raises(ApiException) as empty:
        resource.create(body={**body, "spec": {**spec, "selector": {}}}, namespace=namespace)
    causes = json.loads(empty.value.body)["details"]["causes"]
    noun = "deployment" if kind == "ReplicaSet" else kind.lower()  # kube-apiserver 1.34's words
    assert {
        "reason": "FieldValueInvalid",
        "message": f"Invalid value: {{}}: empty selector is invalid for {noun}",
        "field": "spec.selector",
    } in causes, causes

    # selecting the template (matchExpressions too) is accepted
    selected = {
        "matchLabels": {"app": "a"},
        "matchExpressions": [{"key": "track", "operator": "DoesNotExist"}],
    }
    resource.create(body={**body, "spec": {**spec, "selector": selected}}, namespace=namespace)
