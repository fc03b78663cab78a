"""Discovery shared through Redis: one process reads a cluster's discovery, the others reuse it.

One string key per cluster, `drsyncer:discovery:<identity>` (`ClusterClient.identity`: 16 hex digits
of the server URL and the cluster's name, so a RemoteCluster pointed at another server gets another
key), holding a compact JSON document of the served resources (about 11 KB for kube-apiserver 1.34
without CRDs) that expires with the discovery TTL (300 s). It holds resource names and verbs
only: nothing of the credentials. Redis failing costs a read of the server, never a task.

When no copy is young enough, the first process to ask takes a short lease
(`drsyncer:discovery:<identity>:reading`, `READ_LEASE_S`) and reads the server; the others wait
for its copy (at most `WAIT_S`, then read the server themselves): the pool processes of freshly
started workers all want discovery at once, and one reading serves them all.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import redis

from drsyncer.kube.discovery import ResourceRef, ServedResources

log = logging.getLogger(__name__)

KEY_PREFIX = "drsyncer:discovery:"
FORMAT = 1  # bumped when the document's shape changes; another format reads as absent
READ_LEASE_S = 5.0  # a process reading discovery holds the lease this long at most
WAIT_S = 3.0  # how long the others wait for its copy
POLL_S = 0.05


def dump_served(served: ServedResources, at: float) -> bytes:
    """The document kept for `served`, read at `at` (Unix seconds)."""
    refs = [
        [
            r.group,
            r.version,
            r.kind,
            r.plural,
            r.namespaced,
            r.singular,
            list(r.short_names),
            sorted(r.verbs),
            sorted(r.subresources),
        ]
        for r in served.refs
    ]
    doc = {"format": FORMAT, "at": at, "preferred": sorted(served.preferred), "refs": refs}
    return json.dumps(doc, separators=(",", ":")).encode()


def load_served(data: bytes) -> tuple[ServedResources, float] | None:
    """(snapshot, read at in Unix seconds) from `dump_served`'s document; None for another format."""
    doc: Any = json.loads(data)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        return None
    refs = tuple(
        ResourceRef(g, v, k, p, bool(ns), sg, tuple(short), frozenset(verbs), frozenset(subs))
        for g, v, k, p, ns, sg, short, verbs, subs in doc["refs"]
    )
    return ServedResources(refs, frozenset(doc["preferred"])), float(doc["at"])


class RedisDiscovery:
    """`SharedDiscovery` of the cluster `identity` in Redis, kept `ttl_s` seconds."""

    def __init__(
        self,
        connection: redis.Redis,
        identity: str,
        ttl_s: float = 300.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        wait_s: float = WAIT_S,
    ) -> None:
        self._redis = connection
        self.key = KEY_PREFIX + identity
        self.lease_key = self.key + ":reading"
        self._ttl = ttl_s
        self._clock = clock
        self._sleep = sleep
        self._wait_s = wait_s

    def load(self, max_age_s: float) -> tuple[ServedResources, float] | None:
        kept = self.peek(max_age_s)
        if kept is not None:
            return kept
        try:
            if self._redis.set(self.lease_key, b"1", nx=True, px=int(READ_LEASE_S * 1000)):
                return None  # this process reads the server, and `save` ends the lease
        except redis.RedisError as exc:
            log.debug("shared discovery %s: no lease: %s", self.key, exc)
            return None
        # another process is reading the server: its copy will do
        deadline = self._clock() + self._wait_s
        while self._clock() < deadline:
            self._sleep(POLL_S)
            kept = self._read()
            if kept is not None and kept[1] <= max_age_s:
                return kept
        return None

    def peek(self, max_age_s: float) -> tuple[ServedResources, float] | None:
        kept = self._read()
        return kept if kept is not None and kept[1] <= max_age_s else None

    def _read(self) -> tuple[ServedResources, float] | None:
        try:
            data = self._redis.get(self.key)
        except redis.RedisError as exc:
            log.debug("shared discovery %s not read: %s", self.key, exc)
            return None
        if not isinstance(data, bytes | str):
            return None
        try:
            loaded = load_served(data.encode() if isinstance(data, str) else data)
        except (ValueError, KeyError, TypeError):
            log.warning("shared discovery %s is unreadable; reading the server", self.key)
            return None
        if loaded is None:
            return None
        served, at = loaded
        # a clock behind the writer's must not make the copy younger than zero
        return served, max(0.0, self._clock() - at)

    def save(self, served: ServedResources) -> None:
        try:
            with self._redis.pipeline(transaction=False) as pipe:
                pipe.set(self.key, dump_served(served, self._clock()), px=int(self._ttl * 1000))
                pipe.delete(self.lease_key)
                pipe.execute()
        except redis.RedisError as exc:
            log.debug("shared discovery %s not written: %s", self.key, exc)

    def abandon(self) -> None:
        try:
            self._redis.delete(self.lease_key)
        except redis.RedisError as exc:
            log.debug("shared discovery %s: lease not ended: %s", self.key, exc)
