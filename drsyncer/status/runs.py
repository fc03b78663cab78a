"""Run records in Redis: the latest result of each source namespace of a Replication, and which
namespaces have reported in the current run, so that exactly one task writes the run's status.

Keys (all expire after `ttl_s` without writes), `<owner>` being `<kind>/<namespace>/<name>/<uid>`:

- `drsyncer:runs:<owner>:results` — hash, source namespace → `NamespaceRecord` JSON (latest wins)
- `drsyncer:runs:<owner>:run:<run key>` — when the run started (set by its first task)
- `drsyncer:runs:<owner>:done:<run key>` — set of the namespaces that finished in the run

A run key is the `run_id` of a sync-now, change or cleanup run, and `schedule` for the runs beat
starts (their tasks carry no common id; every entry of a Replication fires on the same tick).
Finishing a namespace stores its record and checks the run's set in one Lua script, so however many
tasks finish at once, one of them, the last, gets the run to report. The same script refuses the
record of a delivery that a later delivery of the same task has overtaken (`Superseded`).
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

# KEYS: results, done set, run mark[, a lock to release]; ARGV: namespace, record JSON, ttl, task id,
# run key, started at, the lock's owner ('' for none), the expected namespaces...
_FINISH_LUA = """
if KEYS[4] and redis.call('GET', KEYS[4]) == ARGV[7] then redis.call('DEL', KEYS[4]) end
local latest = redis.call('HGET', KEYS[1], ARGV[1])
if latest and ARGV[4] ~= '' then
  local ok, record = pcall(cjson.decode, latest)
  if ok and type(record) == 'table' and record['task_id'] == ARGV[4] and record['run_id'] == ARGV[5]
      and tonumber(record['started_at']) and tonumber(record['started_at']) > tonumber(ARGV[6]) then
    return {'superseded'}
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[3])
for i = 8, #ARGV do
  if redis.call('SISMEMBER', KEYS[2], ARGV[i]) == 0 then
    return false
  end
end
local started = redis.call('GET', KEYS[3])
redis.call('DEL', KEYS[2], KEYS[3])
if started then return {'claim', started} end
return {'claim', ''}
"""


def owner_key(kind: str, namespace: str, name: str, uid: str) -> str:
    return f"{kind}/{namespace}/{name}/{uid}"


@dataclass(frozen=True)
class Claim:
    """The run is complete and this caller reports it; `started_at` is when its first task started."""

    started_at: float | None


class Superseded:
    """The namespace's latest record is of a later delivery of the same task and run: this delivery
    was frozen (SIGSTOP, a paused VM) past the visibility timeout, the task was delivered again and
    finished, and this one's result is out of date; nothing was stored."""


SUPERSEDED = Superseded()


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
        key, value = self.start_mark(owner, run_key, started_at)
        return bool(self.redis.set(key, value, nx=True, ex=self.ttl_s))

    def start_mark(self, owner: str, run_key: str, started_at: float) -> tuple[str, str]:
        """(key, value) that `begin` sets if absent, for `ttl_s`: a caller may set it itself in a
        script of its own (workers.guards takes the namespace's lock and sets it in one call)."""
        return self._key(owner, "run", run_key), repr(started_at)

    def finish(
        self,
        owner: str,
        run_key: str,
        record: NamespaceRecord,
        expected: Iterable[str],
        release: tuple[str, str] | None = None,
    ) -> Claim | Superseded | None:
        """Store the namespace's record; a `Claim` when every `expected` namespace has now finished
        in this run (the run's marks are cleared, so only this caller gets it). `SUPERSEDED`, storing
        nothing, when the namespace's latest record is of the same task (`record.task_id`) and run,
        started later than `record.started_at`: a later delivery of this task finished first.

        `release` (a lock's key and owner: workers.guards) deletes that lock in the same call when
        `owner` still holds it, whatever the answer: the task's last Redis round trip does both."""
        wanted = sorted(set(expected) | {record.source_namespace})
        keys = [
            self._key(owner, "results"),
            self._key(owner, "done", run_key),
            self._key(owner, "run", run_key),
        ]
        if release is not None:
            keys.append(release[0])
        found = self._finish(
            keys=keys,
            args=[
                record.source_namespace,
                json.dumps(record.to_dict()),
                self.ttl_s,
                record.task_id,
                run_key,
                repr(record.started_at),
                release[1] if release is not None else "",
                *wanted,
            ],
        )
        if found is None:
            return None
        answer = [v.decode() if isinstance(v, bytes) else str(v) for v in found]
        if answer[0] == "superseded":
            return SUPERSEDED
        try:
            return Claim(float(answer[1]) if answer[1] else None)
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
