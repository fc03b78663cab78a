"""Minimal valid custom resources, for tests to modify one field at a time."""

from __future__ import annotations

import copy
from typing import Any

from drsyncer.api.parse import InvalidSpec, parse_remote_cluster, parse_replication

API_VERSION = "dr-syncer.io/v1alpha1"
DROP = object()  # a spec override value meaning "remove this field"


def replication_dict(name: str = "web", namespace: str | None = "dr-system", **spec: Any) -> dict:
    base: dict[str, Any] = {"sourceCluster": "prod", "destinationCluster": "dr1", "sourceNamespace": "web"}
    base.update(spec)
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    return {
        "apiVersion": API_VERSION,
        "kind": "Replication",
        "metadata": metadata,
        "spec": {k: v for k, v in base.items() if v is not DROP},
    }


def remote_cluster_dict(name: str = "prod", namespace: str | None = "dr-system", **spec: Any) -> dict:
    base: dict[str, Any] = {"kubeconfigSecretRef": {"name": "prod-kubeconfig"}}
    base.update(spec)
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    return {
        "apiVersion": API_VERSION,
        "kind": "RemoteCluster",
        "metadata": metadata,
        "spec": {k: v for k, v in base.items() if v is not DROP},
    }


def replication_errors(obj: dict) -> list[str]:
    try:
        parse_replication(copy.deepcopy(obj))
    except InvalidSpec as exc:
        return exc.errors
    return []


def remote_cluster_errors(obj: dict) -> list[str]:
    try:
        parse_remote_cluster(copy.deepcopy(obj))
    except InvalidSpec as exc:
        return exc.errors
    return []
