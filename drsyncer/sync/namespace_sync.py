"""One source namespace synced into one or more destinations: read, plan, execute.

`sync_namespace` is the unit of work a scheduled task runs and what `drsyncer sync` runs per
namespace. Its inputs are plain values (clients, `Rules`, namespace names), its output the
`TargetResult` of each destination. The source namespace is read once and planned against every
destination; destinations run side by side, and one that fails (unreachable, credentials
rejected...) gets a Failed result naming it and why while the others complete.
"""

from __future__ import annotations

import functools
import itertools
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import wait
from contextvars import copy_context
from dataclasses import dataclass, field
from typing import Any

from drsyncer.api.immutability import Version, parse_version
from drsyncer.errors import CategorisedError, Category
from drsyncer.kube import ClusterClient, ResourceRef, journal
from drsyncer.kube.client import NAMESPACES
from drsyncer.kube.errors import Forbidden, NotServed
from drsyncer.plugins import chain as plugins
from drsyncer.plugins.registry import installed
from drsyncer.sync import namespace_metadata
from drsyncer.sync.actions import REASON_PRUNE, Action, Op
from drsyncer.sync.crd_wait import CRD_KIND
from drsyncer.sync.decide import kept_from_earlier_namespace, prunable, uid_of
from drsyncer.sync.execute import CRD_GROUP, Limits, execute
from drsyncer.sync.objects import Key, Obj, is_builtin_group, key_of
from drsyncer.sync.ordering import delete_order, rank
from drsyncer.sync.plan import LISTED_TWICE, Plan, plan
from drsyncer.sync.provenance import (
    copy_marks,
    is_settled,
    metadata_decides,
    needs_body,
    rules_digest,
    run_digest,
)
from drsyncer.sync.result import KindCounts, Outcome, RunSummary, Skip, TargetResult, count_key
from drsyncer.sync.rules import Rules
from drsyncer.sync.select import skip_reason
from drsyncer.sync.threads import kept_pool, start_threads
from drsyncer.sync.watermark import (
    FeedKey,
    FeedState,
    Watermarks,
    feed_keys,
    holds,
    make_mark,
    mark_key,
    settled_result,
)

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
    snapshot.crds = _source_crds(client, rules, refs)
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
    watermarks: Watermarks | None = None,
    replication_uid: str = "",
    trusted: bool = False,
) -> list[TargetResult]:
    """Sync `source_namespace` of the source cluster into every destination; one result per destination.

    `dry_run` and `prune` default to the Replication's `dryRun` and `pruneDeleted`.

    With `watermarks` (and the Replication's `replication_uid`), a clean run records a watermark per
    destination; a `trusted` run (a scheduled one) reports a destination whose watermark holds
    without reading anything (drsyncer.sync.watermark).

    What is read (docs/sync-semantics.md, "What a sync reads"): both sides' objects as metadata only
    (PartialObjectMetadataList); a copy whose `synced-from` record matches its source's metadata is
    unchanged without either body being read (drsyncer.sync.provenance). Only the sources of the
    other copies are read in full (a GET each when few, else a paged list), `limits.chunk` at a time,
    each chunk planned and written to every destination before the next is read; the destination
    objects they would replace are read in full too.
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
    memory = _Memory.begin(
        watermarks, source, destinations, rules, source_namespace, replication_uid, dry_run, prune
    )
    settled = memory.settled(time.time()) if memory is not None and trusted else {}
    remaining = [d for i, d in enumerate(destinations) if i not in settled]
    results: list[TargetResult] = []
    if remaining:
        with journal.recording() as writes:
            results = _sync(source, remaining, rules, source_namespace, dry_run, prune, limits, started)
        if memory is not None:
            memory.finish([i for i in range(len(destinations)) if i not in settled], results, writes)
    done = iter(results)
    return [
        settled[i].finish(time.monotonic() - started) if i in settled else next(done)
        for i in range(len(destinations))
    ]


def _sync(
    source: ClusterClient,
    destinations: Sequence[Destination],
    rules: Rules,
    source_namespace: str,
    dry_run: bool,
    prune: bool,
    limits: Limits | None,
    started: float,
) -> list[TargetResult]:
    targets: list[_Target] = []
    try:
        snapshot = _read_source_index(source, rules, source_namespace)
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

    # the process's threads for destinations (drsyncer.sync.threads), not new ones per namespace; their
    # work waits only on the executor's pool, never on this one
    pool = kept_pool("sync-destination", _DESTINATION_THREADS_MAX)

    def each(among: Sequence[_Target], *works: Callable[[_Target], None]) -> None:
        # each thread works in a copy of this context: the audit log's actor goes with it
        futures = [pool.submit(copy_context().run, _guarded, w, t) for t in among for w in works]
        try:
            for future in futures:
                future.result()
        finally:
            wait(futures)  # interrupted (a time limit), the run still ends with no step of it running

    targets = [_Target(d, snapshot, rules, dry_run, prune, limits, started) for d in destinations]
    # the destination namespace's labels are kept in step while its objects are listed, unless
    # an empty source namespace may turn out absent (checked below) and nothing may be written
    early = snapshot.checked or not prune
    each(targets, _Target.survey, *((_Target.keep_namespace,) if early else ()))
    try:
        snapshot.classify(source, [t for t in targets if t.alive])
        if prune and not snapshot.checked and not snapshot.count:
            # objects prove the namespace exists; none, unchecked, may be a namespace that is gone
            for target in targets:
                target.fail(
                    "the source namespace lists no objects and the source identity may not get "
                    "Namespaces to tell an empty namespace from an absent one; nothing is pruned",
                    Category.WAIT_FOR_NEXT_SYNC,
                )
        if not early:
            each([t for t in targets if t.alive], _Target.keep_namespace)
        for target in targets:
            target.absorb_namespace()
        accounts = snapshot.service_accounts(source)
        for gk, part in snapshot.bodies(source, (limits or Limits()).chunk):
            live = [t for t in targets if t.alive and (gk == _CRDS or t.needed.get(gk))]
            each(live, functools.partial(_Target.write, gk=gk, part=part, accounts=accounts))
    except CategorisedError as exc:
        for target in targets:
            target.fail(
                f"source cluster {source.name}, namespace {source_namespace}: {exc.message}", exc.category
            )
    if prune:
        each([t for t in targets if t.alive], _Target.prune)
    return [t.finish() for t in targets]


class _Memory:
    """The watermarks of one namespace's run: the feed states read before anything else, and what
    each destination's watermark must say (drsyncer.sync.watermark)."""

    def __init__(
        self,
        store: Watermarks,
        source_keys: list[FeedKey],
        targets: list[tuple[str, str, list[FeedKey]]],
        start: dict[FeedKey, FeedState | None],
        marks: Mapping[str, Mapping[str, Any] | None],
    ) -> None:
        self.store = store
        self.source_keys = source_keys
        self.targets = targets  # per destination: (watermark name, run digest, its feed keys)
        self.start = start
        self.marks = marks  # the watermarks as they were when the feed states were read
        self.at = time.time()

    @classmethod
    def begin(
        cls,
        store: Watermarks | None,
        source: ClusterClient,
        destinations: Sequence[Destination],
        rules: Rules,
        source_namespace: str,
        replication_uid: str,
        dry_run: bool,
        prune: bool,
    ) -> _Memory | None:
        """Start the feeds and read their states, before anything is listed; None when this run
        cannot use watermarks (a dry run, plugins, copied CRDs, or the store failing: the run then
        reads everything, as without a store)."""
        if store is None or not replication_uid or dry_run or not metadata_decides(rules):
            return None
        try:
            refs = source.discovery.resolve_many(rules.resource_types)
            if rules.sync_crds and any(not is_builtin_group(r.group) for r in refs):
                return None  # CRDs have no feed
            store.watch(source, [*refs, NAMESPACES])
            source_keys = feed_keys(source, refs, source_namespace)
            targets = []
            for d in destinations:
                there = [d.client.resolve(r.group_resource) for r in refs]
                store.watch(d.client, [*there, NAMESPACES])
                digest = run_digest(rules, source_namespace, d.namespace, d.client.identity)
                targets.append(
                    (
                        mark_key(replication_uid, source_namespace, d.client, d.namespace),
                        f"{digest}/prune={prune}",
                        feed_keys(d.client, there, d.namespace),
                    )
                )
            every = source_keys + [k for t in targets for k in t[2]]
            # the feeds' states and the watermarks in one read: an unchanged namespace needs no other
            states, marks = store.read(every, [t[0] for t in targets])
            return cls(store, source_keys, targets, states, marks)
        except Exception as exc:  # watermarks only save reads; without them the run reads everything
            log.warning("%s: change feeds not used for this run: %s", source_namespace, exc)
            return None

    def settled(self, now: float) -> dict[int, TargetResult]:
        """The destinations whose watermark holds, by index, with their results."""
        found: dict[int, TargetResult] = {}
        for i, (name, digest, keys) in enumerate(self.targets):
            mark = self.marks.get(name)
            states = {k: self.start.get(k) for k in [*self.source_keys, *keys]}
            if mark is not None and holds(mark, digest, states, now):
                found[i] = settled_result(mark)
                log.info(
                    "%s into %s/%s: nothing changed since the run of %s (change feeds); nothing read",
                    found[i].source_namespace,
                    found[i].destination_cluster,
                    found[i].destination_namespace,
                    time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(mark.get("at") or 0))),
                )
        return found

    def finish(self, indexes: list[int], results: Sequence[TargetResult], writes: journal.Journal) -> None:
        """Record the watermark of every destination that synced cleanly; forget the others'."""
        for i, result in zip(indexes, results, strict=True):
            name, digest, keys = self.targets[i]
            states = {k: self.start.get(k) for k in [*self.source_keys, *keys]}
            own = {k: writes.of(k[0], k[1], k[2]) for k in keys}
            known = {k: w for k, w in own.items() if w is not None}
            # too many writes to remember: no watermark, the next run reads
            mark = make_mark(digest, self.at, states, result, known) if len(known) == len(own) else None
            try:
                if mark is None:
                    self.store.drop(name)
                else:
                    self.store.save(name, mark)
            except Exception as exc:
                log.warning("writing watermark %s failed: %s", name, exc)


