"""Turn a source object into the object to write in a destination (docs/sync-semantics.md).

Pure and cheap: the source dict is never modified, and only the parts a transform touches are
copied (metadata, and the spec of the kinds that change it); everything else is shared with the
source object, so callers must treat the result as read-only or copy what they change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from drsyncer.api import keys
from drsyncer.api.immutability import POD_ASSIGNED_FIELDS
from drsyncer.sync import namespace_refs, standby, tokens
from drsyncer.sync.objects import Obj, group_of
from drsyncer.sync.rules import Rules

# metadata written by the source cluster's API server and controllers, meaningless elsewhere
STRIPPED_METADATA: tuple[str, ...] = (
    "uid",
    "resourceVersion",
    "selfLink",
    "creationTimestamp",
    "managedFields",
    "ownerReferences",
    "generation",
    "finalizers",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)
STRIPPED_ANNOTATIONS: frozenset[str] = frozenset({keys.ANNOTATION_LAST_APPLIED})
# ReplicationControllers come with `"*"`, which copies every type the source serves
SCALED_KINDS: frozenset[tuple[str, str]] = standby.REPLICATED_KINDS
# PVC fields that tie a claim to particular volumes or contents of the source cluster; dropped unless
# `preserveVolumeAttributes` (or `syncPersistentVolumes`) keeps them. `volumeMode` is not among them:
# it is the kind of volume the workload needs (a Block claim mounted through volumeDevices), kept always.
PVC_VOLUME_ATTRIBUTES: tuple[str, ...] = ("selector", "dataSource", "dataSourceRef")
HEADLESS = "None"


@dataclass(frozen=True)
class Scale:
    """The replica decision for a Deployment or StatefulSet."""

    original: int  # the source's count; Kubernetes defaults an unset count to 1
    replicas: int  # the count written to the destination
    warning: str | None = None  # set when a scale-override label was present but unusable


@dataclass(frozen=True)
class Transformed:
    body: Obj
    scale: Scale | None = None
    warnings: tuple[str, ...] = ()


def for_destination(obj: Mapping[str, Any], rules: Rules, *, destination_namespace: str) -> Obj:
    """The object to write in the destination namespace, without ownership marks."""
    return transform(obj, rules, destination_namespace=destination_namespace).body


def transform(obj: Mapping[str, Any], rules: Rules, *, destination_namespace: str) -> Transformed:
    """Like `for_destination`, also returning the replica decision and any warnings about the object."""
    body: Obj = {k: v for k, v in obj.items() if k != "status"}
    meta = obj.get("metadata") or {}
    body["metadata"] = _metadata(meta, destination_namespace)
    gk = (group_of(obj), obj.get("kind") or "")
    own = meta.get("namespace") or ""
    if rules.namespace_mappings or (own and own != destination_namespace):
        names = namespace_refs.namespace_map(rules.namespace_mappings, own, destination_namespace)
        namespace_refs.rewrite(body, gk[0], gk[1], names)
    if gk in SCALED_KINDS:
        scale = scale_for(obj, rules)
        body["spec"] = {**(body.get("spec") or {}), "replicas": scale.replicas}
        _annotations(body)[keys.ANNOTATION_ORIGINAL_REPLICAS] = str(scale.original)
        if gk[1] == "StatefulSet":
            _claim_templates(body["spec"], rules)
        return Transformed(body, scale, (scale.warning,) if scale.warning else ())
    if gk == ("", "Service"):
        _service(body, rules)
    elif gk == ("", "PersistentVolumeClaim"):
        _pvc(body, rules)
    elif gk == ("", "Pod"):
        body["spec"] = {k: v for k, v in (body.get("spec") or {}).items() if k not in POD_ASSIGNED_FIELDS}
    elif gk == ("", "Secret") and obj.get("type") == keys.SECRET_TYPE_SA_TOKEN:
        tokens.token_secret(body)
    elif gk == ("", "ServiceAccount"):
        tokens.service_account(body)
    elif gk == ("batch", "Job"):
        _job(body)
        if rules.scale_to_zero:
            standby.suspend(body)
    elif gk == ("batch", "CronJob") and rules.scale_to_zero:
        standby.suspend(body)
    elif gk == ("apps", "DaemonSet"):
        # no replica count to set: held off every node instead, by the same rule as replicas
        scale = scale_for(obj, rules)
        if scale.replicas == 0:
            standby.hold_daemonset(body)
        return Transformed(body, None, (scale.warning,) if scale.warning else ())
    return Transformed(body)


def scale_for(obj: Mapping[str, Any], rules: Rules) -> Scale:
    """Replicas for a Deployment or StatefulSet copy.

    An integer `dr-syncer.io/scale-override` label wins. Any other value is ignored with a warning
    and the Replication's `scaleToZero` applies, so a typo never starts extra copies of a workload
    in the DR cluster.
    """
    spec = obj.get("spec") or {}
    original = spec.get("replicas")
    original = 1 if original is None else int(original)
    default = 0 if rules.scale_to_zero else original
    override = ((obj.get("metadata") or {}).get("labels") or {}).get(keys.LABEL_SCALE_OVERRIDE)
    if override is None:
        return Scale(original, default)
    replicas = standby.override_replicas({keys.LABEL_SCALE_OVERRIDE: override})
    if replicas is not None:
        return Scale(original, replicas)
    applied = "scaleToZero" if rules.scale_to_zero else "the source count"
    warning = (
        f"label {keys.LABEL_SCALE_OVERRIDE}={override!r} is not a whole number of replicas; "
        f"ignored, {applied} applies ({default} replicas)"
    )
    return Scale(original, default, warning)


def _metadata(meta: Mapping[str, Any], destination_namespace: str) -> Obj:
    out: Obj = {k: v for k, v in meta.items() if k not in STRIPPED_METADATA}
    if meta.get("namespace"):
        out["namespace"] = destination_namespace
    # fresh label and annotation maps: ownership marks are added to them later
    out["labels"] = dict(meta.get("labels") or {})
    annotations = meta.get("annotations") or {}
    out["annotations"] = {k: v for k, v in annotations.items() if k not in STRIPPED_ANNOTATIONS}
    return out


def _annotations(body: Obj) -> dict[str, str]:
    annotations: dict[str, str] = body["metadata"]["annotations"]
    return annotations


def _service(body: Obj, rules: Rules) -> None:
    spec: Obj = dict(body.get("spec") or {})
    body["spec"] = spec
    if spec.get("clusterIP") == HEADLESS:
        # headless is a choice, not an allocation: keep it in both fields
        spec["clusterIPs"] = [HEADLESS]
    else:
        spec.pop("clusterIP", None)
        spec.pop("clusterIPs", None)
    # follows the allocated addresses; the destination derives it from its own families and the policy
    spec.pop("ipFamilies", None)
    if not rules.keep_node_ports:
        spec.pop("healthCheckNodePort", None)
        if spec.get("ports"):
            spec["ports"] = [{k: v for k, v in p.items() if k != "nodePort"} for p in spec["ports"]]


def map_storage_class(name: str | None, labels: Mapping[str, str], rules: Rules) -> str | None:
    """The destination storage class: the label override, else the first mapping whose `from` matches."""
    override = labels.get(keys.LABEL_STORAGE_CLASS)
    if override:
        return override
    if name is None:
        return None  # the destination's default class applies, as in the source
    for source, target in rules.storage_class_mappings:
        if source == name:
            return target
    return name


def map_access_modes(modes: list[str], rules: Rules) -> list[str]:
    """Every element mapped by the first mapping whose `from` matches it; duplicates removed, order kept."""
    mapped: list[str] = []
    for mode in modes:
        for source, target in rules.access_mode_mappings:
            if source == mode:
                mode = target
                break
        if mode not in mapped:
            mapped.append(mode)
    return mapped


def _pvc(body: Obj, rules: Rules) -> None:
    meta = body["metadata"]
    body["spec"] = _claim(body.get("spec") or {}, meta["labels"], meta["annotations"], rules)


def _claim(source: Obj, labels: Mapping[str, str], annotations: dict[str, str], rules: Rules) -> Obj:
    """A claim's spec for the destination (a copy), the claim's own `annotations` changed in place:
    classes and access modes mapped, the ties to the source's volumes and binding dropped."""
    spec: Obj = dict(source)
    if spec.get("storageClassName") is not None or keys.LABEL_STORAGE_CLASS in labels:
        target = map_storage_class(spec.get("storageClassName"), labels, rules)
        if target is not None:
            spec["storageClassName"] = target
    if keys.ANNOTATION_BETA_STORAGE_CLASS in annotations:
        beta = map_storage_class(annotations[keys.ANNOTATION_BETA_STORAGE_CLASS], labels, rules)
        if beta is not None:
            annotations[keys.ANNOTATION_BETA_STORAGE_CLASS] = beta
    if rules.access_mode_mappings and spec.get("accessModes"):
        spec["accessModes"] = map_access_modes(spec["accessModes"], rules)
    # written by the source's binder and provisioner about the source's volume and node
    for binding in keys.PVC_BINDING_ANNOTATIONS:
        annotations.pop(binding, None)
    if not rules.sync_persistent_volumes:
        spec.pop("volumeName", None)
        if not rules.preserve_volume_attributes:
            for attr in PVC_VOLUME_ATTRIBUTES:
                spec.pop(attr, None)
    return spec


