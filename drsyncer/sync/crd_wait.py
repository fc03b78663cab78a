"""Waiting for CustomResourceDefinitions just written to a destination to be served, so the custom
resources of the next stages find their type.

An API server sets a CRD's `Established` condition a moment before its discovery lists the new
kind, and drsyncer looks types up through discovery: both are awaited (polling with a doubling
pause, up to a deadline).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from drsyncer.errors import CategorisedError
from drsyncer.kube import ClusterClient

CRD_GROUP = "apiextensions.k8s.io"
CRD_KIND = "CustomResourceDefinition"
CRDS = f"customresourcedefinitions.{CRD_GROUP}"


def wait_established(client: ClusterClient, names: list[str], timeout_s: float) -> list[str]:
    """Poll the CRDs `names` until each is Established and its kind is in discovery, or `timeout_s`
    seconds pass. Returns warnings (one per CRD still not served, or why the wait failed); the
    client's discovery is refreshed either way."""
    deadline = time.monotonic() + timeout_s
    waiting = set(names)
    served: dict[str, tuple[set[str], str]] = {}  # established CRD → (its apiVersions, kind)
    delay = 0.05
    try:
        crd_ref = client.resolve(CRDS)
        while waiting:
            for name in sorted(waiting - set(served)):
                crd = client.get(crd_ref, None, name)
                if crd is not None and _condition_true(crd, "Established"):
                    served[name] = _served_kind(crd)
            if served:
                client.discovery.invalidate()
                discovered = client.discovery.served()
                for name, (versions, kind) in served.items():
                    if any(discovered.for_kind(v, kind) for v in versions):
                        waiting.discard(name)
            if not waiting or time.monotonic() >= deadline:
                break
            time.sleep(delay)  # polling the API server for a condition, bounded by the deadline
            delay = min(delay * 2, 1.0)
    except CategorisedError as exc:
        return [f"waiting for CustomResourceDefinitions to be Established failed: {exc.message}"]
    finally:
        # the new custom resource types must be found by the next stages' lookups
        client.discovery.invalidate()
    return [
        f"CustomResourceDefinition {n} not Established and served after "
        f"{timeout_s:.0f}s; its custom resources may fail"
        for n in sorted(waiting)
    ]


def installed_crd(client: ClusterClient, group: str, kind: str) -> str | None:
    """The name of the destination's CRD that defines `kind` in `group`, if there is one (None also
    when the CRDs cannot be listed)."""
    if not group or group == CRD_GROUP:
        return None
    try:
        crds = client.list(client.resolve(CRDS))
    except CategorisedError:
        return None
    for crd in crds:
        spec = crd.get("spec") or {}
        if spec.get("group") == group and (spec.get("names") or {}).get("kind") == kind:
            return str(crd["metadata"]["name"])
    return None


def _served_kind(crd: Mapping[str, Any]) -> tuple[set[str], str]:
    spec = crd.get("spec") or {}
    group = spec.get("group") or ""
    versions = {f"{group}/{v.get('name')}" for v in spec.get("versions") or () if v.get("served", True)}
    return versions, str((spec.get("names") or {}).get("kind") or "")


def _condition_true(obj: Mapping[str, Any], kind: str) -> bool:
    conditions = (obj.get("status") or {}).get("conditions") or ()
    return any(c.get("type") == kind and c.get("status") == "True" for c in conditions)


__all__ = ["CRDS", "CRD_GROUP", "CRD_KIND", "installed_crd", "wait_established"]