def _guarded(work: Callable[[_Target], None], target: _Target) -> None:
    """Run one destination's step; a failure fails that destination only."""
    try:
        work(target)
    except CategorisedError as exc:
        target.fail(f"destination cluster {target.client.name}: {exc.message}", exc.category)
    except Exception as exc:  # one destination's surprise must not take the others down
        log.exception("sync of %s into %s failed", target.snapshot.namespace, target.client.name)
        target.fail(
            f"destination cluster {target.client.name}: internal error: {type(exc).__name__}: {exc}",
            Category.NON_RETRYABLE,
        )


# destinations' steps under way at once in a process (two per destination of a namespace sync)
_DESTINATION_THREADS_MAX = 64


def start_destination_threads(count: int, wait_s: float) -> int:
    """Start `count` of the process's destination threads ahead of its first sync
    (drsyncer.sync.threads.start_threads); returns how many started."""
    return start_threads("sync-destination", _DESTINATION_THREADS_MAX, count, wait_s)


# up to this many source objects of one type are read with a list by name each; more with a paged
# list of the type
ONE_BY_ONE = 16

GroupKind = tuple[str, str]
_CRDS: GroupKind = (CRD_GROUP, CRD_KIND)  # the part of the CRDs of the custom types copied


@dataclass
class _Index:
    """The source namespace as its metadata lists show it, reduced to names, plus what must be read
    in full: the names of each type some destination needs the body of."""

    namespace: str
    refs: list[ResourceRef]
    rules: Rules
    crds: list[Obj] = field(default_factory=list)  # the definitions of the custom types, if synced
    checked: bool = True  # False: the identity may not get Namespaces, so existence was not checked
    namespace_object: Obj | None = None
    count: int = 0  # objects listed
    present: dict[GroupKind, set[str]] = field(default_factory=dict)  # names of every object listed
    needed: dict[GroupKind, set[str]] = field(default_factory=dict)  # names some destination needs in full
    full: dict[GroupKind, list[Obj]] = field(default_factory=dict)  # bodies a server sent unasked

    @property
    def kinds(self) -> frozenset[GroupKind]:
        return frozenset((ref.group, ref.kind) for ref in self.refs)

    def classify(self, client: ClusterClient, targets: Sequence[_Target]) -> None:
        """List every synced type as metadata, page by page: count each object that a target finds
        skipped or settled, and note the names a target needs in full."""
        kinds = self.kinds
        for ref in self.refs:
            gk = (ref.group, ref.kind)
            present = self.present.setdefault(gk, set())
            needed = self.needed.setdefault(gk, set())
            stream = client.list(ref, self.namespace, metadata_only=True)
            for item in stream:
                name = (item.get("metadata") or {}).get("name") or ""
                if name in present:  # (a list that changed between pages)
                    for target in targets:
                        target.result.skip(Skip(count_key(*gk), target.namespace, name, LISTED_TWICE))
                    continue
                present.add(name)
                self.count += 1
                body = needs_body(item) or not metadata_decides(self.rules)
                reason = None if body else skip_reason(item, self.rules, copied_kinds=kinds)
                wanted = False
                for target in targets:
                    wanted |= target.classify(gk, name, item, reason)
                if wanted:
                    needed.add(name)
                    if not stream.metadata_only:
                        self.full.setdefault(gk, []).append(_lean(item))

    def service_accounts(self, client: ClusterClient) -> list[Obj] | None:
        """The namespace's ServiceAccounts in full when they are copied (token Secrets depend on them)."""
        for ref in self.refs:
            if (ref.group, ref.kind) == ("", "ServiceAccount"):
                accounts = [_lean(o) for o in client.list(ref, self.namespace)]
                self.full[("", "ServiceAccount")] = [
                    a
                    for a in accounts
                    if a["metadata"]["name"] in self.needed.get(("", "ServiceAccount"), ())
                ]
                return accounts
        return None

    def bodies(self, client: ClusterClient, chunk: int) -> Iterator[tuple[GroupKind, list[Obj]]]:
        """The needed source objects in full, by type in write order, at most `chunk` at a time; the
        CRDs (read with the index, `_CRDS`) come first."""
        if self.crds:
            yield _CRDS, list(self.crds)
        for ref in sorted(self.refs, key=lambda r: rank(r.group, r.kind)):
            gk = (ref.group, ref.kind)
            needed = self.needed.get(gk)
            if not needed:
                continue
            objects: Iterator[Obj]
            if gk in self.full:
                objects = iter(self.full.pop(gk))
            elif len(needed) <= ONE_BY_ONE:
                # a list by name rather than a GET: the source identity is granted list and watch,
                # not get (docs/cluster-access.md); a name deleted since the index lists nothing
                objects = (
                    _lean(o)
                    for name in sorted(needed)
                    for o in client.list(ref, self.namespace, field_selector=f"metadata.name={name}")
                )
            else:
                objects = (
                    _lean(o)
                    for o in client.list(ref, self.namespace)
                    if (o.get("metadata") or {}).get("name") in needed
                )
            while part := list(itertools.islice(objects, chunk)):
                yield gk, part


