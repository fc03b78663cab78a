"""Change feeds and the watermark store in Redis (drsyncer.sync.watermark says what they are for).

A change feed watches one type on one cluster, everywhere, as metadata (`PartialObjectMetadata`,
what a metadata informer reads), and records in Redis, per namespace, each name that changed with
the resourceVersion it changed to (`journal.DELETED` once deleted). It runs as a thread in whichever
worker process first needed it and won its lease; every process reads what it recorded.

Redis keys (`<feed>` is `drsyncer:feed:<cluster identity>:<group resource>`):
- `<feed>:epoch`: the running feed's epoch, a lease the holder renews (`LEASE_S`). It reads
  `starting:...` until the watch is open: a feed is trusted only from the moment its watch covers
  every change after it, and never after its lease lapses (its holder died or stopped). A feed
  whose `starting:` lease lapsed before its watch opened (and may be another process's now) stops.
- `<feed>:<epoch>:ns:<namespace>`: hash name → resourceVersion, the changes since the epoch began
  (`ns:` empty for cluster-scoped types); expires `CHANGES_TTL_S` after its last change (give or
  take `EXPIRE_EVERY_S`), so an old epoch's hashes go away by themselves.
- `<feed>:used`: set by every run that relies on the feed; a feed nobody used for `IDLE_S` stops.
- `drsyncer:watermark:<replication uid>:<source namespace>:<cluster identity>:<namespace>`: a
  destination's watermark (JSON), expiring after `WATERMARK_TTL_S` (twice the hour it is trusted).

A run reads every feed state it needs and its watermarks in one round trip (`READ_LUA`): the
epochs, then each namespace's record as one string (a record of more than `SCAN_COUNT` names is
scanned in pages instead, as it was before), then the watermarks.

A watch the server ends is resumed from the last version seen, so the epoch goes on; a position the
server no longer has (410 Gone) or any other failure ends the epoch (its lease is deleted), and the
next run that needs the feed starts a new one. Nothing here holds an object body or a credential.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import redis

from drsyncer.errors import DrsyncerError
from drsyncer.kube import journal
from drsyncer.kube.client import ClusterClient, dump_json, load_json
from drsyncer.kube.discovery import ResourceRef
from drsyncer.sync.watermark import KEPT_NAMES, MAX_AGE_S, FeedKey, FeedState, record_hash

log = logging.getLogger(__name__)

PREFIX = "drsyncer:feed"
WATERMARK_PREFIX = "drsyncer:watermark"
LEASE_S = 15.0
FLUSH_S = 0.05  # how long a change may wait in this process before Redis has it
CHANGES_TTL_S = 24 * 3600
EXPIRE_EVERY_S = 60.0  # how often a feed renews the expiry of a namespace's changes it keeps writing
WATERMARK_TTL_S = int(2 * MAX_AGE_S)  # none is trusted after MAX_AGE_S
IDLE_S = 3600.0
SCAN_COUNT = 2000  # names a record is read in batches of
CHECK_S = 5.0  # how often one process looks after a feed it relies on
START_WAIT_S = 3.0  # how long the run that starts a feed waits for its watch to open
RETRY_AFTER_S = (
    300.0  # a feed that failed to start (e.g. no cluster-wide watch permitted) is not retried sooner
)
# the server ends each watch this often and the feed resumes it from where it was; a connection that
# died silently is noticed within this plus the client's 30 s of slack
WATCH_TIMEOUT_S = 30

STARTING = "starting:"

# renew the lease only while it is this feed's
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
# go live only while the `starting:` lease is still this process's: one that lapsed while the watch
# opened may have been taken by another process, whose feed is the one to run
_GO_LIVE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return false
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# Every feed state a run needs and its watermarks in one call. KEYS: the feeds' `<feed>:epoch` keys
# (ARGV[1] of them), then the watermarks. ARGV[2]: the most names a record is sent inline; then a
# (feed index, namespace, name) triple per feed key: name '' asks for the namespace's record, else
# that object's entry. Answers, in order: each epoch; per feed key false (no live feed), the object's
# version (false: not recorded), the record as "name\0version\0..." or the number 1 (larger than
# ARGV[2]: the caller scans it); each watermark. The record keys follow from the epochs read here, so
# they are not declared in KEYS: drsyncer's Redis is one server or a Sentinel-managed primary, never
# a Redis Cluster.
READ_LUA = """
local feeds = tonumber(ARGV[1])
local inline = tonumber(ARGV[2])
local out = {}
local live = {}
for i = 1, feeds do
  local epoch = redis.call('GET', KEYS[i])
  out[#out + 1] = epoch
  if epoch and string.sub(epoch, 1, 9) ~= 'starting:' then
    live[i] = string.sub(KEYS[i], 1, -7) .. ':' .. epoch .. ':ns:'
  end
end
for j = 3, #ARGV, 3 do
  local changes = live[tonumber(ARGV[j])]
  if not changes then
    out[#out + 1] = false
  elseif ARGV[j + 2] ~= '' then
    out[#out + 1] = redis.call('HGET', changes .. ARGV[j + 1], ARGV[j + 2])
  elseif redis.call('HLEN', changes .. ARGV[j + 1]) > inline then
    out[#out + 1] = 1
  else
    out[#out + 1] = table.concat(redis.call('HGETALL', changes .. ARGV[j + 1]), '\\0')
  end
end
for i = feeds + 1, #KEYS do
  out[#out + 1] = redis.call('GET', KEYS[i])
end
return out
"""


def feed_prefix(cluster: str, resource: str) -> str:
    return f"{PREFIX}:{cluster}:{resource}"


# one HSET of a feed's changes in one namespace: (key, name → version, renew the key's expiry)
Write = tuple[str, Mapping[str | bytes, bytes | float | int | str], bool]


class Feed:
    """One type's change feed on one cluster: a daemon thread runs the watch and records each change
    in memory; a `Flusher` writes them to Redis and renews the lease."""

    def __init__(self, client: redis.Redis, cluster: ClusterClient, ref: ResourceRef, lease: str) -> None:
        self.redis = client
        self.cluster = cluster
        self.ref = ref
        self.prefix = feed_prefix(cluster.identity, ref.group_resource)
        self.lease = lease  # the `starting:` value this process took the lease with
        self.epoch = lease[len(STARTING) :]
        self.live = threading.Event()
        self.stopped = threading.Event()
        self.ready = threading.Event()  # live, or stopped before it was
        # namespace → name → version changed to (typed as redis-py's HSET takes it: sent as is)
        self._pending: dict[str, dict[str | bytes, bytes | float | int | str]] = {}
        self._expire_due: dict[str, float] = {}  # changes key → when its expiry is renewed next
        self._renewed = 0.0  # when the lease was last renewed (monotonic)
        self._lock = threading.Lock()
        self._renew = client.register_script(_RENEW)
        self._go_live = client.register_script(_GO_LIVE)
        self._release = client.register_script(_RELEASE)

    @property
    def running(self) -> bool:
        return not self.stopped.is_set()

    def start(self) -> None:
        """Start the watch; the changes it records are written by a `Flusher` the feed is added to."""
        threading.Thread(target=self._watch, name=f"feed-{self.ref.plural}", daemon=True).start()

    def _watch(self) -> None:
        try:
            # the current position: a list of one item (as metadata) is the cheapest way to learn it
            version = self.cluster.list(self.ref, None, page_size=1, metadata_only=True).resource_version
            events = self.cluster.watch(
                self.ref, None, resource_version=version, timeout_s=WATCH_TIMEOUT_S, metadata_only=True
            )
            # the watch is open from `version` on: every change from now is delivered
            if not self._go_live(
                keys=[f"{self.prefix}:epoch"], args=[self.lease, self.epoch, int(LEASE_S * 1000)]
            ):
                return
            self.lease = self.epoch
            self.live.set()
            self.ready.set()
            log.info(
                "change feed of %s on %s started (epoch %s)",
                self.ref.group_resource,
                self.cluster.name,
                self.epoch,
            )
            while self.running:
                for event in events:
                    version = self._take(event) or version
                    if not self.running:
                        return
                # the server ended the watch: resume from where it was, same epoch
                events = self.cluster.watch(
                    self.ref, None, resource_version=version, timeout_s=WATCH_TIMEOUT_S, metadata_only=True
                )
        except (DrsyncerError, redis.RedisError, OSError, ValueError) as exc:
            log.warning(
                "change feed of %s on %s stopped: %s; runs read everything until one starts again",
                self.ref.group_resource,
                self.cluster.name,
                exc,
            )
        finally:
            self.stop()

    def _take(self, event: dict[str, Any]) -> str | None:
        meta = (event.get("object") or {}).get("metadata") or {}
        version = meta.get("resourceVersion")
        if event.get("type") in ("ADDED", "MODIFIED", "DELETED") and meta.get("name"):
            changed = journal.DELETED if event["type"] == "DELETED" else str(version or "")
            with self._lock:
                self._pending.setdefault(str(meta.get("namespace") or ""), {})[str(meta["name"])] = changed
        return str(version) if version else None

    def take(self, now: float) -> list[Write]:
        """The changes recorded since the last call, as the writes that put them in Redis."""
        with self._lock:
            pending, self._pending = self._pending, {}
        writes: list[Write] = []
        for namespace, names in pending.items():
            key = f"{self.prefix}:{self.epoch}:ns:{namespace}"
            # a namespace changing all the time (a copy under way) has its expiry renewed once per
            # EXPIRE_EVERY_S, not with every flush
            renew = now >= self._expire_due.get(key, 0.0)
            if renew:
                self._expire_due[key] = now + EXPIRE_EVERY_S
            writes.append((key, names, renew))
        return writes

    def look_after(self, now: float) -> None:
        """Renew the lease every `LEASE_S`/3; stop when it was lost or nobody used the feed for
        `IDLE_S`. Raises redis.RedisError."""
        if not self.live.is_set() or now - self._renewed < LEASE_S / 3:
            return
        self._renewed = now
        if not self._renew(keys=[f"{self.prefix}:epoch"], args=[self.epoch, int(LEASE_S * 1000)]):
            log.warning("change feed of %s on %s lost its lease", self.ref.group_resource, self.cluster.name)
            self.stop()
        elif not self.redis.exists(f"{self.prefix}:used"):
            log.info("change feed of %s on %s stopped: unused", self.ref.group_resource, self.cluster.name)
            self.stop()

    def fail(self, exc: Exception) -> None:
        """Stop after Redis failed: changes may be lost, so the epoch ends."""
        log.warning("change feed of %s on %s stopped: %s", self.ref.group_resource, self.cluster.name, exc)
        self.stop()

    def stop(self) -> None:
        """End the epoch: nobody trusts this feed from now on."""
        if self.stopped.is_set() and not self.live.is_set():
            return
        self.stopped.set()
        self.live.clear()
        self.ready.set()
        try:
            self._release(keys=[f"{self.prefix}:epoch"], args=[self.lease])
            self._release(keys=[f"{self.prefix}:epoch"], args=[self.epoch])
        except redis.RedisError as exc:
            # not released: the lease lapses by itself within LEASE_S, and until then no run trusts
            # a feed whose holder stopped renewing it
            log.debug("change feed of %s: lease not released (%s)", self.ref.group_resource, exc)


class Flusher:
    """Writes the recorded changes of a process's feeds to Redis every `FLUSH_S`, all feeds' in one
    round trip, and looks after their leases: one daemon thread, however many feeds run."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self._feeds: list[Feed] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, feed: Feed) -> None:
        with self._lock:
            self._feeds.append(feed)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="feed-flush", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while True:
            time.sleep(FLUSH_S)
            with self._lock:
                self._feeds = [f for f in self._feeds if f.running]
                if not self._feeds:  # every feed stopped: so does the thread, until one is added
                    self._thread = None
                    return
                feeds = list(self._feeds)
            self.flush(feeds)

    def flush(self, feeds: Sequence[Feed]) -> None:
        now = time.monotonic()
        taken = [(feed, feed.take(now)) for feed in feeds]
        writes = [w for _, ws in taken for w in ws]
        try:
            if len(writes) == 1 and not writes[0][2]:
                # the usual flush while objects are written: one command, no pipeline
                self.redis.hset(writes[0][0], mapping=writes[0][1])
            elif writes:
                with self.redis.pipeline(transaction=False) as pipe:
                    for key, mapping, renew in writes:
                        pipe.hset(key, mapping=mapping)
                        if renew:
                            pipe.expire(key, CHANGES_TTL_S)
                    pipe.execute()
        except redis.RedisError as exc:
            for feed, ws in taken:
                if ws:
                    feed.fail(exc)
        for feed in feeds:
            if feed.running:
                try:
                    feed.look_after(now)
                except redis.RedisError as exc:
                    feed.fail(exc)


class RedisWatermarks:
    """`drsyncer.sync.watermark.Watermarks` in Redis, with this process's change feeds. Thread-safe."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self._feeds: dict[tuple[str, str], Feed] = {}
        self._failed: dict[tuple[str, str], float] = {}
        self._checked: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        self._flusher = Flusher(client)
        self._read = client.register_script(READ_LUA)

    def watch(self, client: ClusterClient, refs: Sequence[ResourceRef]) -> None:
        """Make sure a feed of each of `refs` on `client`'s cluster runs (here or in another process);
        a feed started here is waited for up to `START_WAIT_S`. Each feed is looked after at most
        every `CHECK_S` per process: runs of many namespaces in a row cost no Redis call here."""
        now = time.monotonic()
        with self._lock:
            due = [
                ref
                for ref in refs
                if now >= self._checked.get((client.identity, ref.group_resource), 0.0)
                and now >= self._failed.get((client.identity, ref.group_resource), 0.0)
            ]
            for ref in due:
                self._checked[(client.identity, ref.group_resource)] = now + CHECK_S
        if not due:
            return
        leases = {ref.group_resource: STARTING + uuid.uuid4().hex for ref in due}
        with self.redis.pipeline(transaction=False) as pipe:
            for ref in due:
                prefix = feed_prefix(client.identity, ref.group_resource)
                pipe.set(f"{prefix}:used", "1", ex=int(IDLE_S))
                pipe.set(f"{prefix}:epoch", leases[ref.group_resource], nx=True, px=int(LEASE_S * 1000))
            taken = pipe.execute()[1::2]
        started: list[Feed] = []
        with self._lock:
            for ref, won in zip(due, taken, strict=True):
                if not won:
                    continue  # a feed runs, here or in another process
                feed = Feed(self.redis, client, ref, leases[ref.group_resource])
                self._feeds[(client.identity, ref.group_resource)] = feed
                self._flusher.add(feed)
                feed.start()
                started.append(feed)
        deadline = time.monotonic() + START_WAIT_S
        for feed in started:
            feed.ready.wait(max(0.0, deadline - time.monotonic()))
            if not feed.live.is_set():
                with self._lock:
                    self._failed[(feed.cluster.identity, feed.ref.group_resource)] = (
                        time.monotonic() + RETRY_AFTER_S
                    )

    def snapshot(self, keys: Sequence[FeedKey]) -> dict[FeedKey, FeedState | None]:
        return self.read(keys, ())[0]

    def read(
        self, keys: Sequence[FeedKey], marks: Sequence[str]
    ) -> tuple[dict[FeedKey, FeedState | None], dict[str, dict[str, Any] | None]]:
        """Each feed's state now (None where no feed runs) and the watermarks named `marks` (None
        where absent), in one round trip; a record of more than `SCAN_COUNT` names takes its pages
        more. Raises redis.RedisError."""
        prefixes = sorted({feed_prefix(cluster, resource) for cluster, resource, _, _ in keys})
        index = {p: i for i, p in enumerate(prefixes, start=1)}
        args: list[str | int] = [len(prefixes), SCAN_COUNT]
        for cluster, resource, namespace, name in keys:
            args += [index[feed_prefix(cluster, resource)], namespace, name]
        answer = self._read(
            keys=[f"{p}:epoch" for p in prefixes] + [f"{WATERMARK_PREFIX}:{m}" for m in marks], args=args
        )
        epochs = {p: _text(e) for p, e in zip(prefixes, answer, strict=False) if e is not None}
        found = answer[len(prefixes) : len(prefixes) + len(keys)]
        states: dict[FeedKey, FeedState | None] = {}
        for k, value in zip(keys, found, strict=True):
            prefix = feed_prefix(k[0], k[1])
            if prefix not in epochs or epochs[prefix].startswith(STARTING):
                states[k] = None
            elif k[3]:
                states[k] = (epochs[prefix], {k[3]: _text(value)} if value is not None else {})
            elif isinstance(value, int):  # too large to send at once: scanned in pages
                states[k] = (epochs[prefix], self._record(f"{prefix}:{epochs[prefix]}:ns:{k[2]}"))
            else:
                states[k] = (epochs[prefix], _inline(value))
        loaded: dict[str, dict[str, Any] | None] = {}
        for mark, raw in zip(marks, answer[len(prefixes) + len(keys) :], strict=True):
            value = load_json(raw) if raw is not None else None
            loaded[mark] = value if isinstance(value, dict) else None
        return states, loaded

    def _scan(self, key: str) -> Iterator[tuple[Any, Any]]:
        """The (name, version) pairs of a record, `SCAN_COUNT` at a time."""
        cursor, page = self.redis.hscan(key, 0, count=SCAN_COUNT)
        while True:
            yield from page.items()
            if int(cursor) == 0:
                return
            cursor, page = self.redis.hscan(key, int(cursor), count=SCAN_COUNT)

    def _record(self, key: str) -> dict[str, str] | int:
        """A feed's record of one namespace, scanned in batches; past `KEPT_NAMES` names only its
        digest (a namespace of 100,000 copies costs a worker no memory here). A name HSCAN returns
        twice past that point spoils the digest, which then matches nothing: the run reads."""
        changes: dict[str, str] | None = {}
        digest = 0
        for raw_name, raw_version in self._scan(key):
            name, version = _text(raw_name), _text(raw_version)
            if changes is None:
                digest ^= record_hash(name, version)
            elif name not in changes:  # HSCAN may return a name twice
                changes[name] = version
                if len(changes) > KEPT_NAMES:
                    for kept, kept_version in changes.items():
                        digest ^= record_hash(kept, kept_version)
                    changes = None
        return digest if changes is None else changes

    def load(self, mark: str) -> dict[str, Any] | None:
        raw = self.redis.get(f"{WATERMARK_PREFIX}:{mark}")
        if raw is None:
            return None
        value = load_json(raw)
        return value if isinstance(value, dict) else None

    def save(self, mark: str, value: dict[str, Any]) -> None:
        self.redis.set(f"{WATERMARK_PREFIX}:{mark}", dump_json(value), ex=WATERMARK_TTL_S)

    def drop(self, mark: str) -> None:
        self.redis.delete(f"{WATERMARK_PREFIX}:{mark}")

    def close(self) -> None:
        with self._lock:
            feeds, self._feeds = list(self._feeds.values()), {}
        for feed in feeds:
            feed.stop()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _inline(value: Any) -> dict[str, str]:
    """A record sent as "name\\0version\\0...": name → version."""
    parts = _text(value).split("\0") if value else []
    return dict(zip(parts[::2], parts[1::2], strict=True))
