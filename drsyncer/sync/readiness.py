"""Would a failover now bring everything up? What the copies in a DR cluster need that is not there.
Pure: the copies and what the DR cluster holds in, the gaps out.

A workload copy needs the ConfigMaps, Secrets, PersistentVolumeClaims and ServiceAccount its pod
template names (a reference marked `optional: true` is not needed), and a claim, or a StatefulSet's
claim template, needs its storage class. What the Pod would need is read as the kubelet and the
admission chain read it (core/v1 PodSpec: volumes, env/envFrom, imagePullSecrets, serviceAccountName).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from drsyncer.sync.objects import annotations_of

# a ServiceAccount every namespace gets from the serviceaccount controller, not from drsyncer
DEFAULT_SERVICE_ACCOUNT = "default"


@dataclass(frozen=True, order=True)
class Gap:
    """Something a copy needs that the DR cluster lacks: the copy, and the sentence saying what."""

    namespace: str
    kind: str
    name: str
    message: str


def pod_spec(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The pod template's spec of a workload (CronJobs through their job template), or None."""
    spec = obj.get("spec") or {}
    if obj.get("kind") == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    template = spec.get("template")
    return (template.get("spec") or {}) if isinstance(template, Mapping) else None


def references(pod: Mapping[str, Any]) -> set[tuple[str, str]]:
    """(kind, name) of every ConfigMap, Secret, PersistentVolumeClaim and ServiceAccount a pod spec
    requires; optional references are left out."""
    refs: set[tuple[str, str]] = set()
    for volume in pod.get("volumes") or ():
        refs |= _volume_refs(volume)
    for container in _containers(pod):
        for source in container.get("envFrom") or ():
            refs |= _required("ConfigMap", source.get("configMapRef"), "name")
            refs |= _required("Secret", source.get("secretRef"), "name")
        for env in container.get("env") or ():
            value_from = env.get("valueFrom") or {}
            refs |= _required("ConfigMap", value_from.get("configMapKeyRef"), "name")
            refs |= _required("Secret", value_from.get("secretKeyRef"), "name")
    for secret in pod.get("imagePullSecrets") or ():
        if secret.get("name"):
            refs.add(("Secret", str(secret["name"])))
    account = pod.get("serviceAccountName") or pod.get("serviceAccount")
    if account and account != DEFAULT_SERVICE_ACCOUNT:
        refs.add(("ServiceAccount", str(account)))
    return refs


def storage_classes(obj: Mapping[str, Any]) -> set[str]:
    """The storage classes a claim, or a StatefulSet's claim templates, ask for by name (a claim
    without one takes the cluster's default class, which is not checked)."""
    spec = obj.get("spec") or {}
    if obj.get("kind") == "PersistentVolumeClaim":
        claims: Iterable[Mapping[str, Any]] = [obj]
    elif obj.get("kind") == "StatefulSet":
        claims = spec.get("volumeClaimTemplates") or ()
    else:
        return set()
    found = set()
    for claim in claims:
        name = (claim.get("spec") or {}).get("storageClassName") or annotations_of(claim).get(
            "volume.beta.kubernetes.io/storage-class"
        )
        if name:
            found.add(str(name))
    return found


def gaps(
    copies: Iterable[Mapping[str, Any]],
    present: set[tuple[str, str, str]],
    classes: set[str] | None,
    *,
    cluster: str,
) -> list[Gap]:
    """What the copies need and the DR cluster lacks, sorted. `present` holds (kind, namespace, name) of
    the ConfigMaps, Secrets, PersistentVolumeClaims and ServiceAccounts there; `classes` the storage
    class names, or None when they could not be read (then classes are not checked)."""
    found: list[Gap] = []
    for obj in copies:
        meta = obj.get("metadata") or {}
        namespace, name, kind = str(meta.get("namespace") or ""), str(meta.get("name")), str(obj.get("kind"))
        pod = pod_spec(obj)
        if pod is not None:
            for ref_kind, ref_name in sorted(references(pod)):
                if (ref_kind, namespace, ref_name) not in present:
                    found.append(Gap(namespace, kind, name, f"needs {ref_kind} {ref_name}, not in {cluster}"))
        if classes is not None:
            for storage_class in sorted(storage_classes(obj) - classes):
                found.append(
                    Gap(
                        namespace,
                        kind,
                        name,
                        f"asks for storage class {storage_class}, which {cluster} does not have",
                    )
                )
    return sorted(found)


def _containers(pod: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for field in ("initContainers", "containers", "ephemeralContainers"):
        yield from pod.get(field) or ()


def _required(kind: str, ref: Mapping[str, Any] | None, key: str) -> set[tuple[str, str]]:
    if not ref or ref.get("optional") or not ref.get(key):
        return set()
    return {(kind, str(ref[key]))}


def _volume_refs(volume: Mapping[str, Any]) -> set[tuple[str, str]]:
    refs = _required("ConfigMap", volume.get("configMap"), "name")
    refs |= _required("Secret", volume.get("secret"), "secretName")
    claim = volume.get("persistentVolumeClaim") or {}
    if claim.get("claimName"):
        refs.add(("PersistentVolumeClaim", str(claim["claimName"])))
    for source in (volume.get("projected") or {}).get("sources") or ():
        refs |= _required("ConfigMap", source.get("configMap"), "name")
        refs |= _required("Secret", source.get("secret"), "name")
    return refs
