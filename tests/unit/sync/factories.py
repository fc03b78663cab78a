"""Plain-dict Kubernetes objects as a source cluster's API server returns them."""

from __future__ import annotations

import copy
from typing import Any

from drsyncer.sync.rules import Rules

SOURCE_NS = "shop"
DEST_NS = "shop-dr"
REPLICATION = "dr-system/shop"

Obj = dict[str, Any]


def rules(**spec: Any) -> Rules:
    return Rules.from_spec(spec, replication=REPLICATION, source_cluster="prod")


def obj(
    api_version: str,
    kind: str,
    name: str,
    *,
    namespace: str | None = SOURCE_NS,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    **fields: Any,
) -> Obj:
    meta: Obj = {
        "name": name,
        "uid": f"uid-{kind.lower()}-{name}",
        "resourceVersion": "1234",
        "creationTimestamp": "2026-01-01T00:00:00Z",
        "generation": 3,
        "managedFields": [{"manager": "kubectl", "operation": "Update"}],
    }
    if namespace is not None:
        meta["namespace"] = namespace
    if labels is not None:
        meta["labels"] = labels
    if annotations is not None:
        meta["annotations"] = annotations
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, **copy.deepcopy(fields)}


def _template(app: str) -> Obj:
    return {"metadata": {"labels": {"app": app}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}


def configmap(name: str = "settings", **kw: Any) -> Obj:
    kw.setdefault("data", {"mode": "dr"})
    return obj("v1", "ConfigMap", name, **kw)


def secret(name: str = "creds", **kw: Any) -> Obj:
    kw.setdefault("type", "Opaque")
    kw.setdefault("data", {"password": "czNjcjN0"})
    return obj("v1", "Secret", name, **kw)


def deployment(name: str = "web", replicas: int | None = 3, **kw: Any) -> Obj:
    spec: Obj = {
        "selector": {"matchLabels": {"app": name}},
        "template": _template(name),
    }
    if replicas is not None:
        spec["replicas"] = replicas
    kw.setdefault("status", {"replicas": replicas, "readyReplicas": replicas})
    return obj("apps/v1", "Deployment", name, spec=spec, **kw)


def statefulset(name: str = "db", replicas: int | None = 2, **kw: Any) -> Obj:
    spec: Obj = {
        "serviceName": name,
        "selector": {"matchLabels": {"app": name}},
        "template": _template(name),
        "volumeClaimTemplates": [
            {
                "metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
            }
        ],
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return obj("apps/v1", "StatefulSet", name, spec=spec, **kw)


def service(name: str = "web", *, spec: Obj | None = None, **kw: Any) -> Obj:
    base: Obj = {
        "type": "ClusterIP",
        "clusterIP": "10.0.0.12",
        "clusterIPs": ["10.0.0.12"],
        "ipFamilies": ["IPv4"],
        "ipFamilyPolicy": "SingleStack",
        "selector": {"app": name},
        "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}],
    }
    base.update(spec or {})
    kw.setdefault("status", {"loadBalancer": {}})
    return obj("v1", "Service", name, spec=base, **kw)


def pvc(name: str = "data", *, spec: Obj | None = None, **kw: Any) -> Obj:
    base: Obj = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "10Gi"}},
        "storageClassName": "fast",
        "volumeMode": "Filesystem",
        "volumeName": "pvc-0a1b",
    }
    base.update(spec or {})
    kw.setdefault(
        "annotations",
        {
            "pv.kubernetes.io/bind-completed": "yes",
            "pv.kubernetes.io/bound-by-controller": "yes",
            "volume.kubernetes.io/selected-node": "node-1",
        },
    )
    kw.setdefault("status", {"phase": "Bound"})
    return obj("v1", "PersistentVolumeClaim", name, spec=base, **kw)


def job(name: str = "migrate", **kw: Any) -> Obj:
    uid = "5e1f"
    generated = {
        "batch.kubernetes.io/controller-uid": uid,
        "batch.kubernetes.io/job-name": name,
        "controller-uid": uid,
        "job-name": name,
    }
    spec: Obj = {
        "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}},
        "template": {
            "metadata": {"labels": {**generated, "app": "migrate"}},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "i"}]},
        },
    }
    kw.setdefault("labels", dict(generated))
    return obj("batch/v1", "Job", name, spec=spec, **kw)
