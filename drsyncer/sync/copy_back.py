"""Failback's optional first step: what changed in the DR cluster while it served, and the object to
write back into the source for each. Pure.

"Changed since the failover" is read from resourceVersions: `drsyncer failover` records the DR
cluster's resourceVersion after its own writes on each Namespace it brought up
(`dr-syncer.io/failover-resource-version`), and an object whose resourceVersion is greater was
written after that. Kubernetes calls resourceVersions opaque, but etcd-backed API servers hand out
one increasing revision per write (etcd's mod_revision), which is what this comparison relies on; a
resourceVersion that is not a whole number makes the object "changed" (the safe side: it is shown).

The body written back is the DR object as the forward transform would write it elsewhere (server
fields stripped, Service addresses and Job selectors left to the cluster, replicas as they run),
with drsyncer's own marks and standby records removed: in the source it is the user's object again.
One thing the DR cluster gave the copy stays there: the default IngressClass its admission gave an
Ingress that names none (`without_default_class`), which the source may not even have.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from drsyncer.api import keys
from drsyncer.sync.merge import takes_default_class
from drsyncer.sync.objects import Obj, annotations_of, labels_of
from drsyncer.sync.rules import Rules
from drsyncer.sync.transform import transform

# the kinds copied back: what a user may change while the DR cluster serves; claims are left out (their
# data is not copied, and their classes and volumes belong to each cluster)
COPY_BACK_RESOURCES: tuple[str, ...] = (
    "configmaps",
    "secrets",
    "serviceaccounts",
    "services",
    "deployments.apps",
    "statefulsets.apps",
    "daemonsets.apps",
    "cronjobs.batch",
    "ingresses.networking.k8s.io",
)
# drsyncer's marks and records: meaningful on a copy, not on the source object
DRSYNCER_ANNOTATIONS: frozenset[str] = frozenset(
    {
        keys.ANNOTATION_REPLICATION,
        keys.ANNOTATION_SOURCE_CLUSTER,
        keys.ANNOTATION_SOURCE_NAMESPACE,
        keys.ANNOTATION_SOURCE_UID,
        keys.ANNOTATION_SOURCE_HASH,
        keys.ANNOTATION_ORIGINAL_REPLICAS,
        keys.ANNOTATION_ORIGINAL_SUSPEND,
        keys.ANNOTATION_ORIGINAL_NODE_SELECTOR,
        keys.ANNOTATION_FAILOVER_STANDBY,
    }
)
DRSYNCER_LABELS: frozenset[str] = frozenset({keys.LABEL_MANAGED_BY})
# copying back needs no standby: replicas and suspend as they run in the DR cluster
_RUNNING = Rules.from_spec({"scaleToZero": False}, replication="", source_cluster="")


def changed_since(obj: Mapping[str, Any], recorded: str) -> bool:
    """True when `obj` was written after the resourceVersion `recorded` (see the module docstring)."""
    current = str((obj.get("metadata") or {}).get("resourceVersion") or "")
    if not current.isdigit() or not recorded.isdigit():
        return True
    return int(current) > int(recorded)


def skip_reason(obj: Mapping[str, Any]) -> str | None:
    """Why an object changed in the DR cluster is not copied back, or None."""
    meta = obj.get("metadata") or {}
    kind, name = obj.get("kind"), meta.get("name")
    if labels_of(obj).get(keys.LABEL_IGNORE) == "true":
        return f"labelled {keys.LABEL_IGNORE}=true"
    if kind == "ConfigMap" and name == keys.ROOT_CA_CONFIGMAP:
        return "made by the DR cluster itself"
    if kind == "Secret" and obj.get("type") == keys.SECRET_TYPE_SA_TOKEN:
        return "a service-account token of the DR cluster"
    if kind == "ServiceAccount" and name == "default":
        return "made by the DR cluster itself"
    if meta.get("ownerReferences"):
        return "owned by another object, which is copied back instead"
    return None


def source_namespace(obj: Mapping[str, Any]) -> str:
    """Where the object belongs in the source: the namespace its marks name, else the same name."""
    meta = obj.get("metadata") or {}
    return annotations_of(obj).get(keys.ANNOTATION_SOURCE_NAMESPACE) or str(meta.get("namespace") or "")


def body_for_source(obj: Mapping[str, Any]) -> Obj:
    """The object to write in the source cluster (a new dict; `obj` is not changed)."""
    namespace = source_namespace(obj)
    body = transform(obj, _RUNNING, destination_namespace=namespace).body
    meta = body["metadata"]
    meta["labels"] = {k: v for k, v in meta["labels"].items() if k not in DRSYNCER_LABELS}
    meta["annotations"] = {
        k: v
        for k, v in meta["annotations"].items()
        if k not in DRSYNCER_ANNOTATIONS and k not in keys.DESTINATION_OWNED_ANNOTATIONS
    }
    for key in ("labels", "annotations"):
        if not meta[key]:
            del meta[key]
    return body


def default_ingress_classes(classes: Iterable[Mapping[str, Any]]) -> frozenset[str]:
    """The names of the IngressClasses annotated as the cluster's default
    (`ingressclass.kubernetes.io/is-default-class: "true"`, what the DefaultIngressClass admission
    plugin reads); a cluster may mark several."""
    return frozenset(
        str((c.get("metadata") or {}).get("name"))
        for c in classes
        if annotations_of(c).get(keys.ANNOTATION_DEFAULT_INGRESS_CLASS) == "true"
    )


def without_default_class(
    body: Obj, source_now: Mapping[str, Any] | None, dr_defaults: frozenset[str]
) -> Obj:
    """`body` (an Ingress to write back) without `spec.ingressClassName` when it names one of the DR
    cluster's default classes and the Ingress in the source (`source_now`) names no class, or is not
    there (made in the DR cluster while it served): the DR cluster's admission gave it that class on
    create, and in the source an Ingress naming none gets the source cluster's default (or is served
    by a controller that takes class-less ones). A class chosen in the DR cluster that is not its
    default is copied back like any change; so is its default class when the source names a class."""
    spec = body.get("spec") or {}
    if spec.get("ingressClassName") not in dr_defaults or (
        source_now is not None and not takes_default_class(source_now)
    ):
        return body
    return {**body, "spec": {k: v for k, v in spec.items() if k != "ingressClassName"}}
