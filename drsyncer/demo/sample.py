"""The demo's sample application and the drsyncer objects that replicate it, as plain dicts.

A small shop in three namespaces of the source cluster, with one of each kind drsyncer copies and
transforms: Deployments with replicas (scaled to zero in DR), a ClusterIP and a headless Service,
ConfigMaps, Secrets, an Ingress, PVCs and a custom resource whose CRD is copied along (`syncCRDs`).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping
from typing import Any

import yaml

from drsyncer.api import keys

Obj = dict[str, Any]

CONTROL_NAMESPACE = "dr-system"
REPLICATION_NAME = "shop"
SOURCE = "source"
DESTINATIONS = ("dr1", "dr2")
CONTROLLER = "controller"
PART_OF_LABEL = "app.kubernetes.io/part-of"
PART_OF_VALUE = "shop"
NAMESPACES = ("shop-frontend", "shop-backend", "shop-data")
STORAGE_CLASS = "standard"
SCHEDULE = "@every 30s"

CR_GROUP = "shop.example.com"
CR_PLURAL = "featureflags"
CR_KIND = "FeatureFlag"
CR_TYPE = f"{CR_PLURAL}.{CR_GROUP}"
RESOURCE_TYPES = (
    "configmaps",
    "secrets",
    "deployments",
    "services",
    "ingresses",
    "persistentvolumeclaims",
    CR_TYPE,
)


def feature_flag_crd() -> Obj:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": CR_TYPE},
        "spec": {
            "group": CR_GROUP,
            "scope": "Namespaced",
            "names": {"plural": CR_PLURAL, "singular": "featureflag", "kind": CR_KIND, "shortNames": ["ff"]},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {
                                    "type": "object",
                                    "properties": {
                                        "enabled": {"type": "boolean", "default": False},
                                        "rollout": {"type": "integer", "default": 100},
                                    },
                                }
                            },
                        }
                    },
                }
            ],
        },
    }


def _labels(app: str) -> dict[str, str]:
    return {"app": app, PART_OF_LABEL: PART_OF_VALUE}


def _deployment(ns: str, name: str, replicas: int, image: str, port: int) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": _labels(name)},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": name, "image": image, "ports": [{"containerPort": port}]}]},
            },
        },
    }


def _service(ns: str, name: str, app: str, port: int, headless: bool = False) -> Obj:
    spec: Obj = {"selector": {"app": app}, "ports": [{"name": "http", "port": port, "targetPort": port}]}
    if headless:
        spec["clusterIP"] = "None"
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns, "labels": _labels(app)},
        "spec": spec,
    }


def _meta(ns: str, name: str) -> Obj:
    return {"name": name, "namespace": ns, "labels": {PART_OF_LABEL: PART_OF_VALUE}}


def _configmap(ns: str, name: str, data: dict[str, str]) -> Obj:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(ns, name), "data": data}


def _secret(ns: str, name: str, keys_: tuple[str, ...]) -> Obj:
    # generated per run: the demo has nothing to hide, but a fixed password would look like a default
    data = {k: base64.b64encode(secrets.token_urlsafe(12).encode()).decode() for k in keys_}
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": _meta(ns, name), "data": data}


def storage_class() -> Obj:
    """The StorageClass the sample's claims ask for, as local clusters (kind, minikube) ship one; put
    in the source and in the DR clusters, where a failover check would miss it otherwise."""
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": STORAGE_CLASS},
        "provisioner": "kubernetes.io/no-provisioner",
        "volumeBindingMode": "WaitForFirstConsumer",
    }


def _pvc(ns: str, name: str, size: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": _meta(ns, name),
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": STORAGE_CLASS,
            "resources": {"requests": {"storage": size}},
        },
    }


def _flag(ns: str, name: str, enabled: bool, rollout: int) -> Obj:
    return {
        "apiVersion": f"{CR_GROUP}/v1",
        "kind": CR_KIND,
        "metadata": _meta(ns, name),
        "spec": {"enabled": enabled, "rollout": rollout},
    }


def source_namespaces() -> list[Obj]:
    return [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": ns, "labels": {PART_OF_LABEL: PART_OF_VALUE}},
        }
        for ns in NAMESPACES
    ]


def application() -> list[Obj]:
    """Every object of the sample application, namespaces excluded."""
    front, back, data = NAMESPACES
    return [
        _deployment(front, "web", 3, "nginx:1.27", 8080),
        _service(front, "web", "web", 80),
        _configmap(front, "web-config", {"THEME": "dark", "API_URL": f"http://api.{back}:8080"}),
        _secret(front, "web-session", ("SESSION_KEY",)),
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": "web", "namespace": front, "labels": _labels("web")},
            "spec": {
                "rules": [
                    {
                        "host": "shop.example.com",
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {"service": {"name": "web", "port": {"number": 80}}},
                                }
                            ]
                        },
                    }
                ]
            },
        },
        _flag(front, "new-checkout", True, 25),
        _deployment(back, "api", 2, "ghcr.io/example/shop-api:2.4.1", 8080),
        _service(back, "api", "api", 8080),
        _configmap(back, "api-config", {"LOG_LEVEL": "info", "DB_HOST": f"db.{data}"}),
        _secret(back, "api-credentials", ("DB_PASSWORD", "PAYMENT_TOKEN")),
        _pvc(back, "api-cache", "1Gi"),
        _flag(back, "fast-search", False, 0),
        _deployment(data, "db", 1, "postgres:16", 5432),
        _service(data, "db", "db", 5432, headless=True),
        _configmap(data, "db-config", {"max_connections": "200"}),
        _secret(data, "db-superuser", ("POSTGRES_PASSWORD",)),
        _pvc(data, "db-data", "10Gi"),
    ]


def single_context_kubeconfig(merged: Mapping[str, Any], context: str) -> Obj:
    """The part of a kubeconfig that reaches one context, with that context current."""
    ctx = next(c for c in merged["contexts"] if c["name"] == context)
    cluster = next(c for c in merged["clusters"] if c["name"] == ctx["context"]["cluster"])
    user = next(u for u in merged["users"] if u["name"] == ctx["context"]["user"])
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [cluster],
        "users": [user],
        "contexts": [ctx],
        "current-context": context,
        "preferences": {},
    }


def kubeconfig_secret(name: str, kubeconfig: Obj) -> Obj:
    text = yaml.safe_dump(kubeconfig).encode()
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {"name": f"{name}-kubeconfig", "namespace": CONTROL_NAMESPACE},
        "data": {"kubeconfig": base64.b64encode(text).decode()},
    }


def remote_cluster(name: str) -> Obj:
    return {
        "apiVersion": keys.API_VERSION,
        "kind": keys.KIND_REMOTE_CLUSTER,
        "metadata": {"name": name, "namespace": CONTROL_NAMESPACE},
        "spec": {"kubeconfigSecretRef": {"name": f"{name}-kubeconfig"}},
    }


def replication() -> Obj:
    return {
        "apiVersion": keys.API_VERSION,
        "kind": keys.KIND_REPLICATION,
        "metadata": {"name": REPLICATION_NAME, "namespace": CONTROL_NAMESPACE},
        "spec": {
            "sourceCluster": SOURCE,
            "destinationClusters": list(DESTINATIONS),
            "namespaceSelector": {"matchLabels": {PART_OF_LABEL: PART_OF_VALUE}},
            "replicationMode": "Scheduled",
            "schedule": SCHEDULE,
            "resourceTypes": list(RESOURCE_TYPES),
            "syncCRDs": True,
            "scaleToZero": True,
        },
    }
