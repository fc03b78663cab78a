"""The chart rendered by real Helm with the value sets the tests share, once per session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from drsyncer.sim import SimCluster
from tests.fixtures.helm import Helm, Release, serve_third_party_kinds

WATCH_NAMESPACE = "apps"
SECRETS_NAMESPACE = "kubeconfigs"

# every optional feature switched on; KEDA and HPA exclude each other, so HPA gets its own set
EVERYTHING: dict[str, Any] = {
    "config": {
        "watchNamespace": WATCH_NAMESPACE,
        "logFormat": "json",
        "extraEnv": [{"name": "HTTPS_PROXY", "value": "http://proxy:3128"}],
        "webhooks": [
            {
                "url": "https://hooks.example.com/dr",
                "events": ["SyncFailed", "FailoverStarted"],
                "secretRef": {"name": "hook-credentials"},
            }
        ],
    },
    "rbac": {"extraSecretNamespaces": [SECRETS_NAMESPACE]},
    "execPlugins": {"allowed": ["aws", "kubelogin"], "timeoutSeconds": 20},
    "serviceAccount": {
        "annotations": {
            "eks.amazonaws.com/role-arn": "arn:aws:iam::1111:role/drsyncer",
            "azure.workload.identity/client-id": "0000-client-id",
        }
    },
    "workers": {
        "keda": {"enabled": True},
        "healthWorkers": {"enabled": True},
        "podDisruptionBudget": {"enabled": True},
        "podLabels": {"azure.workload.identity/use": "true"},
    },
    "watcher": {
        "podDisruptionBudget": {"enabled": True},
        "podLabels": {"azure.workload.identity/use": "true"},
    },
    "flower": {
        "ingress": {
            "enabled": True,
            "className": "nginx",
            "tls": [{"hosts": ["flower.example.com"], "secretName": "flower-tls"}],
        }
    },
    "redis": {"persistence": {"enabled": True, "storageClass": "fast"}},
    "metrics": {
        "serviceMonitor": {"enabled": True, "labels": {"release": "prometheus"}},
        "podMonitor": {"enabled": True},
        "prometheusRule": {"enabled": True},
        "grafanaDashboard": {"enabled": True},
    },
    "networkPolicy": {
        "enabled": True,
        "metricsFrom": [{"namespaceSelector": {"matchLabels": {"name": "monitoring"}}}],
    },
}
WITH_HPA: dict[str, Any] = {"workers": {"hpa": {"enabled": True}}}
EXTERNAL_REDIS: dict[str, Any] = {
    "redis": {
        "bundled": False,
        "external": {
            "existingSecret": "redis-credentials",
            "existingSecretKey": "url",
            "caSecret": {"name": "redis-ca", "key": "ca.crt"},
        },
    },
    "workers": {
        "keda": {
            "enabled": True,
            "redis": {
                "address": "redis.example.com:6380",
                "databaseIndex": 2,
                "enableTLS": True,
                "passwordSecret": {"name": "redis-credentials"},
            },
        }
    },
    "flower": {
        "basicAuth": {"existingSecret": "flower-users", "existingSecretKey": "users"},
        "taskEvents": False,
    },
}
SENTINEL_URL = (
    "sentinel://:data-pw@redis-sentinel-0.redis:26379,redis-sentinel-1.redis:26379,"
    "redis-sentinel-2.redis:26379/0?master=drsyncer&sentinel_password=sentinel-pw"
)
EXTERNAL_SENTINEL: dict[str, Any] = {"redis": {"bundled": False, "external": {"url": SENTINEL_URL}}}
VALUE_SETS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "everything": EVERYTHING,
    "hpa": WITH_HPA,
    "external-redis": EXTERNAL_REDIS,
    "external-sentinel": EXTERNAL_SENTINEL,
}


def prepare(cluster: SimCluster) -> None:
    """What an operator would have before installing: monitoring and KEDA, the namespaces named in
    the values."""
    serve_third_party_kinds(cluster)
    for name in (WATCH_NAMESPACE, SECRETS_NAMESPACE):
        cluster.store.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def install(values: dict[str, Any]) -> Release:
    with SimCluster("sim") as cluster:
        prepare(cluster)
        helm = Helm(cluster)
        try:
            return helm.install(values)
        finally:
            helm.close()


@pytest.fixture(scope="session")
def releases(helm_library: None) -> Iterator[dict[str, Release]]:
    """Each value set installed once into a cluster of its own."""
    yield {name: install(values) for name, values in VALUE_SETS.items()}
