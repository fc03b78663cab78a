"""Namespace names inside objects, rewritten when the namespace they name is copied under another name.

A RoleBinding copied from `shop` into `shop-dr` that still names the ServiceAccount `shop/worker`
grants nothing to the copied `shop-dr/worker`. Every field below names a namespace and is rewritten
through the Replication's namespace mapping (the object's own namespace to its destination, and
every other mapped source namespace of the Replication to its destination); names of namespaces
that are not mapped are left as they are:

- RoleBinding subjects: the `namespace` of ServiceAccount subjects, and the names Kubernetes gives
  service accounts as users and groups (`system:serviceaccount:<namespace>:<name>`,
  `system:serviceaccounts:<namespace>`; k8s.io/apiserver pkg/authentication/serviceaccount);
- PersistentVolumeClaim `spec.dataSourceRef.namespace` (kept only with `preserveVolumeAttributes`);
- Service `spec.externalName` of the in-cluster form `<service>.<namespace>.svc[.<cluster domain>]`;
- NetworkPolicy peers' `namespaceSelector` on the label `kubernetes.io/metadata.name` (which the API
  server sets to every namespace's name), in `matchLabels` and `In`/`NotIn` expressions;
- in every pod template (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod,
  ReplicationController, PodTemplate): pod (anti-)affinity terms' `namespaces` and
  `namespaceSelector` (same label), and `dnsConfig.searches` entries `<namespace>.svc[.<domain>]`;
- CustomResourceDefinition `spec.conversion.webhook.clientConfig.service.namespace`.

docs/sync-semantics.md lists the references that are not rewritten, and why.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from drsyncer.sync.objects import Obj

NamespaceMap = Mapping[str, str]  # source namespace → destination namespace, only names that change

NAME_LABEL = "kubernetes.io/metadata.name"  # set on every namespace by kube-apiserver since 1.21
_DNS_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
# <namespace>.svc, optionally followed by the cluster domain (cluster.local by default): the DNS domain
# of a namespace's Services, and a Pod's search domain
_NAMESPACE_DOMAIN = re.compile(rf"^(?P<namespace>{_DNS_LABEL})\.svc(?P<rest>(?:\.{_DNS_LABEL})*\.?)$")
_SERVICE_NAME = re.compile(_DNS_LABEL)
_POD_TEMPLATE_PATHS: dict[tuple[str, str], tuple[str, ...]] = {
    ("apps", "Deployment"): ("spec", "template", "spec"),
    ("apps", "StatefulSet"): ("spec", "template", "spec"),
    ("apps", "DaemonSet"): ("spec", "template", "spec"),
    ("apps", "ReplicaSet"): ("spec", "template", "spec"),
    ("batch", "Job"): ("spec", "template", "spec"),
    ("batch", "CronJob"): ("spec", "jobTemplate", "spec", "template", "spec"),
    ("", "Pod"): ("spec",),
    ("", "ReplicationController"): ("spec", "template", "spec"),
    ("", "PodTemplate"): ("template", "spec"),
}
_AFFINITIES = ("podAffinity", "podAntiAffinity")


def namespace_map(mappings: tuple[tuple[str, str], ...], own: str, destination: str) -> dict[str, str]:
    """The names to rewrite for one object: the Replication's `mappings` (source, destination), and the
    object's own namespace `own` (empty for cluster-scoped objects) to `destination`."""
    out = {source: target for source, target in mappings if source != target}
    if own:
        if own == destination:
            out.pop(own, None)
        else:
            out[own] = destination
    return out


def rewrite(body: Obj, group: str, kind: str, names: NamespaceMap) -> None:
    """Rewrite the namespace references of `body` in place; every container changed is copied first,
    since `body` shares its nested parts with the source object."""
    if not names:
        return
    gk = (group, kind)
    if gk == ("rbac.authorization.k8s.io", "RoleBinding"):
        _subjects(body, names)
    elif gk == ("", "PersistentVolumeClaim"):
        _update_path(body, ("spec", "dataSourceRef"), lambda ref: _namespaced(ref, names))
    elif gk == ("", "Service"):
        _external_name(body, names)
    elif gk == ("networking.k8s.io", "NetworkPolicy"):
        _network_policy(body, names)
    elif gk == ("apiextensions.k8s.io", "CustomResourceDefinition"):
        _conversion_webhook(body, names)
    elif gk in _POD_TEMPLATE_PATHS:
        _update_path(body, _POD_TEMPLATE_PATHS[gk], lambda pod: _pod_dns(_pod_affinity(pod, names), names))


def namespace_dns_domain(name: str, names: NamespaceMap) -> str:
    """`name` with its namespace rewritten when it is a mapped namespace's domain, `<ns>.svc[.<domain>]`."""
    match = _NAMESPACE_DOMAIN.match(name)
    if match is None or match["namespace"] not in names:
        return name
    return f"{names[match['namespace']]}.svc{match['rest']}"


def service_dns_name(name: str, names: NamespaceMap) -> str:
    """`name` with its namespace rewritten when it is the in-cluster DNS name of a Service of a mapped
    namespace, `<service>.<ns>.svc[.<domain>]`."""
    service, _, domain = name.partition(".")
    if not domain or _SERVICE_NAME.fullmatch(service) is None:
        return name
    rewritten = namespace_dns_domain(domain, names)
    return name if rewritten == domain else f"{service}.{rewritten}"


def _subjects(body: Obj, names: NamespaceMap) -> None:
    subjects = body.get("subjects")
    if subjects:
        body["subjects"] = [_subject(s, names) for s in subjects]


