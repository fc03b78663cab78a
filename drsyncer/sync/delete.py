"""Deleting drsyncer's copies: the one delete path of pruning, cleanup after a deleted Replication
and the delete half of a recreate.

Every delete is conditional on the uid the object had when it was read, so an object replaced
since (deleted and created again, by anyone) is never deleted in its place.
"""

from __future__ import annotations

import time

from drsyncer.errors import CategorisedError, Category
from drsyncer.kube import ClusterClient, ResourceRef
from drsyncer.kube.client import Propagation
from drsyncer.kube.errors import Conflict
from drsyncer.sync.decide import uid_of


def delete_copy(
    client: ClusterClient,
    ref: ResourceRef,
    namespace: str | None,
    name: str,
    *,
    uid: str,
    propagation: Propagation = "Background",
    dry_run: bool = False,
) -> bool:
    """Delete the object if it still has `uid` (no precondition when `uid` is empty). True when it was
    deleted or was already gone; False when the uid precondition failed (409 Conflict: the object
    was replaced since it was read). Other failures raise their `ApiError`."""
    try:
        client.delete(ref, namespace, name, propagation=propagation, dry_run=dry_run, uid=uid or None)
    except Conflict:
        return False
    return True


def wait_gone(
    client: ClusterClient, ref: ResourceRef, namespace: str | None, name: str, uid: str, timeout_s: float
) -> None:
    """Poll until the object with `uid` no longer exists (finalizers done), up to `timeout_s` seconds.
    Raises `CategorisedError` WaitForNextSync naming its finalizers when it is still there."""
    deadline = time.monotonic() + timeout_s
    delay = 0.02
    while True:
        current = client.get(ref, namespace, name)
        if current is None or (uid and uid_of(current) != uid):
            return
        if time.monotonic() >= deadline:
            raise CategorisedError(
                Category.WAIT_FOR_NEXT_SYNC,
                (
                    f"deleted for a recreate but still present after {timeout_s:.0f}s "
                    f"(finalizers {(current.get('metadata') or {}).get('finalizers') or []}); "
                    "the next sync creates it"
                ),
            )
        time.sleep(delay)  # polling for the deletion to finish, bounded by the deadline
        delay = min(delay * 2, 1.0)


__all__ = ["delete_copy", "wait_gone"]
