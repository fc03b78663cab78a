"""What every task checks before it touches a cluster, in one place: is the job still wanted (the
object exists with the same uid, its generation is not newer, it is not paused), and is nobody else
syncing the same target right now (a lock in Redis).

The lock covers one (Replication, source namespace): the task that holds it syncs that namespace
into every destination, so no destination namespace is ever written by two tasks at once (two
source namespaces of one Replication cannot share a destination namespace; validation refuses it).
The lock holds the task id and outlives the hard time limit. A task that finds its own id in the
lock is a redelivery of a task whose worker died mid-way: it takes the lock over instead of waiting
for it to expire. Taking it can also set a `Mark` (the run's start, drsyncer.status.runs) in the
same call, so a task's first Redis round trip does both; and the run record a task writes last
can release it (drsyncer.status.runs `RunStore.finish`), so its last round trip does both too.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import redis

from drsyncer.task_contract import ReplicationRef

log = logging.getLogger(__name__)

LOCK_PREFIX = "drsyncer:lock:"
LOCK_MARGIN_S = 60  # the lock outlives the hard time limit by this much

# KEYS: the lock[, a mark]; ARGV: owner, ttl[, the mark's value, its ttl]. {taken, marked}: taken 1
# (was free) or 2 (taken over from the owner's earlier delivery), 0 when another owner holds it
_TAKE_LUA = """
local held = redis.call('GET', KEYS[1])
if held == false or held == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  local marked = 0
  if KEYS[2] and redis.call('SET', KEYS[2], ARGV[3], 'NX', 'EX', ARGV[4]) then marked = 1 end
  if held == false then return {1, marked} end
  return {2, marked}
end
return {0, 0}
"""
_RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Drop(StrEnum):
    """Why a task is dropped without syncing."""

    DELETED = "deleted"  # the object is gone, or another object has its name (different uid)
    STALE = "stale"  # planned from an older generation; the watcher has rewritten the entry
    PAUSED = "paused"
    INVALID = "invalid"  # the watcher reports the spec errors
    BUSY = "busy"  # another task syncs the same namespace right now
    # a delivery that was frozen past the time limit while a redelivery of it finished the work
    SUPERSEDED = "superseded"


def drop_reason(live: Mapping[str, Any] | None, ref: ReplicationRef) -> Drop | None:
    """Why a sync task for `ref` must not run against the live object, or None when it should."""
    if live is None:
        return Drop.DELETED
    meta = live.get("metadata") or {}
    if ref.uid and meta.get("uid") != ref.uid:
        return Drop.DELETED
    if meta.get("deletionTimestamp"):
        return Drop.DELETED
    if int(meta.get("generation") or 0) > ref.generation:
        return Drop.STALE
    spec = live.get("spec") or {}
    if spec.get("paused") is True or str(spec.get("paused")).lower() == "true":
        return Drop.PAUSED
    return None


def lock_key(ref: ReplicationRef, source_namespace: str) -> str:
    return f"{LOCK_PREFIX}{ref.kind}/{ref.namespace}/{ref.name}:{source_namespace}"


@dataclass(frozen=True)
class Mark:
    """A key set (if absent) with `value` for `ttl_s` seconds when the lock is taken."""

    key: str
    value: str
    ttl_s: int


@dataclass
class Hold:
    """The outcome of taking the lock: `taken`, and whether this call set its `Mark`. True when taken.
    `released` is set by whoever released the lock in a call of their own (`NamespaceLock.held` then
    does not release it again)."""

    taken: bool
    marked: bool = False
    released: bool = False

    def __bool__(self) -> bool:
        return self.taken


class NamespaceLock:
    """The Redis lock of one (Replication, source namespace), owned by a task id."""

    def __init__(self, client: redis.Redis, ttl_s: float) -> None:
        self.redis = client
        self.ttl_s = int(ttl_s) + LOCK_MARGIN_S
        self._take = client.register_script(_TAKE_LUA)
        self._release = client.register_script(_RELEASE_LUA)

    def take(self, key: str, owner: str, mark: Mark | None = None) -> Hold:
        """Taken when `owner` now holds the lock (it was free, or already `owner`'s: a redelivery);
        then `mark` is set unless it exists (`marked` says whether this call set it)."""
        if mark is None:
            answer = self._take(keys=[key], args=[owner, self.ttl_s])
        else:
            answer = self._take(keys=[key, mark.key], args=[owner, self.ttl_s, mark.value, mark.ttl_s])
        taken, marked = int(answer[0]), int(answer[1])
        if taken == 2:
            log.info("lock %s: taken over from an earlier delivery of task %s", key, owner)
        return Hold(taken > 0, marked > 0)

    def release(self, key: str, owner: str) -> None:
        self._release(keys=[key], args=[owner])

    @contextmanager
    def held(self, key: str, owner: str, mark: Mark | None = None) -> Iterator[Hold]:
        """`with lock.held(key, task_id) as ok:` — ok falsy when someone else holds it."""
        ok = self.take(key, owner, mark)
        try:
            yield ok
        finally:
            if ok and not ok.released:
                self.release(key, owner)
