"""Update bodies: the desired object merged over what the destination must keep.

An update replaces the destination object, so anything the destination allocated or its own
controllers maintain has to be carried over from the existing copy, or the update would either be
rejected or undo the destination's work: a Service's cluster IPs and node ports, a PVC's binding
and every PVC field but its size request, a Job's generated selector, the token issued into a
ServiceAccount token Secret, a Pod's node, computed priority and admission-set container resources, the default IngressClass given to
an Ingress that names none, finalizers, and the annotations other controllers keep. The result
carries the existing `resourceVersion`, so a replace is refused (409) if the object changed since
it was read. `dry_run_replacement` is the body that asks, before a recreate deletes a copy, whether
the destination would create the new one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import jsonpatch

from drsyncer.api import keys
from drsyncer.api.immutability import pod_spec_kept
from drsyncer.sync.objects import Obj, annotations_of, group_of
from drsyncer.sync.tokens import is_token_secret, keep_issued
from drsyncer.sync.transform import HEADLESS

_SERVER_METADATA_KEPT = ("resourceVersion", "finalizers", "ownerReferences")


def update_body(desired: Mapping[str, Any], existing: Mapping[str, Any]) -> Obj:
    """The body for replacing `existing` with `desired` (both plain dicts, neither modified)."""
    gk = (group_of(desired), desired.get("kind") or "")
    if gk == ("", "PersistentVolumeClaim"):
        return _pvc(desired, existing)
    body: Obj = dict(desired)
    body["metadata"] = _metadata(desired, existing)
    if gk == ("", "Service"):
        body["spec"] = _service_spec(desired.get("spec") or {}, existing.get("spec") or {})
    elif gk == ("batch", "Job"):
        body["spec"] = _job_spec(desired.get("spec") or {}, existing.get("spec") or {})
    elif gk == ("networking.k8s.io", "Ingress") and takes_default_class(desired):
        have = (existing.get("spec") or {}).get("ingressClassName")
        if have:
            body["spec"] = {**(desired.get("spec") or {}), "ingressClassName": have}
    elif gk == ("", "Pod"):
        # what the destination filled in (its node, the priority and container resources its
        # admission set) stays
        body["spec"] = pod_spec_kept(desired.get("spec") or {}, existing.get("spec") or {})
    elif is_token_secret(desired):
        body = keep_issued(body, existing)
    return body


def changed_fields(body: Mapping[str, Any], existing: Mapping[str, Any], limit: int = 5) -> tuple[str, ...]:
    """Dotted paths under `spec` that an update with `body` sets to something other than `existing`
    holds (values added or replaced, not fields the body leaves out, which the server keeps or
    defaults), at most `limit`: what to name when the API server refuses an update without naming
    the field (an admission plugin's 403)."""
    patch = jsonpatch.make_patch(dict(existing.get("spec") or {}), dict(body.get("spec") or {}))
    paths: list[str] = []
    for op in patch:
        if op["op"] not in ("add", "replace"):
            continue
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        path = ".".join(["spec", *parts])
        if path not in paths:
            paths.append(path)
        if len(paths) == limit:
            break
    return tuple(paths)


def partial_body(body: Mapping[str, Any], existing: Mapping[str, Any], fields: Iterable[str]) -> Obj:
    """`body` with each dotted path in `fields` reset to the existing value: an update the API accepts."""
    result: Obj = dict(body)
    for path in fields:
        parts = path.split(".")
        source: Any = existing
        for part in parts:
            source = source.get(part) if isinstance(source, Mapping) else None
        target = result
        for part in parts[:-1]:
            child = target.get(part)
            target[part] = child = dict(child) if isinstance(child, Mapping) else {}
            target = child
        if source is None:
            target.pop(parts[-1], None)
        else:
            target[parts[-1]] = source
    return result


def dry_run_replacement(desired: Mapping[str, Any], existing: Mapping[str, Any] | None) -> Obj:
    """The body of the dry-run create that asks whether the destination would create `desired` once
    `existing` is deleted: `desired` less the cluster IPs and node ports `existing` holds, which its
    delete frees (asked for while it still holds them, they would be refused as already allocated)."""
    if existing is None or (group_of(desired), desired.get("kind")) != ("", "Service"):
        return dict(desired)
    want: Obj = dict(desired.get("spec") or {})
    have = existing.get("spec") or {}
    if want.get("clusterIP") not in (None, HEADLESS) and want.get("clusterIP") == have.get("clusterIP"):
        want.pop("clusterIP")
        want.pop("clusterIPs", None)
    held = {p.get("nodePort") for p in have.get("ports") or ()} | {have.get("healthCheckNodePort")}
    held.discard(None)
    if want.get("ports"):
        want["ports"] = [
            {k: v for k, v in p.items() if k != "nodePort"} if p.get("nodePort") in held else p
            for p in want["ports"]
        ]
    if want.get("healthCheckNodePort") in held:
        want.pop("healthCheckNodePort")
    return {**desired, "spec": want}


# metadata the API server sets for the object it stores, which a create body must not carry, and
# owner references, which name objects of the destination that a foreground delete may have removed
_NOT_CREATED_AGAIN = (
    "uid",
    "resourceVersion",
    "selfLink",
    "creationTimestamp",
    "managedFields",
    "generation",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "ownerReferences",
)


def created_again(previous: Mapping[str, Any], annotations: Mapping[str, str]) -> Obj:
    """The body that creates `previous` (a copy as read, since deleted) again as it was, with
    `annotations` added: without its status, the metadata its API server set when storing it and its
    owner references. Not for a Job (it would run again) or a PersistentVolumeClaim (its volume was
    released with it): `PUT_BACK_REFUSED` says why."""
    meta = {k: v for k, v in (previous.get("metadata") or {}).items() if k not in _NOT_CREATED_AGAIN}
    meta["annotations"] = {**(meta.get("annotations") or {}), **annotations}
    return {**{k: v for k, v in previous.items() if k != "status"}, "metadata": meta}


# (group, kind) → why its deleted copy is not created again as it was
PUT_BACK_REFUSED: dict[tuple[str, str], str] = {
    ("batch", "Job"): "a Job created again would run again",
    ("", "PersistentVolumeClaim"): "its volume was released with it, so it would not be the claim it was",
}


def _metadata(desired: Mapping[str, Any], existing: Mapping[str, Any]) -> Obj:
    have = existing.get("metadata") or {}
    meta: Obj = dict(desired.get("metadata") or {})
    for field in _SERVER_METADATA_KEPT:
        if have.get(field):
            meta[field] = have[field]
    owned = keys.DESTINATION_OWNED_ANNOTATIONS
    kept = {k: v for k, v in (have.get("annotations") or {}).items() if k in owned}
    if kept:
        meta["annotations"] = {**kept, **(meta.get("annotations") or {})}
    return meta


def _service_spec(want: Mapping[str, Any], have: Mapping[str, Any]) -> Obj:
    spec: Obj = dict(want)
    kind = spec.get("type") or "ClusterIP"
    if kind != "ExternalName":
        address_fields = ["ipFamilies", "ipFamilyPolicy"]
        # a headless copy keeps "None"; a switch to or from headless is an immutable change, not a merge
        if "clusterIP" not in spec and have.get("clusterIP") != HEADLESS:
            address_fields += ["clusterIP", "clusterIPs"]
        for field in address_fields:
            if field not in spec and have.get(field):
                spec[field] = have[field]
    if kind in ("NodePort", "LoadBalancer") and spec.get("ports"):
        node_ports = {_port_id(p): p["nodePort"] for p in have.get("ports") or () if p.get("nodePort")}
        if node_ports:
            spec["ports"] = [
                p
                if p.get("nodePort") or _port_id(p) not in node_ports
                else {**p, "nodePort": node_ports[_port_id(p)]}
                for p in spec["ports"]
            ]
    if (
        kind == "LoadBalancer"
        and spec.get("externalTrafficPolicy") == "Local"
        and "healthCheckNodePort" not in spec
        and have.get("healthCheckNodePort")
    ):
        spec["healthCheckNodePort"] = have["healthCheckNodePort"]
    return spec


def _port_id(port: Mapping[str, Any]) -> tuple[Any, ...]:
    # a port is identified by its name when it has one (names are unique within a Service)
    if port.get("name"):
        return ("name", port["name"])
    return ("port", port.get("port"), port.get("protocol") or "TCP")


def _job_spec(want: Mapping[str, Any], have: Mapping[str, Any]) -> Obj:
    spec: Obj = dict(want)
    if spec.get("manualSelector") or not have.get("selector"):
        return spec
    # the selector and the matching template labels were generated by the destination's Job controller
    spec["selector"] = have["selector"]
    held = ((have.get("template") or {}).get("metadata") or {}).get("labels") or {}
    generated = {k: v for k, v in held.items() if k in keys.JOB_CONTROLLER_LABELS}
    if generated:
        template = dict(spec.get("template") or {})
        meta = dict(template.get("metadata") or {})
        meta["labels"] = {**(meta.get("labels") or {}), **generated}
        template["metadata"] = meta
        spec["template"] = template
    return spec


def takes_default_class(ingress: Mapping[str, Any]) -> bool:
    """Whether an Ingress names no class, so that the DefaultIngressClass admission plugin gives it
    the cluster's default class on create (and only then: an update that leaves it out removes it)."""
    named = (ingress.get("spec") or {}).get("ingressClassName")
    return named is None and keys.ANNOTATION_INGRESS_CLASS not in annotations_of(ingress)


def _pvc(desired: Mapping[str, Any], existing: Mapping[str, Any]) -> Obj:
    # after creation a claim is the destination's: only labels, annotations, the size request and a
    # first storage class follow
    body: Obj = {k: v for k, v in existing.items() if k != "status"}
    meta = _metadata(desired, existing)
    have_meta = existing.get("metadata") or {}
    body["metadata"] = {
        **{k: v for k, v in have_meta.items() if k != "managedFields"},
        "labels": meta.get("labels") or {},
        "annotations": meta.get("annotations") or {},
    }
    want_spec = desired.get("spec") or {}
    size = ((want_spec.get("resources") or {}).get("requests") or {}).get("storage")
    have_spec = existing.get("spec") or {}
    spec: Obj = dict(have_spec)
    if size is not None:
        resources = dict(have_spec.get("resources") or {})
        resources["requests"] = {**(resources.get("requests") or {}), "storage": size}
        spec["resources"] = resources
    # a class may be set once on a claim that has none (kube-apiserver ValidatePersistentVolumeClaimUpdate,
    # retroactive default StorageClass assignment, 1.28+): the source's, once it names one
    if want_spec.get("storageClassName") and not have_spec.get("storageClassName"):
        spec["storageClassName"] = want_spec["storageClassName"]
    if spec != have_spec:
        body["spec"] = spec
    return body
