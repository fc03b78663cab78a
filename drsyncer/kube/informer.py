"""A local copy of one resource type, kept current with list + watch.

List, then watch from the list's resourceVersion; a watch the server ends is resumed from the last
event; 410 Gone (the position is too old) lists again; any other failure lists again after a
bounded, growing pause. The pause starts over once a watch has worked for `healthy_s`, so a cut
days after the last one is not met with the longest pause. A full relist also happens every
`relist_s`, so a missed event is repaired. Events are taken in batches: after one it had to wait
for, the thread pauses `batch_s` before reading on, so a steady stream costs one wake-up per pause,
not per event.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from drsyncer.errors import DrsyncerError
from drsyncer.kube.client import ClusterClient
from drsyncer.kube.discovery import ResourceRef
from drsyncer.kube.errors import ApiError, Gone

log = logging.getLogger(__name__)

Key = tuple[str, str]  # (namespace or "", name)
MIN_BACKOFF_S = 0.5
MAX_BACKOFF_S = 30.0
HEALTHY_WATCH_S = 10.0  # a watch open this long worked: the next failure starts the backoff over
# After an event the thread had to wait for, it pauses this long before reading on. At fleet size a
# watch brings a steady trickle of events (the workers' status writes: 170 a second at 10,000
# schedule entries); waking for each one cost two to three times the CPU of reading and decoding it
# (a 6 KB event: 30 µs read from a connection that held it, 80-120 µs when the thread waited for it).
# Events that gathered during a pause are read without waiting; each comes at most this much later.
BATCH_S = 0.2
WOKEN_S = 0.001  # a read that took longer waited for the network


def key_of(obj: dict[str, Any]) -> Key:
    meta = obj.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))


def without_managed_fields(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as the informer keeps it: without `metadata.managedFields`, which nothing here
    reads and which can be most of an object's size (every writer's field set)."""
    meta = obj.get("metadata")
    if isinstance(meta, dict) and "managedFields" in meta:
        obj["metadata"] = {k: v for k, v in meta.items() if k != "managedFields"}
    return obj


def newer_or_equal(candidate: dict[str, Any], current: dict[str, Any] | None) -> bool:
    """Whether `candidate` is not older than `current` (resourceVersions compared as numbers when both
    are, as every API server in practice writes them; otherwise the later arrival wins)."""
    if current is None:
        return True
    a = (candidate.get("metadata") or {}).get("resourceVersion")
    b = (current.get("metadata") or {}).get("resourceVersion")
    try:
        return int(str(a)) >= int(str(b))
    except ValueError:
        return True


def backoff_delay(failures: int, rand: float) -> float:
    """Pause before reconnect attempt number `failures` (1 after the first failure), with jitter."""
    base = min(MAX_BACKOFF_S, MIN_BACKOFF_S * 2 ** max(failures - 1, 0))
    return base * (0.5 + 0.5 * rand)


