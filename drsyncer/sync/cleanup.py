"""Cleanup after a deleted Replication (`cleanupOnDelete: Delete`): remove, in one destination
namespace, the objects whose ownership marks name that Replication and source namespace.

The Replication is gone when this runs, so its resource types are unknown: every namespaced type
the destination serves is listed, filtered server-side by the managed-by label; types the identity
may not list are passed over (it cannot have synced them). Selection is pure
(`select_owned`); `cleanup_destination` only lists and deletes, in reverse dependency order, each
delete conditional on the uid that was seen (`delete.delete_copy`, the delete path of pruning too).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from drsyncer.api import keys
from drsyncer.api.resource_types import WILDCARD_EXCLUDED
from drsyncer.errors import CategorisedError
from drsyncer.kube import ApiError, ClusterClient, ResourceRef
from drsyncer.kube.errors import Forbidden
from drsyncer.sync.delete import delete_copy
from drsyncer.sync.objects import Key, Obj, key_of
from drsyncer.sync.ordering import delete_order
from drsyncer.sync.ownership import is_owned_by, source_namespace_of
from drsyncer.sync.result import ObjectError, Outcome, TargetResult, count_key


@dataclass(frozen=True)
class Doomed:
    """One object to delete: its key, type and the uid it had when selected."""

    key: Key
    ref: ResourceRef
    uid: str


def select_owned(
    objects: Iterable[tuple[ResourceRef, Obj]], replication: str, source_namespace: str
) -> list[Doomed]:
    """The objects owned by `replication` and copied from `source_namespace`, in delete order
    (dependents first). Objects already being deleted are left to finish."""
    found = []
    for ref, obj in objects:
        meta = obj.get("metadata") or {}
        if meta.get("deletionTimestamp") or not is_owned_by(obj, replication):
            continue
        if source_namespace_of(obj) != source_namespace:
            continue
        key = key_of({**obj, "apiVersion": obj.get("apiVersion") or ref.api_version, "kind": ref.kind})
        found.append(Doomed(key, ref, str(meta.get("uid") or "")))
    return sorted(found, key=lambda d: delete_order(d.key))


def _owned_candidates(client: ClusterClient, namespace: str) -> Iterable[tuple[ResourceRef, Obj]]:
    selector = f"{keys.LABEL_MANAGED_BY}={keys.MANAGED_BY_VALUE}"
    for ref in client.discovery.served().all_namespaced():
        if (ref.group, ref.plural) in WILDCARD_EXCLUDED or not {"list", "delete"} <= ref.verbs:
            continue
        try:
            objects = client.list(ref, namespace, label_selector=selector)  # reads the first page
        except Forbidden:
            # a sync lists every type it writes, so an identity that may not list a type (the
            # minimal roles of docs/cluster-access.md) has copied nothing of it
            continue
        for obj in objects:
            yield ref, obj


def cleanup_destination(
    client: ClusterClient, namespace: str, *, replication: str, source_namespace: str, dry_run: bool = False
) -> TargetResult:
    """Delete what `replication` copied from `source_namespace` into `namespace` on `client`'s cluster;
    deleted objects count as pruned. The namespace itself is kept (other tools may use it)."""
    started = time.monotonic()
    result = TargetResult(client.name, source_namespace, namespace, dry_run=dry_run)
    try:
        doomed = select_owned(list(_owned_candidates(client, namespace)), replication, source_namespace)
    except (ApiError, CategorisedError) as exc:
        result.error = f"destination cluster {client.name}: {exc.message}"
        result.error_category = exc.category
        return result.finish(time.monotonic() - started)
    for item in doomed:
        kind = count_key(item.key.group, item.key.kind)
        try:
            deleted = delete_copy(client, item.ref, namespace, item.key.name, uid=item.uid, dry_run=dry_run)
        except ApiError as exc:
            result.fail(kind, ObjectError(item.key.kind, namespace, item.key.name, exc.category, exc.message))
            continue
        # not deleted: recreated since it was listed, not the object this Replication wrote
        result.record(kind, Outcome.PRUNED if deleted else Outcome.SKIPPED)
    return result.finish(time.monotonic() - started)


__all__ = ["Doomed", "cleanup_destination", "select_owned"]
