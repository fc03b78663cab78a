"""Kubeconfig Secret re-reads shared through Redis: one process per Secret per interval reads it.

Every process keeping RemoteCluster clients re-reads each kubeconfig Secret at most every
`recheck_s` (drsyncer.kube.remote_clusters), so that rotated credentials land without a restart. At
fleet size that adds up on the controller's API server: 10 worker pods of 4 pool processes and 100
RemoteClusters re-read every 5 s are up to 800 GETs a second. Here the process that reads a Secret
leaves a note in Redis: which `metadata.resourceVersion` it read, and when. Another process whose
client was built from that same resourceVersion takes the note as its own re-read, current from the
note's time (not its own), so no client is older than `recheck_s` after the last read by anyone: a
rotation lands in every process within `recheck_s`, as before, and a process that built its client
from another version reads the Secret itself.

One string key per Secret, `drsyncer:kubeconfig-read:<controller>:<namespace>/<name>`, holding
`{"resourceVersion": ..., "at": <Unix seconds>}` for `recheck_s`. It holds no part of the Secret's
data. A resourceVersion changes with every write of the object, a deleted and re-created Secret
included (Kubernetes API concepts, "Resource versions"), so an equal one means the same content; it
is only comparable within one cluster, hence `<controller>`: the controller client's `identity`
(16 hex digits of its server URL and name), so installations sharing a Redis never take each
other's reads. A note's age is the larger of what the clocks say and what Redis's expiry of it
says, so a pod whose clock is behind never trusts a read for longer than `recheck_s`.

While one process re-reads a Secret in the background it holds `<key>:reading` (at most
`READ_LEASE_S`), and the others due at that moment (a wave of scheduled tasks makes them due
together) keep their client one lookup longer instead of reading too, then take its note. Redis
failing costs a read of the Secret, never a lookup.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

import redis

log = logging.getLogger(__name__)

KEY_PREFIX = "drsyncer:kubeconfig-read:"
READ_LEASE_S = 5.0  # a process re-reading a Secret holds its lease this long at most


class SharedSecretReads:
    """The latest read of each kubeconfig Secret in the controller cluster `controller` (its client's
    `identity`) by any process using `connection`, kept `recheck_s` seconds; `clock` gives Unix
    seconds (every process's must agree, as pods' clocks do)."""

    def __init__(
        self,
        connection: redis.Redis,
        controller: str,
        recheck_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = connection
        self._prefix = f"{KEY_PREFIX}{controller}:"
        self.recheck_s = recheck_s
        self._clock = clock

    def key(self, namespace: str, name: str) -> str:
        return f"{self._prefix}{namespace}/{name}"

    def seen(self, namespace: str, name: str) -> tuple[str, float] | None:
        """(resourceVersion, seconds since it was read) of Secret `namespace/name`, read by some
        process less than `recheck_s` ago; None when there is no such read or Redis cannot say."""
        key = self.key(namespace, name)
        try:
            with self._redis.pipeline(transaction=False) as pipe:
                pipe.get(key)
                pipe.pttl(key)
                data, ttl_ms = pipe.execute()
        except redis.RedisError as exc:
            log.debug("shared Secret read %s/%s not looked up: %s", namespace, name, exc)
            return None
        if not isinstance(data, bytes | str):
            return None
        try:
            note = json.loads(data)
            version, at = str(note["resourceVersion"]), float(note["at"])
        except (ValueError, KeyError, TypeError):
            return None
        # the older of two ages: by the clocks (this process's against the reader's), and by Redis's
        # own count-down of the note, which no pod's clock skews
        age = max(0.0, self._clock() - at, self.recheck_s - max(0, int(ttl_ms or 0)) / 1000)
        return (version, age) if version and age < self.recheck_s else None

    def claim(self, namespace: str, name: str) -> bool:
        """Whether this process may re-read Secret `namespace/name` now: False while another one is
        reading it (its note follows); True when Redis cannot say."""
        try:
            got = self._redis.set(
                self.key(namespace, name) + ":reading", b"1", nx=True, px=int(READ_LEASE_S * 1000)
            )
        except redis.RedisError as exc:
            log.debug("shared Secret read %s/%s: no lease: %s", namespace, name, exc)
            return True
        return bool(got)

    def record(self, namespace: str, name: str, resource_version: str) -> None:
        """Note that this process just read Secret `namespace/name` at `resource_version` (and end
        its lease, if it held one)."""
        key = self.key(namespace, name)
        note = json.dumps({"resourceVersion": resource_version, "at": self._clock()}, separators=(",", ":"))
        try:
            with self._redis.pipeline(transaction=False) as pipe:
                if resource_version:  # else nothing another process could compare with
                    pipe.set(key, note, px=max(1, int(self.recheck_s * 1000)))
                pipe.delete(key + ":reading")
                pipe.execute()
        except redis.RedisError as exc:
            log.debug("shared Secret read %s/%s not noted: %s", namespace, name, exc)

    def release(self, namespace: str, name: str) -> None:
        """End this process's lease on Secret `namespace/name` without a note (its read failed)."""
        try:
            self._redis.delete(self.key(namespace, name) + ":reading")
        except redis.RedisError as exc:
            log.debug("shared Secret read %s/%s: lease not ended: %s", namespace, name, exc)


__all__ = ["KEY_PREFIX", "READ_LEASE_S", "SharedSecretReads"]