class Informer:
    """Runs in its own thread (`start`) until `stop`; `objects()` is a snapshot of the copy."""

    def __init__(
        self,
        client: Callable[[], ClusterClient],
        ref: ResourceRef,
        namespace: str | None,
        on_change: Callable[[], None],
        *,
        name: str,
        watch_timeout_s: int = 60,
        relist_s: float = 300.0,
        on_event: Callable[[str, dict[str, Any]], None] | None = None,
        cache: bool = True,
        significant: Callable[[dict[str, Any] | None, dict[str, Any] | None], bool] | None = None,
        healthy_s: float = HEALTHY_WATCH_S,
        batch_s: float = BATCH_S,
    ) -> None:
        self._client = client
        self.ref = ref
        self.namespace = namespace or None
        self._on_change = on_change
        self._on_event = on_event  # each watch event (ADDED, MODIFIED, DELETED), not lists
        self._cache = cache  # False: follow events only, hold no copies (large types, cluster-wide)
        # (old, new) of a watch event → whether it calls on_change (None: every event does); new is
        # None for a deletion, old None for an object not held before
        self._significant = significant
        self.name = name
        self.watch_timeout_s = watch_timeout_s
        self.relist_s = relist_s
        self.healthy_s = healthy_s
        self.batch_s = batch_s
        self._watching_since: float | None = None  # when the current watch was opened
        self._lock = threading.Lock()
        self._objects: dict[Key, dict[str, Any]] = {}
        self._stop = threading.Event()
        self.synced = threading.Event()  # set after the first successful list
        self.last_error: str = ""
        self.lists = 0  # full lists done: the first, relists after 410, errors and every relist_s
        self.wakeups = 0  # watch events the thread had to wait for (the others were read in a batch)
        self._thread: threading.Thread | None = None

    def objects(self) -> dict[Key, dict[str, Any]]:
        with self._lock:
            return dict(self._objects)

    def get(self, key: Key) -> dict[str, Any] | None:
        """The copy of one object, None when not held."""
        with self._lock:
            return self._objects.get(key)

    def put(self, obj: dict[str, Any]) -> None:
        """Record an object just written, so the next reconcile does not act on the older copy."""
        key = key_of(obj)
        with self._lock:
            if newer_or_equal(obj, self._objects.get(key)):
                self._objects[key] = without_managed_fields(obj)

    def start(self) -> Informer:
        self._thread = threading.Thread(target=self.run, name=f"informer-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self, wait_s: float | None = None) -> None:
        """Ask the thread to end; it does after the current watch request, at most `watch_timeout_s`."""
        self._stop.set()
        if wait_s is not None and self._thread is not None:
            self._thread.join(wait_s)

    @property
    def watching_for_s(self) -> float:
        """Seconds since the current watch was opened after a list; 0 while listing or reconnecting."""
        since = self._watching_since
        return 0.0 if since is None else time.monotonic() - since

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                self._list_and_watch()
                failures = 0
            except Exception as exc:  # whatever went wrong, the copy is rebuilt by listing again
                since = self._watching_since
                if since is not None and time.monotonic() - since >= self.healthy_s:
                    failures = 0  # the watch had been working: a new fault, not the same one again
                failures += 1
                self.last_error = str(exc) or type(exc).__name__
                delay = backoff_delay(failures, random.random())
                expected = isinstance(exc, ApiError | DrsyncerError | OSError | ValueError)
                log.warning("%s: %s; listing again in %.1fs", self.name, exc, delay, exc_info=not expected)
                self._stop.wait(delay)

    def _list_and_watch(self) -> None:
        self._watching_since = None
        client = self._client()
        # without a cache only the list's resourceVersion is needed, and the first page carries it
        listing = client.list(self.ref, self.namespace, page_size=500 if self._cache else 1)
        fresh = {key_of(obj): without_managed_fields(obj) for obj in listing} if self._cache else {}
        self.lists += 1
        with self._lock:
            changed = fresh != self._objects
            self._objects = fresh
        self.synced.set()
        self.last_error = ""
        if changed:
            self._on_change()
        position = listing.resource_version
        listed_at = time.monotonic()
        while not self._stop.is_set() and time.monotonic() - listed_at < self.relist_s:
            try:
                position = self._watch(client, position)
            except Gone:
                log.info("%s: watch position expired; listing again", self.name)
                return

    def _record(self, kind: str, obj: dict[str, Any]) -> dict[str, Any] | None:
        """Apply one watch event to the copy; returns the copy held before it."""
        key = key_of(obj)
        with self._lock:
            old = self._objects.get(key)
            if kind == "DELETED":
                self._objects.pop(key, None)
            elif newer_or_equal(obj, old):
                without_managed_fields(obj)
                obj.setdefault("apiVersion", self.ref.api_version)
                obj.setdefault("kind", self.ref.kind)
                self._objects[key] = obj
            return old

    def _watch(self, client: ClusterClient, position: str) -> str:
        events = client.watch(
            self.ref, self.namespace, resource_version=position, timeout_s=self.watch_timeout_s
        )
        if self._watching_since is None:
            self._watching_since = time.monotonic()
        try:
            asked = time.monotonic()
            for event in events:
                # the thread waited for this event: the stream had nothing more to read
                woken = time.monotonic() - asked > WOKEN_S
                obj = event.get("object") or {}
                position = str((obj.get("metadata") or {}).get("resourceVersion") or position)
                kind = event.get("type")
                if kind != "BOOKMARK":
                    self.wakeups += woken
                    old = self._record(str(kind), obj) if self._cache else None
                    if self._significant is None or self._significant(
                        old, None if kind == "DELETED" else obj
                    ):
                        self._on_change()
                    if self._on_event is not None:
                        self._on_event(str(kind), obj)
                if self._stop.is_set():
                    break
                # let the next events gather on the connection and read them in one go
                if woken and self.batch_s > 0 and self._stop.wait(self.batch_s):
                    break
                asked = time.monotonic()
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()
        return position