def _read_source_index(client: ClusterClient, rules: Rules, namespace: str) -> _Index:
    found = _require_namespace(client, namespace)
    refs = client.discovery.resolve_many(rules.resource_types)
    index = _Index(namespace, refs, rules, checked=found is not None, namespace_object=found)
    index.crds = _source_crds(client, rules, refs)
    return index


def _source_crds(client: ClusterClient, rules: Rules, refs: Sequence[ResourceRef]) -> list[Obj]:
    crds: list[Obj] = []
    if rules.sync_crds:
        custom = [r for r in refs if not is_builtin_group(r.group)]
        if custom:
            crd_ref = client.resolve(f"customresourcedefinitions.{CRD_GROUP}")
            for ref in custom:
                crd = client.get(crd_ref, None, f"{ref.plural}.{ref.group}")
                if crd is not None:
                    crds.append(crd)
    return crds


class _Target:
    """One destination of the run: what its metadata list showed, and its result so far."""

    def __init__(
        self,
        destination: Destination,
        snapshot: _Index,
        rules: Rules,
        dry_run: bool,
        prune: bool,
        limits: Limits | None,
        started: float,
    ) -> None:
        self.destination = destination
        self.client = destination.client
        self.namespace = destination.namespace
        self.snapshot = snapshot
        self.rules = rules
        self.dry_run = dry_run
        self.pruning = prune
        self.limits = limits
        self.started = started
        self.result = TargetResult(self.client.name, snapshot.namespace, self.namespace, dry_run=dry_run)
        self.alive = True
        self.digest = rules_digest(rules, self.namespace, self.client.name)
        self.version: Version | None = None
        self.ns_metadata = namespace_metadata.select(snapshot.namespace_object, rules)
        # per type, name → the copy's marks (provenance.copy_marks; None: some other object) and,
        # when pruning, the uid of each copy it may delete: a few strings per object, never the
        # object. A name's marks go once its source is classified and its copy found settled or
        # skipped (`classify`): they are not looked at again, and at 100,000 objects the listing's
        # strings would otherwise be held twice (here and in the source's names) at the peak
        self.marks: dict[GroupKind, dict[str, str | None]] = {}
        self.prunable: dict[GroupKind, dict[str, str]] = {}
        # copies `prunable` names that were made from an earlier namespace of the source's name: why
        # each is kept (decide.kept_from_earlier_namespace)
        self.kept: dict[GroupKind, dict[str, str]] = {}
        self.needed: dict[GroupKind, set[str]] = {}
        self.crds: dict[Key, Obj] = {}
        self._refs: dict[GroupKind, ResourceRef] = {}
        self._namespace_done: TargetResult | None = None

    def fail(self, message: str, category: Category) -> None:
        if self.alive:
            self.alive = False
            self.result.error = message
            self.result.error_category = category

    def survey(self) -> None:
        """Read the destination's objects of the synced types as metadata (and its copies of the CRDs)."""
        self.version = destination_version(self.client)
        created = ((self.snapshot.namespace_object or {}).get("metadata") or {}).get("creationTimestamp")
        for ref in self.snapshot.refs:
            gk = (ref.group, ref.kind)
            marks = self.marks.setdefault(gk, {})
            prunable_uids = self.prunable.setdefault(gk, {})
            try:
                there = self.client.resolve(ref.group_resource)
            except NotServed:
                continue  # a custom type whose CRD is about to be copied: no objects there yet
            self._refs[gk] = there
            for item in self.client.list(there, self.namespace, metadata_only=True):
                key = key_of(item)
                marks[key.name] = copy_marks(item, self.rules, self.snapshot.namespace)
                if self.pruning and prunable(key, item, self.rules, self.snapshot.namespace):
                    if (why := kept_from_earlier_namespace(item, created)) is not None:
                        self.kept.setdefault(gk, {})[key.name] = why
                    else:
                        prunable_uids[key.name] = uid_of(item)
        if self.snapshot.crds:
            crd_ref = self.client.resolve(f"customresourcedefinitions.{CRD_GROUP}")
            for crd in self.snapshot.crds:
                found = self.client.get(crd_ref, None, crd["metadata"]["name"])
                if found is not None:
                    self.crds[key_of(found)] = found

    def keep_namespace(self) -> None:
        """Keep the destination namespace's copied labels and annotations in step (once per run);
        the outcome is added to the result by `absorb_namespace` (this may run beside `survey`)."""
        empty = Plan((), self.snapshot.namespace, self.namespace, namespace_metadata=self.ns_metadata)
        self._namespace_done = execute(
            empty, self.client, self.rules, dry_run=self.dry_run, limits=self.limits
        )

    def absorb_namespace(self) -> None:
        done, self._namespace_done = self._namespace_done, None
        if done is not None and self.alive:
            _merge(self.result, done)
            if done.error:
                self.alive = False

    def classify(self, gk: GroupKind, name: str, item: Obj, reason: str | None) -> bool:
        """Count the source object `item` (metadata) as skipped (`reason`) or unchanged when its copy
        is settled; otherwise note it as needed in full and return True."""
        kind = count_key(*gk)
        marks = self.marks.get(gk, {})
        there = name in marks
        mark = marks.pop(name, None)
        if reason is not None:
            self.result.skip(Skip(kind, self.namespace, name, reason))
            return False
        if metadata_decides(self.rules) and is_settled(item, mark, self.digest):
            self.result.record(kind, Outcome.UNCHANGED)
            return False
        if there:  # `_existing` reads the copies of needed names
            marks[name] = mark
        self.needed.setdefault(gk, set()).add(name)
        return True

    def write(self, gk: GroupKind, part: list[Obj], accounts: list[Obj] | None) -> None:
        """Plan the chunk `part` (source objects of type `gk`, in full) and carry it out."""
        if gk == _CRDS:
            objects, existing = part, self.crds
        else:
            wanted = self.needed.get(gk, set())
            objects = [o for o in part if o["metadata"]["name"] in wanted]
            existing = self._existing(gk, [o["metadata"]["name"] for o in objects])
        the_plan = plan(
            objects,
            existing,
            self.rules,
            source_namespace=self.snapshot.namespace,
            destination_namespace=self.namespace,
            prune=False,
            server_version=self.version,
            copied_kinds=self.snapshot.kinds,
            namespace_metadata=self.ns_metadata,
            destination_cluster=self.client.name,
            service_accounts=accounts,
        )
        self._run(the_plan)

    def _existing(self, gk: GroupKind, names: list[str]) -> dict[Key, Obj]:
        """The destination's objects of these names, in full (the ones an update would replace)."""
        marks = self.marks.get(gk, {})
        there = [n for n in names if n in marks]
        ref = self._refs.get(gk)
        if not there or ref is None:
            return {}
        if len(there) <= ONE_BY_ONE:
            found = (self.client.get(ref, self.namespace, n) for n in there)
            return {key_of(o): _lean(o) for o in found if o is not None}
        wanted = set(there)
        return {
            key_of(o): _lean(o)
            for o in self.client.list(ref, self.namespace)
            if (o.get("metadata") or {}).get("name") in wanted
        }

    def prune(self) -> None:
        """Delete the copies whose source is gone (pruneDeleted)."""
        actions = [
            Action(
                Op.PRUNE, Key(gk[0], gk[1], self.namespace, name), reason=REASON_PRUNE, destination_uid=uid
            )
            for gk, uids in self.prunable.items()
            for name, uid in uids.items()
            if name not in self.snapshot.present.get(gk, ())
        ]
        actions.sort(key=lambda a: delete_order(a.key))
        for gk, reasons in self.kept.items():
            for name, why in reasons.items():
                if name not in self.snapshot.present.get(gk, ()):
                    self.result.skip(Skip(count_key(*gk), self.namespace, name, why))
        if actions:
            self._run(Plan(tuple(actions), self.snapshot.namespace, self.namespace, (), self.version))

    def _run(self, part: Plan) -> None:
        if not self.alive:
            return
        done = execute(part, self.client, self.rules, dry_run=self.dry_run, limits=self.limits)
        _merge(self.result, done)
        if done.error:  # the destination as a whole failed (unreachable, namespace refused)
            self.alive = False

    def finish(self) -> TargetResult:
        return self.result.finish(time.monotonic() - self.started)


def _merge(total: TargetResult, part: TargetResult) -> None:
    """Add the result of one part of a run to the run's result."""
    for kind, counts in part.counts.items():
        total.counts.setdefault(kind, KindCounts()).merge(counts)
    total.errors.extend(part.errors)
    total.warnings.extend(part.warnings)
    total.deployment_scales.extend(part.deployment_scales)
    for skip in part.skips:
        total.note_skip(skip)
    if part.error and not total.error:
        total.error, total.error_category = part.error, part.error_category


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
