"""Planning: compare what the source says with what a destination holds, and decide every write.

`plan` is pure: source objects and destination objects in, an ordered list of actions out. The
executor runs the actions; nothing here reads or writes a cluster, so a plan can be printed,
counted (dry run) or tested without one. `dryRun` does not change the plan, only whether it runs.

Decisions, per source object (keyed by group, kind, destination namespace and name):
- not selected → skip, with the reason;
- absent in the destination → create;
- present, written by this Replication from this source namespace, same source hash → unchanged;
- present, written by this Replication, different hash → update (the body keeps what the
  destination allocated), flagged when it changes immutable fields;
- present without drsyncer marks → update that adopts it (or skip, if `Rules.adopt_unowned` is off);
- present, written by another Replication or from another source namespace → skip (conflict).
Per destination object with no source object: prune, only when pruning is on and its marks name
this Replication and source namespace.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from drsyncer.api.immutability import Version
from drsyncer.sync import standby
from drsyncer.sync.hashing import stamp
from drsyncer.sync.immutable import ImmutableChange, immutable_changes, resolve_handling
from drsyncer.sync.merge import partial_body, update_body
from drsyncer.sync.objects import Key, Obj, key_of
from drsyncer.sync.ordering import delete_order, tier, write_order
from drsyncer.sync.ownership import mark, owner_of, source_hash_of, source_namespace_of
from drsyncer.sync.result import DeploymentScale, KindCounts, Outcome, Skip, count_key
from drsyncer.sync.rules import ImmutableHandling, Rules
from drsyncer.sync.select import skip_reason
from drsyncer.sync.tokens import accounts_of, is_service_account
from drsyncer.sync.transform import Scale, transform


class Op(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    PRUNE = "prune"
    SKIP = "skip"


_OUTCOME = {
    Op.CREATE: Outcome.CREATED,
    Op.UPDATE: Outcome.UPDATED,
    Op.UNCHANGED: Outcome.UNCHANGED,
    Op.PRUNE: Outcome.PRUNED,
    Op.SKIP: Outcome.SKIPPED,
}

REASON_CREATE = "not in the destination"
REASON_SOURCE_CHANGED = "source changed"
REASON_ADOPT = "adopting an existing object that carries no drsyncer ownership marks"
REASON_PRUNE = "deleted in the source"


@dataclass(frozen=True)
class Action:
    """One step of a plan. `body` is what to send: the new object (create) or the replacement (update)."""

    op: Op
    key: Key  # in the destination
    body: Obj | None = None
    reason: str = ""
    # create/update/unchanged: the complete transformed object with ownership marks and hash; a
    # Recreate of an immutable change creates this after deleting the existing object
    desired: Obj | None = None
    source_hash: str = ""
    immutable: ImmutableChange | None = None
    # update with an immutable change: the update the API accepts (immutable fields left as they are)
    partial_body: Obj | None = None
    # update/prune: the destination object's uid, a precondition so a delete never hits a newer object
    destination_uid: str = ""
    scale: Scale | None = None
    warnings: tuple[str, ...] = ()

    @property
    def count_key(self) -> str:
        return count_key(self.key.group, self.key.kind)

    @property
    def outcome(self) -> Outcome:
        """The outcome if the action runs as planned (what a dry run reports).

        An update held back by immutable handling NoChange writes nothing: it counts as skipped.
        """
        if self.held_back:
            return Outcome.SKIPPED
        return _OUTCOME[self.op]

    @property
    def held_back(self) -> bool:
        """An update with an immutable change that the handling NoChange leaves unapplied."""
        return self.immutable is not None and self.immutable.handling == ImmutableHandling.NO_CHANGE

    def skip_record(self) -> Skip:
        """Why this action writes nothing, as the result lists it."""
        if self.immutable is not None and self.held_back:
            return Skip(self.count_key, self.key.namespace, self.key.name,
                        f"held back: {self.immutable.describe()}", True, self.immutable.fields)
        return Skip(self.count_key, self.key.namespace, self.key.name, self.reason)

    @property
    def writes(self) -> bool:
        return self.op in (Op.CREATE, Op.UPDATE, Op.PRUNE)


@dataclass(frozen=True)
class Plan:
    """Actions in execution order: creates, updates, unchanged and skips by dependency order, then prunes
    in reverse dependency order."""

    actions: tuple[Action, ...] = ()
    source_namespace: str = ""
    destination_namespace: str = ""
    warnings: tuple[str, ...] = field(default=())
    # the destination's Kubernetes (major, minor), which decides what it refuses to change in place
    server_version: Version | None = None

    def __iter__(self) -> Iterator[Action]:
        return iter(self.actions)

    def __len__(self) -> int:
        return len(self.actions)

    def by_op(self, op: Op) -> list[Action]:
        return [a for a in self.actions if a.op == op]

    @property
    def writes(self) -> list[Action]:
        return [a for a in self.actions if a.writes]

    def stages(self) -> list[list[Action]]:
        """The writes grouped into stages that must run one after another (each stage's actions may run
        concurrently): create/update by dependency tier, then prunes by reverse tier."""
        stages: list[list[Action]] = []
        last: tuple[bool, int] | None = None
        for action in self.actions:
            if not action.writes:
                continue
            marker = (action.op == Op.PRUNE, tier(action.key.group, action.key.kind))
            if marker != last:
                stages.append([])
                last = marker
            stages[-1].append(action)
        return stages

    def counts(self) -> dict[str, KindCounts]:
        """Per-kind counts if every action succeeds: what a dry run reports."""
        counts: dict[str, KindCounts] = {}
        for action in self.actions:
            kind = counts.setdefault(action.count_key, KindCounts())
            kind.add(action.outcome)
            kind.held_back += action.held_back
        return counts

    def deployment_scales(self) -> list[DeploymentScale]:
        return [
            DeploymentScale(a.key.kind, a.key.namespace, a.key.name, a.scale.original, a.scale.replicas)
            for a in self.actions
            if a.scale is not None and a.op != Op.SKIP
        ]


def create_action(source: Mapping[str, Any], rules: Rules, *, destination_namespace: str) -> Action:
    """The create action for one selected source object: transformed, marked and hashed."""
    transformed = transform(source, rules, destination_namespace=destination_namespace)
    body = mark(transformed.body, rules, source)
    digest = stamp(body)
    return Action(
        Op.CREATE,
        key_of(body),
        body=body,
        reason=REASON_CREATE,
        desired=body,
        source_hash=digest,
        scale=transformed.scale,
        warnings=transformed.warnings,
    )


def plan(
    source: Iterable[Mapping[str, Any]],
    destination: Mapping[Key, Mapping[str, Any]],
    rules: Rules,
    *,
    source_namespace: str,
    destination_namespace: str,
    prune: bool,
    server_version: Version | None = None,
) -> Plan:
    """Plan one source namespace into one destination namespace.

    `source`: the objects read from the source namespace (every type being synced).
    `destination`: the objects of the same types in the destination namespace, keyed by `key_of`.
    `prune`: delete owned copies whose source is gone (normally `rules.prune_deleted`).
    `server_version`: the destination's (major, minor) from its /version; None when unknown.
    """
    actions: list[Action] = []
    present: set[Key] = set()
    source = source if isinstance(source, list) else list(source)
    # token Secrets are copied or not by the ServiceAccounts copied with them
    accounts = accounts_of(o for o in source if is_service_account(o) and skip_reason(o, rules) is None)
    for obj in source:
        key = key_of(obj, destination_namespace)
        if key in present:
            actions.append(Action(Op.SKIP, key, reason="listed twice in the source; the first copy is used"))
            continue
        present.add(key)
        reason = skip_reason(obj, rules, service_accounts=accounts)
        if reason is not None:
            actions.append(Action(Op.SKIP, key, reason=reason))
            continue
        wanted = create_action(obj, rules, destination_namespace=destination_namespace)
        existing = destination.get(key)
        if existing is not None:
            wanted = _against(wanted, obj, existing, rules, source_namespace, server_version)
        actions.append(wanted)

    actions.sort(key=lambda a: write_order(a.key))
    if prune:
        prunes = [
            Action(Op.PRUNE, key, reason=REASON_PRUNE, destination_uid=_uid(existing))
            for key, existing in destination.items()
            if key not in present and _prunable(key, existing, rules, source_namespace)
        ]
        prunes.sort(key=lambda a: delete_order(a.key))
        actions.extend(prunes)
    warnings = tuple(f"{a.key}: {w}" for a in actions for w in a.warnings)
    return Plan(tuple(actions), source_namespace, destination_namespace, warnings, server_version)


def _against(
    wanted: Action,
    source: Mapping[str, Any],
    existing: Mapping[str, Any],
    rules: Rules,
    source_namespace: str,
    server_version: Version | None,
) -> Action:
    """Decide between update, unchanged and conflict for a source object whose key exists already."""
    key = wanted.key
    owner = owner_of(existing)
    if (existing.get("metadata") or {}).get("deletionTimestamp"):
        return _skip(wanted, "the destination copy is being deleted; the next sync recreates it")
    if owner is not None and owner != rules.replication:
        return _skip(wanted, f"conflict: the destination object is managed by Replication {owner}")
    copied_from = source_namespace_of(existing)
    # a cluster-scoped object (a CRD) is shared by every namespace of the Replication
    if owner is not None and key.namespace and copied_from not in (None, source_namespace):
        return _skip(wanted, f"conflict: the destination object was copied from namespace {copied_from}")
    if owner is None and not rules.adopt_unowned:
        return _skip(wanted, "conflict: an object of this name exists without drsyncer ownership marks")
    if standby.failed_over(existing):
        return _skip(wanted, standby.FAILED_OVER_REASON)
    assert wanted.desired is not None
    if owner is not None and source_hash_of(existing) == wanted.source_hash:
        return replace(wanted, op=Op.UNCHANGED, body=None, reason="the destination copy has this source hash")
    body = update_body(wanted.desired, existing)
    changed = immutable_changes(wanted.desired, existing, server_version)
    immutable = partial = None
    warnings = wanted.warnings
    if changed:
        handling, decided_by, warning = resolve_handling(source, rules)
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
        destination_uid=_uid(existing),
        scale=wanted.scale,
        warnings=warnings,
    )


def _skip(wanted: Action, reason: str) -> Action:
    return Action(Op.SKIP, wanted.key, reason=reason, warnings=wanted.warnings)


def _prunable(key: Key, existing: Mapping[str, Any], rules: Rules, source_namespace: str) -> bool:
    # cluster-scoped objects (CRDs above all) may serve other namespaces and Replications: never pruned
    if not key.namespace or owner_of(existing) != rules.replication:
        return False
    if rules.is_excluded(key.group, key.kind, key.name):
        return False  # excludeResources: never copied, updated or pruned
    if (existing.get("metadata") or {}).get("deletionTimestamp") or standby.failed_over(existing):
        return False
    return source_namespace_of(existing) == source_namespace


def _uid(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("uid") or "")
