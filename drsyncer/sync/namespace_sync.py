"""One source namespace synced into one or more destinations: read, plan, execute.

`sync_namespace` is the unit of work a scheduled task runs and what `drsyncer sync` runs per
namespace. Its inputs are plain values (clients, `Rules`, namespace names), its output the
`TargetResult` of each destination. The source namespace is read once and planned against every
destination; destinations run side by side, and one that fails (unreachable, credentials
rejected...) gets a Failed result naming it and why while the others complete.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from dataclasses import dataclass, field

from drsyncer.api.immutability import Version, parse_version
from drsyncer.errors import CategorisedError, Category
from drsyncer.kube import ClusterClient, ResourceRef
from drsyncer.kube.client import NAMESPACES
from drsyncer.kube.errors import Forbidden, NotServed
from drsyncer.plugins import chain as plugins
from drsyncer.plugins.registry import installed
from drsyncer.sync import namespace_metadata
from drsyncer.sync.execute import CRD_GROUP, Limits, execute
from drsyncer.sync.objects import Key, Obj, is_builtin_group, key_of
from drsyncer.sync.plan import plan
from drsyncer.sync.result import RunSummary, TargetResult
from drsyncer.sync.rules import Rules

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Destination:
    """Where one source namespace goes: a cluster and the namespace name there."""

    client: ClusterClient
    namespace: str


@dataclass
class SourceSnapshot:
    """The source namespace as read: its objects of the synced types (CRDs first) and those types."""

    namespace: str
    refs: list[ResourceRef]
    objects: list[Obj] = field(default_factory=list)
    crds: list[Obj] = field(default_factory=list)  # the definitions of the custom types, if synced
    checked: bool = True  # False: the identity may not get Namespaces, so existence was not checked
    # the source Namespace as read (its labels and annotations are copied); None when not readable
    namespace_object: Obj | None = None

    @property
    def kinds(self) -> frozenset[tuple[str, str]]:
        """(group, kind) of every type read: what the run copies."""
        return frozenset((ref.group, ref.kind) for ref in self.refs)


def read_source(client: ClusterClient, rules: Rules, namespace: str) -> SourceSnapshot:
    """List every synced type in the source namespace (paged), plus the CRDs of custom types when
    `syncCRDs` is on."""
    found = _require_namespace(client, namespace)
    refs = client.discovery.resolve_many(rules.resource_types)
    snapshot = SourceSnapshot(namespace, refs, checked=found is not None, namespace_object=found)
    for ref in refs:
        snapshot.objects.extend(_lean(obj) for obj in client.list(ref, namespace))
    if rules.sync_crds:
        custom = [r for r in refs if not is_builtin_group(r.group)]
        if custom:
            crd_ref = client.resolve(f"customresourcedefinitions.{CRD_GROUP}")
            for ref in custom:
                crd = client.get(crd_ref, None, f"{ref.plural}.{ref.group}")
                if crd is not None:
                    snapshot.crds.append(crd)
    return snapshot


def _require_namespace(client: ClusterClient, namespace: str) -> Obj | None:
    """The Namespace object; raise when it is absent, None when the identity may not get Namespaces."""
    # An absent source namespace must not read as "every object was deleted": with pruning on, that
    # would empty the DR copies exactly when the source cluster came back blank after a disaster.
    try:
        found = client.get(NAMESPACES, None, namespace)
    except Forbidden:
        return None  # allowed to read the namespace's objects but not Namespaces
    if found is None:
        raise CategorisedError(
            Category.WAIT_FOR_NEXT_SYNC,
            "the namespace does not exist; nothing is copied or pruned until it does",
        )
    # A namespace being deleted loses its objects one by one over seconds: the same danger
    if (found.get("metadata") or {}).get("deletionTimestamp"):
        raise CategorisedError(
            Category.WAIT_FOR_NEXT_SYNC,
            "the namespace is being deleted; nothing is copied or pruned while it is",
        )
    return found


def read_destination(client: ClusterClient, snapshot: SourceSnapshot, namespace: str) -> dict[Key, Obj]:
    """The destination's objects of the synced types in `namespace`, keyed like the plan keys them.

    A type the destination does not serve yet (a custom resource whose CRD is about to be copied)
    has no objects there.
    """
    existing: dict[Key, Obj] = {}
    for ref in snapshot.refs:
        try:
            there = client.resolve(ref.group_resource)
        except NotServed:
            continue  # (any other failure to answer is raised: not the same as "not served")
        for obj in client.list(there, namespace):
            existing[key_of(obj)] = _lean(obj)
    if snapshot.crds:
        crd_ref = client.resolve(f"customresourcedefinitions.{CRD_GROUP}")
        for crd in snapshot.crds:
            found = client.get(crd_ref, None, crd["metadata"]["name"])
            if found is not None:
                existing[key_of(found)] = found
    return existing


def destination_version(client: ClusterClient) -> Version | None:
    """The destination's Kubernetes (major, minor), from the /version its client has read (or reads
    now); None when it cannot be told, and then the newest known rules of immutability apply."""
    try:
        return parse_version(client.known_version())
    except CategorisedError as exc:
        log.warning("reading the version of %s failed: %s", client.name, exc)
        return None


def _lean(obj: Obj) -> Obj:
    # managedFields is often the largest part of an object and nothing in planning reads it; at 10k
    # objects per namespace dropping it as each object arrives saves tens of megabytes
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
    return obj


def sync_namespace(
    source: ClusterClient,
    destinations: Sequence[Destination],
    rules: Rules,
    *,
    source_namespace: str,
    dry_run: bool | None = None,
    prune: bool | None = None,
    limits: Limits | None = None,
) -> list[TargetResult]:
    """Sync `source_namespace` of the source cluster into every destination; one result per destination.

    `dry_run` and `prune` default to the Replication's `dryRun` and `pruneDeleted`.
    """
    dry_run = rules.dry_run if dry_run is None else dry_run
    prune = rules.prune_deleted if prune is None else prune
    started = time.monotonic()
    if not destinations:
        return []
    unusable = plugins.problems(rules.plugins, installed())
    if unusable:  # before reading anything: no destination can be planned without its plugins
        message = f"this process cannot run the Replication's plugins: {'; '.join(unusable)}"
        return [
            _failed(d, source_namespace, message, Category.NON_RETRYABLE, dry_run, started)
            for d in destinations
        ]
    try:
        snapshot = read_source(source, rules, source_namespace)
    except CategorisedError as exc:
        message = f"source cluster {source.name}, namespace {source_namespace}: {exc.message}"
        return [_failed(d, source_namespace, message, exc.category, dry_run, started) for d in destinations]
    except Exception as exc:  # reported on every target rather than lost in a worker's log
        log.exception("reading %s from %s failed", source_namespace, source.name)
        message = (
            f"source cluster {source.name}, namespace {source_namespace}: internal error: "
            f"{type(exc).__name__}: {exc}"
        )
        return [
            _failed(d, source_namespace, message, Category.NON_RETRYABLE, dry_run, started)
            for d in destinations
        ]

    def one(destination: Destination) -> TargetResult:
        return _sync_destination(snapshot, destination, rules, dry_run=dry_run, prune=prune, limits=limits)

    if len(destinations) == 1:
        return [one(destinations[0])]
    with ThreadPoolExecutor(len(destinations), thread_name_prefix="sync-destination") as pool:
        # each thread writes in a copy of this context: the audit log's actor goes with it
        futures = [pool.submit(copy_context().run, one, d) for d in destinations]
        return [f.result() for f in futures]


def _sync_destination(
    snapshot: SourceSnapshot,
    destination: Destination,
    rules: Rules,
    *,
    dry_run: bool,
    prune: bool,
    limits: Limits | None,
) -> TargetResult:
    started = time.monotonic()
    client = destination.client
    if prune and not snapshot.checked and not snapshot.objects:
        # objects prove the namespace exists; none, unchecked, may be a namespace that is gone
        return _failed(
            destination,
            snapshot.namespace,
            "the source namespace lists no objects and the source identity may not get "
            "Namespaces to tell an empty namespace from an absent one; nothing is pruned",
            Category.WAIT_FOR_NEXT_SYNC,
            dry_run,
            started,
        )
    try:
        existing = read_destination(client, snapshot, destination.namespace)
        the_plan = plan(
            [*snapshot.crds, *snapshot.objects],
            existing,
            rules,
            source_namespace=snapshot.namespace,
            destination_namespace=destination.namespace,
            prune=prune,
            server_version=destination_version(client),
            copied_kinds=snapshot.kinds,
            namespace_metadata=namespace_metadata.select(snapshot.namespace_object, rules),
            destination_cluster=client.name,
        )
        del existing  # the plan holds what it needs; the rest of the listing can go
        result = TargetResult(client.name, snapshot.namespace, destination.namespace)
        return execute(the_plan, client, rules, dry_run=dry_run, limits=limits, result=result)
    except CategorisedError as exc:
        return _failed(
            destination,
            snapshot.namespace,
            f"destination cluster {client.name}: {exc.message}",
            exc.category,
            dry_run,
            started,
        )
    except Exception as exc:  # one destination's surprise must not take the others down
        log.exception("sync of %s into %s failed", snapshot.namespace, client.name)
        return _failed(
            destination,
            snapshot.namespace,
            f"destination cluster {client.name}: internal error: {type(exc).__name__}: {exc}",
            Category.NON_RETRYABLE,
            dry_run,
            started,
        )


def _failed(
    destination: Destination,
    source_namespace: str,
    message: str,
    category: Category,
    dry_run: bool,
    started: float,
) -> TargetResult:
    result = TargetResult(
        destination.client.name,
        source_namespace,
        destination.namespace,
        dry_run=dry_run,
        error=message,
        error_category=category,
    )
    return result.finish(time.monotonic() - started)


def summarise(replication: str, results: Sequence[TargetResult], run_id: str = "") -> RunSummary:
    return RunSummary(replication, list(results), run_id)


__all__ = [
    "Destination",
    "SourceSnapshot",
    "destination_version",
    "read_destination",
    "read_source",
    "summarise",
    "sync_namespace",
]
