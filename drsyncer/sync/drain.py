"""Emptying an object of its Pods before a recreate deletes it (immutable handling
RecreateWithPodDrain): a workload's Pods, found by its `spec.selector`, or the Pods mounting a claim.

Pods are evicted (POST to their `eviction` subresource), so PodDisruptionBudgets apply: an eviction
the budget refuses (429) is retried by the client and, if it stays refused, fails the recreate
before anything was deleted.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from drsyncer.api.selectors import selector_string
from drsyncer.kube import ClusterClient, ResourceRef
from drsyncer.kube.errors import NotFound, NotServed
from drsyncer.sync.objects import Key

# kinds whose Pods are found through `spec.selector`
SELECTOR_WORKLOADS = frozenset(
    {
        ("apps", "Deployment"),
        ("apps", "StatefulSet"),
        ("apps", "DaemonSet"),
        ("apps", "ReplicaSet"),
        ("batch", "Job"),
    }
)
CLAIM = ("", "PersistentVolumeClaim")


def drain(client: ClusterClient, key: Key, ref: ResourceRef) -> None:
    """Evict the Pods that use the object `key` (of type `ref`) in the destination. Nothing for other
    kinds, or on a cluster that serves no Pods. Raises the `ApiError` of an eviction that failed."""
    gk = (key.group, key.kind)
    if gk not in SELECTOR_WORKLOADS and gk != CLAIM:
        return
    try:
        pods = client.resolve("pods")
    except NotServed:
        return  # a cluster that serves no Pods (the simulator) has nothing to drain
    if gk == CLAIM:
        names = [
            p["metadata"]["name"] for p in client.list(pods, key.namespace) if _mounts_claim(p, key.name)
        ]
    else:
        existing = client.get(ref, key.namespace, key.name)
        if existing is None:
            return
        selector = selector_string((existing.get("spec") or {}).get("selector"))
        if not selector:
            return  # an empty selector would match every Pod of the namespace
        names = [p["metadata"]["name"] for p in client.list(pods, key.namespace, label_selector=selector)]
    for name in names:
        with contextlib.suppress(NotFound):  # gone meanwhile: what the eviction wanted
            client.evict(pods, key.namespace, name)


def _mounts_claim(pod: Mapping[str, Any], claim: str) -> bool:
    volumes = (pod.get("spec") or {}).get("volumes") or ()
    return any((v.get("persistentVolumeClaim") or {}).get("claimName") == claim for v in volumes)


__all__ = ["SELECTOR_WORKLOADS", "drain"]
