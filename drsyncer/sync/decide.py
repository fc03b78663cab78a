"""The one decision about a destination object: given the copy drsyncer wants and what the destination
holds, create, update, leave unchanged, or skip (and why); and whether a leftover copy may be pruned.

Pure: objects in, an `Action` out. The planner calls `decide` for every selected source object with
the destination object it listed; the executor calls the same `decide` again on the object it reads
after a write met 409 Conflict, AlreadyExists or NotFound, and carries out what comes back. So an
object that changed between planning and writing (deleted, re-owned, updated by another run) is
treated exactly as a plan made at that moment would treat it.

The checks, in order, for a destination object that exists (docs/sync-semantics.md):
1. it is being deleted (has `deletionTimestamp`, finalizers pending) → skip, the next sync recreates it;
2. its marks name another Replication → skip (conflict);
3. it is namespaced and its marks name another source namespace → skip (conflict);
4. it carries no marks and adopting unmarked objects is off → skip (conflict);
5. it was brought up by `drsyncer failover` → skip: a sync never scales a failed-over copy back
   down (`drsyncer failback` returns it to standby);
6. its marks carry the wanted source hash and the wanted `synced-from` record (what it was made
   from, drsyncer.sync.provenance) → unchanged; the same hash under a stale record is an update that
   writes the record, so that the next resync finds the copy settled from metadata alone;
7. otherwise → update (the body keeps what the destination allocated), flagged with the immutable
   fields it changes and their handling.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from drsyncer.api import keys
from drsyncer.api.immutability import Version
from drsyncer.sync import standby
from drsyncer.sync.actions import REASON_ADOPT, REASON_CREATE, REASON_SOURCE_CHANGED, Action, Op
from drsyncer.sync.immutable import ImmutableChange, immutable_changes, resolve_handling
from drsyncer.sync.merge import partial_body, update_body
from drsyncer.sync.objects import Key, annotations_of
from drsyncer.sync.ownership import owner_of, source_hash_of, source_namespace_of
from drsyncer.sync.result import CONFLICT_PREFIX, KEPT_PREFIX
from drsyncer.sync.rules import Rules

REASON_BEING_DELETED = "the destination copy is being deleted; the next sync recreates it"
REASON_UNCHANGED = "the destination copy has this source hash"
REASON_UNMARKED = f"{CONFLICT_PREFIX}an object of this name exists without drsyncer ownership marks"


def decide(
    wanted: Action,
    existing: Mapping[str, Any] | None,
    rules: Rules,
    *,
    source_namespace: str,
    server_version: Version | None,
    source: Mapping[str, Any] | None = None,
) -> Action:
    """The action for one object.

    `wanted`: the create action of the transformed, marked and hashed copy (`plan.create_action`, or
    `wanted_again` of a planned action). `existing`: the destination object of the same key, None if
    absent. `source_namespace`: the namespace the copy comes from. `server_version`: the
    destination's (major, minor), which decides the immutable fields; None for the newest rules.
    `source`: the source object, whose labels choose the immutable handling (default: the copy's).
    Returns `wanted` itself when the object is absent, else an UNCHANGED, UPDATE or SKIP action.
    """
    if existing is None:
        return wanted
    key = wanted.key
    owner = owner_of(existing)
    if (existing.get("metadata") or {}).get("deletionTimestamp"):
        return _skip(wanted, REASON_BEING_DELETED)
    if owner is not None and owner != rules.replication:
        return _skip(wanted, f"{CONFLICT_PREFIX}the destination object is managed by Replication {owner}")
    copied_from = source_namespace_of(existing)
    # a cluster-scoped object (a CRD) is shared by every namespace of the Replication
    if owner is not None and key.namespace and copied_from not in (None, source_namespace):
        return _skip(
            wanted, f"{CONFLICT_PREFIX}the destination object was copied from namespace {copied_from}"
        )
    if owner is None and not rules.adopt_unowned:
        return _skip(wanted, REASON_UNMARKED)
    if standby.failed_over(existing):
        return _skip(wanted, standby.FAILED_OVER_REASON)
    assert wanted.desired is not None
    if (
        owner is not None
        and source_hash_of(existing) == wanted.source_hash
        and _same_record(wanted, existing)
    ):
        return replace(wanted, op=Op.UNCHANGED, body=None, reason=REASON_UNCHANGED)
    body = update_body(wanted.desired, existing)
    changed = immutable_changes(wanted.desired, existing, server_version)
    immutable = partial = None
    warnings = wanted.warnings
    if changed:
        handling, decided_by, warning = resolve_handling(wanted.desired if source is None else source, rules)
        immutable = ImmutableChange(changed, handling, decided_by)
        partial = partial_body(body, existing, changed)
        if warning:
            warnings = (*warnings, warning)
    return Action(
        Op.UPDATE,
        key,
        body=body,
        reason=REASON_SOURCE_CHANGED if owner is not None else REASON_ADOPT,
        desired=wanted.desired,
        source_hash=wanted.source_hash,
        immutable=immutable,
        partial_body=partial,
        destination_uid=uid_of(existing),
        scale=wanted.scale,
        warnings=warnings,
    )


def wanted_again(action: Action) -> Action:
    """The create action a planned create or update was decided from, to decide again on a fresh read."""
    if action.op == Op.CREATE:
        return action
    return Action(
        Op.CREATE,
        action.key,
        body=action.desired,
        reason=REASON_CREATE,
        desired=action.desired,
        source_hash=action.source_hash,
        scale=action.scale,
        warnings=action.warnings,
    )


def prunable(key: Key, existing: Mapping[str, Any], rules: Rules, source_namespace: str) -> bool:
    """Whether a destination object with no source object is this Replication's copy from
    `source_namespace`, to be deleted by pruning (or by cleanup after the Replication is deleted)."""
    # cluster-scoped objects (CRDs above all) may serve other namespaces and Replications: never pruned
    if not key.namespace or owner_of(existing) != rules.replication:
        return False
    if rules.is_excluded(key.group, key.kind, key.name):
        return False  # excludeResources: never copied, updated or pruned
    if (existing.get("metadata") or {}).get("deletionTimestamp") or standby.failed_over(existing):
        return False  # being deleted anyway, or brought up by a failover: the DR side owns it now
    return source_namespace_of(existing) == source_namespace


def kept_from_earlier_namespace(existing: Mapping[str, Any], namespace_created: str | None) -> str | None:
    """Why a copy that `prunable` would prune is kept, or None: it was created in the destination
    before the source namespace was (`namespace_created`, its creationTimestamp), so it was made from
    an earlier namespace of that name, not from one of this namespace's objects. A namespace deleted
    by mistake and recreated at once (by GitOps, by a Helm install) has none of the old objects yet:
    pruning would take every copy the DR cluster holds, exactly when they are the only ones left.
    Such copies are kept, and said to be, until someone deletes them (or the source has an object of
    that name again, whose copy it then becomes). Timestamps of two clusters are compared: their
    clocks must agree to within the time between a namespace's creation and its first sync."""
    copied = _timestamp((existing.get("metadata") or {}).get("creationTimestamp"))
    created = _timestamp(namespace_created)
    if copied is None or created is None or copied >= created:
        return None
    return (
        f"{KEPT_PREFIX}copied from an earlier source namespace of this name (the copy was created "
        f"{copied.isoformat()}, the source namespace {created.isoformat()}: it was deleted and "
        "created again since); delete the copy if it is no longer wanted"
    )


def _timestamp(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


def uid_of(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("uid") or "")


def _same_record(wanted: Action, existing: Mapping[str, Any]) -> bool:
    made_from = annotations_of(wanted.desired or {}).get(keys.ANNOTATION_SYNCED_FROM)
    return made_from is None or annotations_of(existing).get(keys.ANNOTATION_SYNCED_FROM) == made_from


def _skip(wanted: Action, reason: str) -> Action:
    return Action(Op.SKIP, wanted.key, reason=reason, warnings=wanted.warnings)


__all__ = [
    "REASON_BEING_DELETED",
    "REASON_UNCHANGED",
    "REASON_UNMARKED",
    "decide",
    "prunable",
    "uid_of",
    "wanted_again",
]
