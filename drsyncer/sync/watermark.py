"""Watermarks: when a scheduled resync may trust the change feed and read nothing.

A change feed (workers.change_feed) watches a cluster's objects of one type, as metadata, and keeps,
per namespace, every name that changed since the feed started (its *epoch*) with the
resourceVersion it changed to (`journal.DELETED` once gone). A run that completes cleanly records a
*watermark* per destination: the feed states it started from, plus its own writes (the write
journal, `drsyncer.kube.journal`), i.e. what the feeds will show if nobody else touches anything,
and its result. A later scheduled run whose feeds show exactly that, under the same rules, within
`max_age_s` of the last full run, knows that neither the source objects, nor the copies, nor the two
Namespaces changed: it reports the recorded result (every copy unchanged) without a request to
either cluster.

Anything else reads as before (drsyncer.sync.namespace_sync): a feed that is not running or started
again (a new epoch), any change by anyone else in the source namespace or the destination namespace
(one object edited, created or deleted), a rules change, a run that failed or was a dry run, and
runs that were asked for (sync now, a change, a retry), which follow a change the feed may not have
delivered yet.

This module is pure: the states come from and go to a `Watermarks` store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from drsyncer.kube.client import ClusterClient
from drsyncer.kube.discovery import ResourceRef
from drsyncer.sync.result import KindCounts, Outcome, TargetResult

# (cluster identity, group resource, namespace, name): a feed's changes in one namespace (name "")
# or, for a cluster-scoped type (namespace ""), of one object
FeedKey = tuple[str, str, str, str]
# (epoch, name → resourceVersion changed to since the epoch started): what a feed recorded; a record
# of more than `KEPT_NAMES` names is kept as its digest only (`record_digest`)
FeedState = tuple[str, "Mapping[str, str] | int"]
KEPT_NAMES = 10_000

NAMESPACES_RESOURCE = "namespaces"
MAX_AGE_S = 3600.0  # a namespace is read in full at least this often, whatever the feeds say


class Watermarks(Protocol):
    """Where change feeds run and watermarks are kept (workers.watermarks.RedisWatermarks)."""

    def watch(self, client: ClusterClient, refs: Sequence[ResourceRef]) -> None:
        """Make sure feeds of `refs` (and of Namespaces) on `client`'s cluster run somewhere."""

    def snapshot(self, keys: Sequence[FeedKey]) -> dict[FeedKey, FeedState | None]:
        """Each feed's state now; None where no feed runs."""

    def read(
        self, keys: Sequence[FeedKey], marks: Sequence[str]
    ) -> tuple[dict[FeedKey, FeedState | None], dict[str, dict[str, Any] | None]]:
        """`snapshot(keys)` and the watermarks named `marks` (None where absent), read together: a
        scheduled run of an unchanged namespace needs nothing else from the store."""

    def load(self, mark: str) -> dict[str, Any] | None: ...

    def save(self, mark: str, value: dict[str, Any]) -> None: ...

    def drop(self, mark: str) -> None: ...


def feed_keys(client: ClusterClient, refs: Sequence[ResourceRef], namespace: str) -> list[FeedKey]:
    """The feed keys that say whether `namespace` of `client`'s cluster changed: each type's changes
    in it, and the Namespace object itself."""
    cluster = client.identity
    keys: list[FeedKey] = [(cluster, ref.group_resource, namespace, "") for ref in refs]
    keys.append((cluster, NAMESPACES_RESOURCE, "", namespace))
    return keys


def mark_key(replication_uid: str, source_namespace: str, client: ClusterClient, namespace: str) -> str:
    """The name of a destination's watermark."""
    return f"{replication_uid}:{source_namespace}:{client.identity}:{namespace}"


def fingerprint(
    state: FeedState | None, writes: Mapping[str, str] | None = None, name: str = ""
) -> str | None:
    """A digest of a feed state as it is after `writes` (name → version, from the write journal)
    if nobody else changes anything; for a cluster-scoped key (`name`) only that object's write
    counts. None without a feed.

    Order-independent (an XOR of a 128-bit hash per name and version) and computed without copying
    the state: a namespace of 100,000 recorded names costs its dict and nothing more.
    """
    if state is None:
        return None
    epoch, changes = state
    mine = {k: v for k, v in (writes or {}).items() if not name or k == name}
    if isinstance(changes, int):
        # a record kept as its digest: what the writes replaced in it is not known
        return None if mine else f"{epoch}:{changes:032x}"
    acc = 0
    for key, version in changes.items():
        if key not in mine:
            acc ^= record_hash(key, version)
    for key, version in mine.items():
        acc ^= record_hash(key, version)
    return f"{epoch}:{acc:032x}"


def make_mark(
    digest: str,
    at: float,
    states: Mapping[FeedKey, FeedState | None],
    result: TargetResult,
    writes: Mapping[FeedKey, Mapping[str, str]] | None = None,
) -> dict[str, Any] | None:
    """The watermark of a clean run: what each feed in `states` (read when the run started) shows
    after the run's own `writes` (per feed key) if nobody else changes anything. None when some feed
    did not run, or the run was not clean: a dry run, a failed target, a failed object. `at`: when
    it started, seconds since the epoch."""
    if result.dry_run or result.error or result.totals.failed:
        return None
    prints = {_key_text(k): fingerprint(s, (writes or {}).get(k), k[3]) for k, s in states.items()}
    if any(p is None for p in prints.values()):
        return None
    return {"digest": digest, "at": at, "feeds": prints, "result": result.to_dict()}


def holds(
    mark: Mapping[str, Any] | None,
    digest: str,
    states: Mapping[FeedKey, FeedState | None],
    now: float,
    max_age_s: float = MAX_AGE_S,
) -> bool:
    """Whether the watermark `mark` still describes the namespace: same rules digest, younger than
    `max_age_s`, and every feed in `states` (its keys) showing what the mark expects."""
    if not mark or mark.get("digest") != digest:
        return False
    if not 0 <= now - float(mark.get("at") or 0) < max_age_s:
        return False
    prints = mark.get("feeds") or {}
    return all((p := fingerprint(s)) is not None and prints.get(_key_text(k)) == p for k, s in states.items())


def settled_result(mark: Mapping[str, Any]) -> TargetResult:
    """The result of a run that found the namespace as the watermark's run left it: every object
    that run created, updated or found unchanged is unchanged; what it pruned is gone; its skips
    and warnings stand; no replica report (it speaks of copies written, and none is)."""
    result = TargetResult.from_dict(mark["result"])
    result.deployment_scales = []
    counts: dict[str, KindCounts] = {}
    for kind, c in result.counts.items():
        now = KindCounts(skipped=c.skipped, held_back=c.held_back)
        now.add(Outcome.UNCHANGED, c.created + c.updated + c.unchanged)
        if now.total:
            counts[kind] = now
    result.counts = counts
    return result


def _key_text(key: FeedKey) -> str:
    return "|".join(key)


def record_hash(name: str, version: str) -> int:
    """The 128-bit hash of one name of a feed's record; a record's digest is the XOR of its names'."""
    return int.from_bytes(hashlib.blake2b(f"{name}\0{version}".encode(), digest_size=16).digest(), "big")


__all__ = [
    "KEPT_NAMES",
    "MAX_AGE_S",
    "FeedKey",
    "FeedState",
    "Watermarks",
    "feed_keys",
    "fingerprint",
    "holds",
    "make_mark",
    "mark_key",
    "record_hash",
    "settled_result",
]
