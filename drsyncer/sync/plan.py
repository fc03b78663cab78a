"""Planning: compare what the source says with what a destination holds, and decide every write.

`plan` is pure: source objects and destination objects in, an ordered list of actions out. The
executor runs the actions; nothing here reads or writes a cluster, so a plan can be printed,
counted (dry run) or tested without one. `dryRun` does not change the plan, only whether it runs.

Per source object (keyed by group, kind, destination namespace and name): not selected → skip, with
the reason (drsyncer.sync.select); otherwise the transformed, marked copy (`create_action`) against the
destination object of its key is decided by `decide.decide` (create, update, unchanged, or skip
when the copy is being deleted or belongs to another Replication or source namespace). Per
destination object with no source object: prune, only when pruning is on and `decide.prunable`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from drsyncer.api import keys
from drsyncer.api.immutability import Version
from drsyncer.errors import CategorisedError, Category
from drsyncer.plugins.chain import Chain, Place, chain_for
from drsyncer.plugins.contract import Skip
from drsyncer.plugins.registry import Registry, installed
from drsyncer.sync import modifiers, provenance, standby
from drsyncer.sync.actions import (
    REASON_ADOPT,
    REASON_CREATE,
    REASON_PRUNE,
    REASON_SOURCE_CHANGED,
    Action,
    Op,
)
from drsyncer.sync.decide import REASON_UNCHANGED, decide, kept_from_earlier_namespace, prunable, uid_of
from drsyncer.sync.hashing import stamp
from drsyncer.sync.namespace_metadata import NamespaceMetadata
from drsyncer.sync.objects import Key, Obj, annotations_of, group_of, key_of
from drsyncer.sync.ordering import delete_order, tier, write_order
from drsyncer.sync.ownership import mark
from drsyncer.sync.result import DeploymentScale, KindCounts
from drsyncer.sync.rules import Rules
from drsyncer.sync.select import skip_reason
from drsyncer.sync.tokens import accounts_of, is_service_account
from drsyncer.sync.transform import Scale, transform

LISTED_TWICE = "listed twice in the source; the first copy is used"


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
    # the source namespace's labels and annotations its destination namespace carries; None: left alone
    namespace_metadata: NamespaceMetadata | None = None

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
        """The replica report if every action succeeds (what a dry run reports): only copies the plan
        would write (`Action.written_scale`), never one it leaves unchanged, skips, holds back or fails."""
        return [s for a in self.actions if (s := a.written_scale(a.outcome)) is not None]


def create_action(
    source: Mapping[str, Any],
    rules: Rules,
    *,
    destination_namespace: str,
    destination_cluster: str = "",
    plugins: Chain | None = None,
    digest: str | None = None,
) -> Action:
    """The create action for one selected source object: transformed, modified for `destination_cluster`
    (`spec.modifiers`), passed through the plugins' transforms (`spec.plugins`), marked, hashed and
    recording what it was made from (provenance.record); a skip when a plugin's transform leaves it
    out. Raises `CategorisedError` when a modifier (`modifiers.ModifierError`) or a plugin fails on it.

    `digest`: the rules digest, `provenance.rules_digest(rules, destination_namespace,
    destination_cluster)` ("" for the namespace of a cluster-scoped object, shared by every
    namespace), computed when not given."""
    transformed = transform(source, rules, destination_namespace=destination_namespace)
    body = modifiers.apply(transformed.body, rules.modifiers, cluster=destination_cluster, source=source)
    copy = plugins.apply(body) if plugins else body  # spec.plugins transforms
    if isinstance(copy, Skip):
        return Action(Op.SKIP, key_of(transformed.body), reason=copy.reason)
    # a plugin's transform may return what no server takes (modifiers check their own results)
    if copy is not body and (problem := modifiers.shape_problem(copy)) is not None:
        raise CategorisedError(Category.NON_RETRYABLE, f"spec.plugins: {problem}")
    if copy is not transformed.body:
        _keep_standby_records(copy, transformed.body)
    body = mark(copy, rules, source)
    hashed = stamp(body, rules.plugin_fingerprint)
    if digest is None:
        namespace = destination_namespace if key_of(source).namespace else ""
        digest = provenance.rules_digest(rules, namespace, destination_cluster)
    made_from = provenance.record(source, digest, hashed)
    if made_from:  # (stamp gave the body its annotations)
        body["metadata"]["annotations"][keys.ANNOTATION_SYNCED_FROM] = made_from
    return Action(
        Op.CREATE,
        key_of(body),
        body=body,
        reason=REASON_CREATE,
        desired=body,
        source_hash=hashed,
        scale=_scale_written(transformed.scale, body),
        warnings=transformed.warnings,
    )


def _scale_written(scale: Scale | None, body: Mapping[str, Any]) -> Scale | None:
    """The replica decision as the copy is written: a modifier or plugin may set `spec.replicas`
    itself, and the replica report (`deploymentScales`) says what the copy runs."""
    written = (body.get("spec") or {}).get("replicas")
    if scale is None or not isinstance(written, int) or written == scale.replicas:
        return scale
    return dataclasses.replace(scale, replicas=written)


def _keep_standby_records(body: Obj, transformed: Mapping[str, Any]) -> None:
    """Put back in `body` the standby records (`standby.RECORDS`) the transform wrote and a modifier or
    plugin removed (one dropping every annotation, say): failover brings the copy up from them, as
    drsyncer finds the copy by its ownership marks, which `mark` puts back the same way."""
    recorded = {k: v for k, v in annotations_of(transformed).items() if k in standby.RECORDS}
    if not recorded:
        return
    annotations = body["metadata"].get("annotations")
    if not isinstance(annotations, dict):
        annotations = body["metadata"]["annotations"] = {}
    for key, value in recorded.items():
        annotations.setdefault(key, value)


def plan(
    source: Iterable[Mapping[str, Any]],
    destination: Mapping[Key, Mapping[str, Any]],
    rules: Rules,
    *,
    source_namespace: str,
    destination_namespace: str,
    prune: bool,
    server_version: Version | None = None,
    copied_kinds: frozenset[tuple[str, str]] | None = None,
    namespace_metadata: NamespaceMetadata | None = None,
    destination_cluster: str = "",
    registry: Registry | None = None,
    settled: Collection[Key] = frozenset(),
    service_accounts: Iterable[Mapping[str, Any]] | None = None,
    source_namespace_created: str | None = None,
) -> Plan:
    """Plan one source namespace into one destination namespace.

    `source`: the objects read from the source namespace (every type being synced).
    `destination`: the objects of the same types in the destination namespace, keyed by `key_of`.
    `prune`: delete owned copies whose source is gone (normally `rules.prune_deleted`).
    `server_version`: the destination's (major, minor) from its /version; None when unknown.
    `copied_kinds`: (group, kind) of every type the run copies (its resolved resourceTypes), for the
    rule that skips objects generated by a copied object; None takes the kinds present in `source`.
    `namespace_metadata`: what the destination namespace carries of the source's (namespace_metadata.select).
    `destination_cluster`: the destination RemoteCluster's name, which decides the modifiers that apply
    and which plugins are told.
    `registry`: the installed plugins `rules.plugins` are looked up in (default: this process's).
    `settled`: keys whose copy records that it was made from the source object as it is now
    (provenance.settled): selected, they are unchanged without being transformed, and their source
    and destination entries may be metadata only.
    `service_accounts`: the namespace's ServiceAccounts, when `source` is only a part of the namespace
    (they decide which token Secrets are copied); None takes the ones in `source`.
    `source_namespace_created`: the source namespace's creationTimestamp; copies created before it
    are kept rather than pruned (decide.kept_from_earlier_namespace).

    An object whose modifier or plugin hook fails gets an `Op.FAIL` action: it is reported, never
    written unmodified, and its existing copy is neither updated nor pruned.
    Raises `CategorisedError` (NonRetryable) when a plugin of `rules.plugins` is not installed or
    rejects its parameters.
    """
    chain = _plugins(rules, source_namespace, destination_cluster, destination_namespace, registry)
    digests = {
        True: provenance.rules_digest(rules, destination_namespace, destination_cluster),
        # cluster-scoped: one copy for every namespace
        False: provenance.rules_digest(rules, "", destination_cluster),
    }
    actions: list[Action] = []
    present: set[Key] = set()
    source = source if isinstance(source, list) else list(source)
    if copied_kinds is None:
        copied_kinds = frozenset((group_of(o), o.get("kind") or "") for o in source)
    # token Secrets are copied or not by the ServiceAccounts copied with them
    accounts = accounts_of(
        o
        for o in (source if service_accounts is None else service_accounts)
        if is_service_account(o) and skip_reason(o, rules) is None
    )
    for obj in source:
        key = key_of(obj, destination_namespace)
        if key in present:
            actions.append(Action(Op.SKIP, key, reason=LISTED_TWICE))
            continue
        present.add(key)
        try:
            reason = skip_reason(
                obj, rules, service_accounts=accounts, copied_kinds=copied_kinds, plugins=chain
            )
        except CategorisedError as exc:  # a plugin's filter failed: this object only
            actions.append(Action(Op.FAIL, key, reason=exc.message))
            continue
        if reason is not None:
            actions.append(Action(Op.SKIP, key, reason=reason))
            continue
        if key in settled:
            actions.append(Action(Op.UNCHANGED, key, reason=REASON_UNCHANGED))
            continue
        try:
            wanted = create_action(
                obj,
                rules,
                destination_namespace=destination_namespace,
                destination_cluster=destination_cluster,
                plugins=chain,
                digest=digests[bool(key.namespace)],
            )
        except CategorisedError as exc:  # a modifier or a plugin's transform failed: this object only
            actions.append(Action(Op.FAIL, key, reason=exc.message))
            continue
        if wanted.op == Op.SKIP:
            actions.append(wanted)
            continue
        actions.append(
            decide(
                wanted,
                destination.get(key),
                rules,
                source_namespace=source_namespace,
                server_version=server_version,
                source=obj,
            )
        )

    actions.sort(key=lambda a: write_order(a.key))
    if prune:
        actions.extend(prune_actions(destination, present, rules, source_namespace, source_namespace_created))
    warnings = tuple(f"{a.key}: {w}" for a in actions for w in a.warnings)
    return Plan(
        tuple(actions), source_namespace, destination_namespace, warnings, server_version, namespace_metadata
    )


def _plugins(
    rules: Rules,
    source_namespace: str,
    destination_cluster: str,
    destination_namespace: str,
    registry: Registry | None,
) -> Chain | None:
    if not rules.plugins:
        return None
    place = Place(
        rules.replication, rules.source_cluster, source_namespace, destination_cluster, destination_namespace
    )
    return chain_for(rules.plugins, installed() if registry is None else registry, place)


def prune_actions(
    destination: Mapping[Key, Mapping[str, Any]],
    present: Collection[Key],
    rules: Rules,
    source_namespace: str,
    namespace_created: str | None = None,
) -> list[Action]:
    """The prunes of a plan, in delete order: the destination objects (metadata suffices) whose key is
    not in `present` (the keys of every source object, at the destination) and that `prunable` says
    are this Replication's copies from `source_namespace`; each made before the source namespace
    was created (`namespace_created`) is a skip instead (decide.kept_from_earlier_namespace)."""
    prunes: list[Action] = []
    for key, existing in destination.items():
        if key in present or not prunable(key, existing, rules, source_namespace):
            continue
        if (why := kept_from_earlier_namespace(existing, namespace_created)) is not None:
            prunes.append(Action(Op.SKIP, key, reason=why))
        else:
            prunes.append(Action(Op.PRUNE, key, reason=REASON_PRUNE, destination_uid=uid_of(existing)))
    prunes.sort(key=lambda a: delete_order(a.key))
    return prunes


__all__ = [
    "LISTED_TWICE",
    "REASON_ADOPT",
    "REASON_CREATE",
    "REASON_PRUNE",
    "REASON_SOURCE_CHANGED",
    "Action",
    "Op",
    "Plan",
    "create_action",
    "plan",
    "prune_actions",
]
