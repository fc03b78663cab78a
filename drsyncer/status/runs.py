"""Run records in Redis: the latest result of each source namespace of a Replication, and which
namespaces have reported in the current run, so that exactly one task writes the run's status.

Keys (all expire after `ttl_s` without writes), `<owner>` being `<kind>/<namespace>/<name>/<uid>`:

- `drsyncer:runs:<owner>:results` — hash, source namespace → `NamespaceRecord` JSON (latest wins)
- `drsyncer:runs:<owner>:run:<run key>` — when the run started (set by its first task)
- `drsyncer:runs:<owner>:done:<run key>` — set of the namespaces that finished in the run

A run key is the `run_id` of a sync-now, change or cleanup run, and `schedule` for the runs beat
starts (their tasks carry no common id; every entry of a Replication fires on the same tick).
Finishing a namespace stores its record and checks the run's set in one Lua script, so however many
tasks finish at once, one of them, the last, gets the run to report.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import redis

from drsyncer.redis_target import client_from_url
from drsyncer.status.replication import NamespaceRecord

PREFIX = "drsyncer:runs:"
DEFAULT_TTL_S = 7 * 24 * 3600

_FINISH_LUA = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[3])
for i = 4, #ARGV do
  if redis.call('SISMEMBER', KEYS[2], ARGV[i]) == 0 then
    return false
  end
end
local started = redis.call('GET', KEYS[3])
redis.call('DEL', KEYS[2], KEYS[3])
if started then return started end
return ''
"""


def owner_key(kind: str, namespace: str, name: str, uid: str) -> str:
    return f"{kind}/{namespace}/{name}/{uid}"


@dataclass(frozen=True)
class Claim:
    """The run is complete and this caller reports it; `started_at` is when its first task started."""

    started_at: float | None


class RunStore:
    def __init__(self, client: redis.Redis, *, prefix: str = PREFIX, ttl_s: int = DEFAULT_TTL_S) -> None:
        self.redis = client
        self.prefix = prefix
        self.ttl_s = ttl_s
        self._finish = client.register_script(_FINISH_LUA)

    @classmethod
    def from_url(cls, url: str, **options: int | str) -> RunStore:
        return cls(client_from_url(url), **options)  # type: ignore[arg-type]

    def _key(self, owner: str, *parts: str) -> str:
        return ":".join((f"{self.prefix}{owner}", *parts))

    def begin(self, owner: str, run_key: str, started_at: float) -> bool:
        """Note that a task of the run started; True for the first one (the run starts now)."""
        return bool(
            self.redis.set(self._key(owner, "run", run_key), repr(started_at), nx=True, ex=self.ttl_s)
        )

    def finish(
        self, owner: str, run_key: str, record: NamespaceRecord, expected: Iterable[str]
    ) -> Claim | None:
        """Store the namespace's record; a `Claim` when every `expected` namespace has now finished
        in this run (the run's marks are cleared, so only this caller gets it)."""
        wanted = sorted(set(expected) | {record.source_namespace})
        keys = [
            self._key(owner, "results"),
            self._key(owner, "done", run_key),
            self._key(owner, "run", run_key),
        ]
        found = self._finish(
            keys=keys, args=[record.source_namespace, json.dumps(record.to_dict()), self.ttl_s, *wanted]
        )
        if found is None:
            return None
        text = found.decode() if isinstance(found, bytes) else str(found)
        try:
            return Claim(float(text) if text else None)
        except ValueError:
            return Claim(None)

    def records(self, owner: str, namespaces: Sequence[str] | None = None) -> list[NamespaceRecord]:
        """The latest record of each namespace (of `namespaces` only, when given)."""
        key = self._key(owner, "results")
        if namespaces is not None:
            # one task asks for its own namespace: read those fields, not every namespace's record
            wanted = sorted(set(namespaces))
            values = self.redis.hmget(key, wanted) if wanted else []
            return [NamespaceRecord.from_dict(json.loads(v)) for v in values if v is not None]
        raw = self.redis.hgetall(key)
        out = [NamespaceRecord.from_dict(json.loads(value)) for value in raw.values()]
        return sorted(out, key=lambda r: r.source_namespace)

    def forget(self, owner: str, namespaces: Iterable[str]) -> None:
        """Drop the records of namespaces the Replication no longer syncs."""
        gone = list(namespaces)
        if gone:
            self.redis.hdel(self._key(owner, "results"), *gone)