def _claim_templates(spec: Obj, rules: Rules) -> None:
    # the claims a StatefulSet creates in the DR cluster are claims like any other: same treatment
    templates = spec.get("volumeClaimTemplates")
    if not templates:
        return
    mapped = []
    for template in templates:
        template_meta = template.get("metadata") or {}
        annotations = dict(template_meta.get("annotations") or {})
        claim = _claim(template.get("spec") or {}, template_meta.get("labels") or {}, annotations, rules)
        copied = {**template, "spec": claim}
        if annotations != (template_meta.get("annotations") or {}):
            # an emptied map is left out, as the API server leaves it out of what it returns
            copied["metadata"] = {k: v for k, v in template_meta.items() if k != "annotations"}
            if annotations:
                copied["metadata"]["annotations"] = annotations
        mapped.append(copied)
    spec["volumeClaimTemplates"] = mapped


def _job(body: Obj) -> None:
    spec: Obj = dict(body.get("spec") or {})
    body["spec"] = spec
    generated = keys.JOB_CONTROLLER_LABELS
    labels = body["metadata"]["labels"]
    for label in generated:
        labels.pop(label, None)
    if not spec.get("manualSelector"):
        # the selector names the source Job's uid; the destination generates its own
        spec.pop("selector", None)
    template = spec.get("template")
    if template:
        template_meta = dict(template.get("metadata") or {})
        template_labels = template_meta.get("labels") or {}
        if not spec.get("manualSelector"):
            template_meta["labels"] = {k: v for k, v in template_labels.items() if k not in generated}
        spec["template"] = {**template, "metadata": template_meta}