def _subject(subject: Mapping[str, Any], names: NamespaceMap) -> Mapping[str, Any]:
    kind, name = subject.get("kind"), str(subject.get("name") or "")
    if kind == "ServiceAccount":
        return _namespaced(subject, names)
    parts = name.split(":")
    if kind == "User" and len(parts) == 4 and parts[:2] == ["system", "serviceaccount"] and parts[2] in names:
        return {**subject, "name": ":".join([*parts[:2], names[parts[2]], parts[3]])}
    if (
        kind == "Group"
        and len(parts) == 3
        and parts[:2] == ["system", "serviceaccounts"]
        and parts[2] in names
    ):
        return {**subject, "name": ":".join([*parts[:2], names[parts[2]]])}
    return subject


def _namespaced(ref: Mapping[str, Any], names: NamespaceMap) -> Mapping[str, Any]:
    """`ref` with its `namespace` field mapped (the same dict when there is nothing to map)."""
    namespace = str(ref.get("namespace") or "")
    return {**ref, "namespace": names[namespace]} if namespace in names else ref


def _external_name(body: Obj, names: NamespaceMap) -> None:
    spec = body.get("spec") or {}
    external = spec.get("externalName")
    if spec.get("type") != "ExternalName" or not external:
        return
    rewritten = service_dns_name(str(external), names)
    if rewritten != external:
        body["spec"] = {**spec, "externalName": rewritten}


def _selector(selector: Mapping[str, Any] | None, names: NamespaceMap) -> Mapping[str, Any] | None:
    """A namespaceSelector with namespace names (the `kubernetes.io/metadata.name` label) mapped."""
    if not selector:
        return selector
    out: dict[str, Any] = dict(selector)
    labels = selector.get("matchLabels") or {}
    if labels.get(NAME_LABEL) in names:
        out["matchLabels"] = {**labels, NAME_LABEL: names[labels[NAME_LABEL]]}
    expressions = selector.get("matchExpressions")
    if expressions:
        out["matchExpressions"] = [
            {**e, "values": [names.get(v, v) for v in e.get("values") or ()]}
            if e.get("key") == NAME_LABEL and e.get("values")
            else e
            for e in expressions
        ]
    return out


def _network_policy(body: Obj, names: NamespaceMap) -> None:
    spec: Obj = dict(body.get("spec") or {})
    for direction, peers_key in (("ingress", "from"), ("egress", "to")):
        rules = spec.get(direction)
        if not rules:
            continue
        spec[direction] = [
            {**rule, peers_key: [_peer(p, names) for p in rule[peers_key]]} if rule.get(peers_key) else rule
            for rule in rules
        ]
    body["spec"] = spec


def _peer(peer: Mapping[str, Any], names: NamespaceMap) -> Mapping[str, Any]:
    if "namespaceSelector" not in peer:
        return peer
    return {**peer, "namespaceSelector": _selector(peer["namespaceSelector"], names)}


def _pod_dns(pod: Obj, names: NamespaceMap) -> Obj:
    dns = pod.get("dnsConfig") or {}
    searches = dns.get("searches")
    if not searches:
        return pod
    rewritten = [namespace_dns_domain(str(s), names) for s in searches]
    if rewritten == searches:
        return pod
    return {**pod, "dnsConfig": {**dns, "searches": rewritten}}


def _pod_affinity(pod: Obj, names: NamespaceMap) -> Obj:
    affinity = pod.get("affinity")
    if not affinity or not any(affinity.get(a) for a in _AFFINITIES):
        return pod
    out_affinity: dict[str, Any] = dict(affinity)
    for which in _AFFINITIES:
        terms = affinity.get(which)
        if not terms:
            continue
        rewritten: dict[str, Any] = dict(terms)
        required = terms.get("requiredDuringSchedulingIgnoredDuringExecution")
        if required:
            rewritten["requiredDuringSchedulingIgnoredDuringExecution"] = [_term(t, names) for t in required]
        preferred = terms.get("preferredDuringSchedulingIgnoredDuringExecution")
        if preferred:
            rewritten["preferredDuringSchedulingIgnoredDuringExecution"] = [
                {**w, "podAffinityTerm": _term(w["podAffinityTerm"], names)}
                if w.get("podAffinityTerm")
                else w
                for w in preferred
            ]
        out_affinity[which] = rewritten
    return {**pod, "affinity": out_affinity}


def _term(term: Mapping[str, Any], names: NamespaceMap) -> Mapping[str, Any]:
    out = dict(term)
    if term.get("namespaces"):
        out["namespaces"] = [names.get(n, n) for n in term["namespaces"]]
    if term.get("namespaceSelector"):
        out["namespaceSelector"] = _selector(term["namespaceSelector"], names)
    return out


def _conversion_webhook(body: Obj, names: NamespaceMap) -> None:
    path = ("spec", "conversion", "webhook", "clientConfig", "service")

    _update_path(body, path, lambda service: _namespaced(service, names))


def _update_path(body: Obj, path: tuple[str, ...], change: Callable[[Obj], Mapping[str, Any]]) -> None:
    """Replace the dict at `path` with `change(it)`, copying every dict on the way; nothing when absent."""
    chain: list[Obj] = [body]
    for part in path:
        child = chain[-1].get(part)
        if not isinstance(child, Mapping):
            return
        chain.append(child)  # type: ignore[arg-type]
    new: Any = change(chain[-1])
    if new is chain[-1]:
        return
    for depth in range(len(path) - 1, -1, -1):
        parent = chain[depth] if depth == 0 else dict(chain[depth])
        parent[path[depth]] = new
        new = parent
