"""The minimal remote-cluster permissions of docs/cluster-access.md on real API servers.

The ClusterRoles `drsyncer-source` and `drsyncer-destination` are read from the page itself, bound
to a ServiceAccount on the real source and destination clusters, and the sync engine runs on tokens
of those ServiceAccounts (TokenRequest API): a first sync creates the namespace, a CRD (waiting until
it is Established) and its custom resource, ConfigMaps and Deployments; a second one updates,
prunes, updates the CRD and recreates a Deployment whose selector changed, evicting its Pod first
(`RecreateWithPodDrain`). It succeeds with exactly the documented rules, and without each rule it
uses the result names the missing verb and resource.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from drsyncer.kube import ApiError
from drsyncer.kube.informer import Informer
from drsyncer.sync.namespace_sync import Destination, sync_namespace
from drsyncer.sync.rules import Rules
from tests.fixtures.polling import builtin_ref, eventually
from tests.integration.rbac.conftest import (
    Atom,
    LogCollector,
    RealCluster,
    Subject,
    atoms_of,
    documented_roles,
    grant,
    poll_until,
    refusals,
    served,
    unique,
    without,
)

CONFIGMAPS = builtin_ref("configmaps")
DEPLOYMENTS = builtin_ref("deployments")
CRDS = builtin_ref("customresourcedefinitions")
NAMESPACES = builtin_ref("namespaces")

# (group, resource, verb) → what fails without it. Atoms of the documented roles not listed here
# are in NOT_EXERCISED, with why; a test holds the tables to the page.
SOURCE_NEEDED = {
    ("", "configmaps", "list"): "reading the source namespace",
    ("apps", "deployments", "list"): "reading the source namespace",
    ("apiextensions.k8s.io", "customresourcedefinitions", "get"): "syncCRDs reads the custom type's CRD",
    ("", "namespaces", "list"): "namespaceSelector: the watcher follows the source's namespaces",
    ("", "namespaces", "watch"): "namespaceSelector: the watcher follows the source's namespaces",
    ("", "configmaps", "watch"): "replicationMode Continuous: the watcher follows the synced types",
    ("apps", "deployments", "watch"): "replicationMode Continuous: the watcher follows the synced types",
}
# the atoms the watcher's informers use, not the sync engine
WATCHER_SIDE = {
    ("", "namespaces", "list"),
    ("", "namespaces", "watch"),
    ("", "configmaps", "watch"),
    ("apps", "deployments", "watch"),
}
DEST_NEEDED = {
    ("", "namespaces", "create"): "the destination namespace is created",
    ("", "configmaps", "list"): "reading the destination to compare",
    ("", "configmaps", "create"): "copying a new ConfigMap",
    ("", "configmaps", "update"): "copying a changed ConfigMap",
    ("", "configmaps", "delete"): "pruning a ConfigMap whose source is gone",
    ("apps", "deployments", "get"): "RecreateWithPodDrain reads the selector, then waits for the delete",
    ("apps", "deployments", "list"): "reading the destination to compare",
    ("apps", "deployments", "create"): "copying a new Deployment",
    ("apps", "deployments", "update"): "copying a changed Deployment",
    ("apps", "deployments", "delete"): "recreating a Deployment whose selector changed",
    ("", "pods", "list"): "RecreateWithPodDrain finds the workload's Pods",
    ("", "pods/eviction", "create"): "RecreateWithPodDrain evicts them",
    (
        "apiextensions.k8s.io",
        "customresourcedefinitions",
        "get",
    ): "waiting until the copied CRD is Established",
    ("apiextensions.k8s.io", "customresourcedefinitions", "create"): "copying the CRD",
    ("apiextensions.k8s.io", "customresourcedefinitions", "update"): "copying a changed CRD",
}
_OTHER_TYPES = [
    ("", "secrets"),
    ("", "services"),
    ("", "persistentvolumeclaims"),
    ("networking.k8s.io", "ingresses"),
]
NOT_EXERCISED: dict[tuple[str, str, str, str], str] = {
    ("source", "", "namespaces", "get"): "optional: a 403 skips the check that the source namespace exists",
    (
        "destination",
        "",
        "namespaces",
        "get",
    ): "optional: on a 403 the namespace is created and AlreadyExists taken as present",
    (
        "destination",
        "",
        "namespaces",
        "patch",
    ): "optional: on a 403 the copied namespace labels are not brought in step (a warning says so)",
    (
        "destination",
        "",
        "configmaps",
        "get",
    ): "only when a write meets a conflict (409), a race not staged here",
    **{
        (role, g, r, v): "the same code path as for configmaps, which is checked"
        for role, verbs in (
            ("source", ("list", "watch")),
            ("destination", ("get", "list", "create", "update", "delete")),
        )
        for g, r in _OTHER_TYPES
        for v in verbs
    },
}


def crd(group: str, *, label: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{group}", "labels": {"revision": label}},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                    },
                }
            ],
        },
    }


def deployment(name: str, app: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": app}},
            "template": {
                "metadata": {"labels": {"app": app}},
                "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}]},
            },
        },
    }


@dataclass
class Remote:
    source: RealCluster
    dest: RealCluster
    source_objects: list[dict[str, Any]]
    dest_objects: list[dict[str, Any]]
    source_subject: Subject
    dest_subject: Subject
    group: str  # of the test's custom type, served on the source only until synced


@pytest.fixture(scope="module")
def remote(real: Callable[[str], RealCluster]) -> Iterator[Remote]:
    source, dest = real("source"), real("dr1")
    roles = documented_roles()
    tag = uuid.uuid4().hex[:8]
    group = f"rbac{tag}.example.com"
    source_subject = Subject(f"drs-src-sa-{tag}", "drsyncer")
    dest_subject = Subject(f"drs-dst-sa-{tag}", "drsyncer")
    source_objects = grant(roles["drsyncer-source"], source_subject, group, ("list", "watch"))
    dest_objects = grant(
        roles["drsyncer-destination"], dest_subject, group, ("get", "list", "create", "update", "delete")
    )
    source.apply(source_objects)
    dest.apply(dest_objects)
    source.admin.create(CRDS, None, crd(group, label="1"))
    source.created.append(("CustomResourceDefinition", f"widgets.{group}"))
    dest.created.append(("CustomResourceDefinition", f"widgets.{group}"))  # the copy, made by the sync
    eventually(lambda: served(source.admin, f"widgets.{group}"), timeout_s=30, what="the test CRD served")
    yield Remote(source, dest, source_objects, dest_objects, source_subject, dest_subject, group)
    for cluster, subject in ((source, source_subject), (dest, dest_subject)):
        cluster.delete_namespace(subject.namespace)


def _messages(results: list[Any]) -> list[str]:
    return [
        m for r in results for m in ([r.error] if r.error else []) + [str(e) for e in r.errors] + r.warnings
    ]


def journey(remote: Remote) -> tuple[list[str], list[str]]:
    """Two syncs of a fresh source namespace with the ServiceAccounts' tokens; (messages, what failed)."""
    src_admin, dst_admin = remote.source.admin, remote.dest.admin
    namespace = remote.source.namespace(unique("drs-remote"))
    widgets = src_admin.resolve(f"widgets.{remote.group}")
    for i in range(3):
        src_admin.create(CONFIGMAPS, namespace, {"metadata": {"name": f"cm-{i}"}, "data": {"i": str(i)}})
    src_admin.create(DEPLOYMENTS, namespace, deployment("web", "web"))
    src_admin.create(DEPLOYMENTS, namespace, deployment("api", "api"))
    src_admin.create(
        widgets,
        namespace,
        {
            "apiVersion": f"{remote.group}/v1",
            "kind": "Widget",
            "metadata": {"name": "w1"},
            "spec": {"size": 1},
        },
    )
    spec = {
        "resourceTypes": ["configmaps", "deployments", f"widgets.{remote.group}"],
        "syncCRDs": True,
        "pruneDeleted": True,
        "immutableResourceConfig": {"defaultHandling": "RecreateWithPodDrain"},
    }
    rules = Rules.from_spec(spec, replication="rbac/remote", source_cluster="source")
    messages: list[str] = []
    failed: list[str] = []
    source = remote.source.client(remote.source_subject)
    dest = remote.dest.client(remote.dest_subject)
    for client in (source, dest):  # every answer, so that a 403 nothing reported would still show
        client.counters.observers.append(
            lambda cluster, verb, status: (
                messages.append(f"{verb} on {cluster}: 403") if status == 403 else None
            )
        )
    try:

        def run(label: str) -> None:
            try:
                results = sync_namespace(
                    source, [Destination(dest, namespace)], rules, source_namespace=namespace
                )
            except ApiError as exc:
                messages.append(str(exc))
                failed.append(f"{label}: {exc}")
                return
            messages.extend(_messages(results))
            for result in results:
                if result.phase.value != "Completed":
                    failed.append(f"{label}: {result.phase.value}: {_messages([result])}")

        run("first sync")
        # changes: an update, a deletion, an immutable selector change with a Pod to drain, a CRD change
        src_admin.patch(CONFIGMAPS, namespace, "cm-0", {"data": {"i": "changed"}})
        src_admin.delete(CONFIGMAPS, namespace, "cm-2")
        src_admin.patch(DEPLOYMENTS, namespace, "api", {"metadata": {"labels": {"tier": "backend"}}})
        src_admin.delete(DEPLOYMENTS, namespace, "web")
        eventually(
            lambda: src_admin.get(DEPLOYMENTS, namespace, "web") is None, what="web deleted on the source"
        )
        src_admin.create(DEPLOYMENTS, namespace, deployment("web", "web-v2"))
        src_admin.patch(CRDS, None, f"widgets.{remote.group}", {"metadata": {"labels": {"revision": "2"}}})
        pods = dst_admin.resolve("pods")
        if dst_admin.get(NAMESPACES, None, namespace) is not None:
            dst_admin.create(
                pods,
                namespace,
                {
                    "metadata": {"name": "web-0", "labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "c", "image": "pause"}]},
                },
            )
        run("second sync")
        if not failed:
            copy = dst_admin.get(DEPLOYMENTS, namespace, "web") or {}
            checks = {
                "web recreated with the new selector": (copy.get("spec") or {}).get("selector")
                == {"matchLabels": {"app": "web-v2"}},
                "the Pod of the old web evicted": dst_admin.get(pods, namespace, "web-0") is None,
                "cm-2 pruned": dst_admin.get(CONFIGMAPS, namespace, "cm-2") is None,
                "cm-0 updated": ((dst_admin.get(CONFIGMAPS, namespace, "cm-0") or {}).get("data") or {}).get(
                    "i"
                )
                == "changed",
                "the CRD updated": (
                    ((dst_admin.get(CRDS, None, f"widgets.{remote.group}") or {}).get("metadata") or {}).get(
                        "labels"
                    )
                    or {}
                ).get("revision")
                == "2",
            }
            failed += [what for what, ok in checks.items() if not ok]
    finally:
        source.close()
        dest.close()
        remote.source.delete_namespace(namespace)
        remote.dest.delete_namespace(namespace)
        # the copied CRD: the next journey copies it afresh
        dst_admin.delete(CRDS, None, f"widgets.{remote.group}")
        src_admin.patch(CRDS, None, f"widgets.{remote.group}", {"metadata": {"labels": {"revision": "1"}}})
        eventually(
            lambda: dst_admin.get(CRDS, None, f"widgets.{remote.group}") is None,
            timeout_s=30,
            what="the copied CRD deleted",
        )
    return messages, failed


def follow(remote: Remote) -> tuple[list[str], list[str]]:
    """The watcher's informers on the source with its ServiceAccount's token: the source's namespaces
    (what `namespaceSelector` follows) and the synced types cluster-wide (what Continuous mode follows,
    events only); each must see a change made after it listed. (messages, what failed)"""
    source = remote.source.client(remote.source_subject)
    seen: dict[str, set[str]] = {}

    def recorder(label: str) -> Callable[[str, dict[str, Any]], None]:
        def on_event(_kind: str, obj: dict[str, Any]) -> None:
            meta = obj.get("metadata") or {}
            seen.setdefault(label, set()).add(str(meta.get("namespace") or meta.get("name")))

        return on_event

    informers = [
        Informer(
            lambda: source,
            NAMESPACES,
            None,
            lambda: None,
            name="namespaces of source",
            watch_timeout_s=2,
            on_event=recorder("namespaces"),
        ),
        *(
            Informer(
                lambda: source,
                ref,
                None,
                lambda: None,
                name=f"{ref.plural} of source",
                watch_timeout_s=2,
                on_event=recorder(ref.plural),
                cache=False,
            )
            for ref in (CONFIGMAPS, DEPLOYMENTS)
        ),
    ]
    failed: list[str] = []
    namespace = unique("drs-follow")
    with LogCollector() as logs:
        try:
            for informer in informers:
                informer.start()
            for informer in informers:
                if not poll_until(informer.synced.is_set, 10, lambda: bool(logs.messages)):
                    failed.append(f"{informer.name}: never listed")
            remote.source.namespace(namespace)
            remote.source.admin.create(CONFIGMAPS, namespace, {"metadata": {"name": "cm"}})
            remote.source.admin.create(DEPLOYMENTS, namespace, deployment("web", "web"))
            for label in ("namespaces", "configmaps", "deployments"):
                if not poll_until(
                    lambda lb=label: namespace in seen.get(lb, set()),
                    10,
                    lambda: any("forbidden" in m.lower() for m in logs.messages),
                ):
                    failed.append(f"no watch event of {label} in {namespace}")
        finally:
            for informer in informers:
                informer.stop(wait_s=5)
            source.close()
            remote.source.delete_namespace(namespace)
        return list(logs.messages), failed


def _atom(objects: list[dict[str, Any]], key: tuple[str, str, str]) -> Atom:
    (atom,) = [a for a in atoms_of(objects) if (a.group, a.resource, a.verb) == key]
    return atom


def test_documented_roles_are_all_accounted_for() -> None:
    roles = documented_roles()
    for role, needed in (("source", SOURCE_NEEDED), ("destination", DEST_NEEDED)):
        documented = {(a.group, a.resource, a.verb) for a in atoms_of([roles[f"drsyncer-{role}"]])}
        skipped = {(g, r, v) for (who, g, r, v) in NOT_EXERCISED if who == role}
        assert documented == set(needed) | skipped, (role, documented ^ (set(needed) | skipped))
        assert not set(needed) & skipped


def test_a_sync_with_crds_prune_and_drained_recreate_works_with_exactly_the_documented_roles(
    remote: Remote,
) -> None:
    remote.source.await_in_force(remote.source_subject, atoms_of(remote.source_objects))
    remote.dest.await_in_force(remote.dest_subject, atoms_of(remote.dest_objects))
    messages, failed = journey(remote)
    followed, not_followed = follow(remote)
    assert not failed + not_followed, f"{failed + not_followed}\n{messages + followed}"
    assert not refusals(messages + followed), messages + followed


def _reduced(
    remote: Remote, side: str, key: tuple[str, str, str]
) -> tuple[RealCluster, list[dict[str, Any]], Subject, Atom]:
    cluster, objects, subject = (
        (remote.source, remote.source_objects, remote.source_subject)
        if side == "source"
        else (remote.dest, remote.dest_objects, remote.dest_subject)
    )
    atom = _atom(objects, key)
    cluster.apply(without(objects, atom))
    cluster.await_in_force(subject, atoms_of(objects), removed=atom)
    return cluster, objects, subject, atom


@pytest.mark.parametrize("side", ["source", "destination"])
def test_without_get_on_namespaces_the_sync_still_succeeds(remote: Remote, side: str) -> None:
    """The two optional rules: on a 403 the source check is skipped, the destination namespace is
    created all the same (and AlreadyExists on the second run taken as present)."""
    cluster, objects, subject, atom = _reduced(remote, side, ("", "namespaces", "get"))
    try:
        messages, failed = journey(remote)
    finally:
        cluster.apply(objects)
        cluster.await_in_force(subject, atoms_of(objects))
    assert not failed, f"{failed}\n{messages}"
    assert not [m for m in messages if atom.denial in m], messages  # passed over, not reported


@pytest.mark.parametrize(
    "side,key",
    [("source", k) for k in SOURCE_NEEDED] + [("destination", k) for k in DEST_NEEDED],
    ids=lambda v: v if isinstance(v, str) else f"{v[1]}:{v[2]}",
)
def test_without_one_documented_rule_the_sync_names_the_missing_permission(
    remote: Remote, side: str, key: tuple[str, str, str]
) -> None:
    cluster, objects, subject, atom = _reduced(remote, side, key)
    try:
        messages, failed = follow(remote) if side == "source" and key in WATCHER_SIDE else journey(remote)
    finally:
        cluster.apply(objects)
        cluster.await_in_force(subject, atoms_of(objects))
    assert failed, f"nothing failed without {atom}"
    assert any(atom.denial in m for m in messages), f"no message names {atom.denial!r}: {messages}"


def test_without_get_on_source_namespaces_a_vanished_namespace_prunes_nothing(remote: Remote) -> None:
    src_admin, dst_admin = remote.source.admin, remote.dest.admin
    namespace = remote.source.namespace(unique("drs-vanish"))
    src_admin.create(CONFIGMAPS, namespace, {"metadata": {"name": "settings"}, "data": {"a": "1"}})
    rules = Rules.from_spec(
        {"resourceTypes": ["configmaps"], "pruneDeleted": True},
        replication="rbac/vanish",
        source_cluster="source",
    )
    source = remote.source.client(remote.source_subject)
    dest = remote.dest.client(remote.dest_subject)
    try:
        (first,) = sync_namespace(source, [Destination(dest, namespace)], rules, source_namespace=namespace)
        assert first.phase.value == "Completed", _messages([first])
        remote.source.delete_namespace(namespace)
        eventually(
            lambda: src_admin.get(NAMESPACES, None, namespace) is None,
            timeout_s=60,
            what="the source namespace gone",
        )
        cluster, objects, subject, _atom_removed = _reduced(remote, "source", ("", "namespaces", "get"))
        try:
            (second,) = sync_namespace(
                source, [Destination(dest, namespace)], rules, source_namespace=namespace
            )
        finally:
            cluster.apply(objects)
            cluster.await_in_force(subject, atoms_of(objects))
        assert second.phase.value == "Failed" and second.error_category is not None
        assert second.error_category.value == "WaitForNextSync"
        assert "may not get Namespaces" in second.error and "nothing is pruned" in second.error
        assert dst_admin.get(CONFIGMAPS, namespace, "settings") is not None  # the DR copy is kept
    finally:
        source.close()
        dest.close()
        remote.source.delete_namespace(namespace)
        remote.dest.delete_namespace(namespace)
