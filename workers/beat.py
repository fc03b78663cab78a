"""Beat's scheduler: RedBeat, plus a heartbeat file touched on every tick (for `drsyncer probe beat`),
plus riding out a Redis outage or restart instead of exiting.

RedBeat's own `tick` extends its lock and reads the schedule; an unreachable Redis raises
`ConnectionError` from there, and a Redis restarted without persistence has forgotten the lock, so
the extend raises `LockNotOwnedError` (celery-redbeat 2.4, `RedBeatScheduler.tick`). Either ends
Celery's beat loop, and with it the process. Here a tick without Redis sends nothing, touches the
heartbeat file (beat is alive and trying; a restart cannot bring Redis back) and is tried again after
`REDIS_RETRY_S`; a lost lock is taken again, without waiting, when nobody else holds it,
and otherwise this beat stands by until it can take it (a second beat may have taken it meanwhile).

A beat that does not hold the lock does not tick and so does not touch its heartbeat file: the
probe's limit must allow for `DRSYNCER_BEAT_LOCK_TIMEOUT`.

Interval (`@every`) entries fire on their owner's grid (`GridEntry`), not one interval after the
previous send.

An entry whose previous run still waits in the queue (no worker has started it: the workers are
stopped, or behind) is not sent again when it falls due; its slot passes as if sent. Beat counts each
entry's sends in Redis and a worker takes one off as it starts the task
(`drsyncer.task_contract.QUEUED_PREFIX`), so a stopped fleet holds one run per entry in the queue
however long it is down, and when the workers come back each entry runs once, not once per missed
slot. The count is sends less starts in whichever order they land (a worker often starts a task
before beat has added the send). A count left above 0 (its task purged from the queue by hand) holds
the entry back only while the queue holds anything, and lapses `QUEUED_TTL_S` after the entry's last
send or start.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import redis
from celery.beat import ScheduleEntry
from celery.schedules import crontab, schedule
from redbeat import RedBeatScheduler, RedBeatSchedulerEntry
from redbeat.decoder import RedBeatJSONEncoder, to_timestamp
from redbeat.schedulers import LUA_EXTEND_TO_SCRIPT, get_redis
from redis.exceptions import LockError

from drsyncer.api import keys
from drsyncer.api.schedule import either_day, interval_run_slot, next_run, schedule_key
from drsyncer.task_contract import QUEUED_TTL_S, SYNC_QUEUE, TASK_SYNC_NAMESPACE, queued_key
from workers import probes

log = logging.getLogger(__name__)

# how long a beat that cannot reach Redis waits before it tries again
REDIS_RETRY_S = 1.0
# a tick's sends are published together, in pipelines of at most this many Redis commands (kombu's
# `Producer.batch`): a send on its own takes a round trip and a new Redis client, more than half of
# beat's CPU per send (0.65 ms → 0.29 ms measured alone), and a wave of a Replication's namespaces
# reaches the workers at once instead of one at a time
SEND_BATCH = 64
# how often beat says which due entries it held back because their previous run still waits
HELD_LOG_S = 60.0


# an entry's state after a send, stored only while the entry is still defined (the watcher may have
# deleted it since the tick read it): KEYS entry hash, schedule zset; ARGV meta JSON, new score
STORE_META_LUA = """
if redis.call('HEXISTS', KEYS[1], 'definition') == 1 then
  redis.call('HSET', KEYS[1], 'meta', ARGV[1])
  redis.call('ZADD', KEYS[2], ARGV[2], KEYS[1])
end
"""


class EitherDayCrontab(crontab):
    """A cron that restricts both its day of month and its day of week, fired on every day matching
    either, as cron reads it (drsyncer.api.schedule.either_day); Celery's crontab fires only on days
    matching both. Its times come from drsyncer.api.schedule.next_run, which also gives the workers'
    `nextSyncTime`. Stored in Redis as the crontab it is (redbeat encodes any crontab by its fields);
    `GridEntry` reads it back as this."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.text = _cron_text(self)

    def remaining_estimate(self, last_run_at: datetime, ffwd: Any = None) -> timedelta:
        now = self.maybe_make_aware(self.now())
        return next_run(self.text, self.maybe_make_aware(last_run_at)) - now


def _cron_text(cron: crontab) -> str:
    """The five fields a crontab was made from, as a cron line."""
    fields = (
        cron._orig_minute,
        cron._orig_hour,
        cron._orig_day_of_month,
        cron._orig_month_of_year,
        cron._orig_day_of_week,
    )
    return " ".join(str(f) for f in fields)


def as_cron_reads_it(entry_schedule: Any, app: Any) -> Any:
    """`entry_schedule`, or an `EitherDayCrontab` for a crontab restricting both of its day fields."""
    if type(entry_schedule) is not crontab or not either_day(_cron_text(entry_schedule)):
        return entry_schedule
    s = entry_schedule
    return EitherDayCrontab(
        minute=s._orig_minute,
        hour=s._orig_hour,
        day_of_week=s._orig_day_of_week,
        day_of_month=s._orig_day_of_month,
        month_of_year=s._orig_month_of_year,
        app=app,
        **s._orig_kwargs,
    )


class GridEntry(RedBeatSchedulerEntry):
    """A redbeat entry whose interval runs keep to a grid.

    Celery counts an interval from the moment a run was sent (`ScheduleEntry._next_instance` stores
    "now" as `last_run_at`), so a run sent late (a wave of entries due together, a busy or restarted
    beat) pushes every later run back, and a fleet's entries drift later each period. Here the stored
    `last_run_at` is the grid slot the run stands for (drsyncer.api.schedule.interval_run_slot, keyed
    by the owning Replication, so that its entries stay together as one run), from which the workers
    also compute `nextSyncTime`. Cron entries are left as they are, a cron being a grid already,
    except that one restricting both of its day fields is read as cron reads it (`EitherDayCrontab`).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.schedule = as_cron_reads_it(cast(Any, self).schedule, self.app)

    def _run_at(self, last_run_at: Any) -> Any:
        """The `last_run_at` a send now records: the grid slot for an interval entry."""
        # `schedule` is Celery's interval type; crontab and solar are not subclasses of it
        if last_run_at is None and type(self.schedule) is schedule:
            owner = (self.kwargs or {}).get("replication") or {}
            if owner.get("namespace") and owner.get("name"):
                kind = str(owner.get("kind") or keys.KIND_REPLICATION)
                key = schedule_key(kind, owner["namespace"], owner["name"])
                last_run_at = interval_run_slot(key, self.schedule.run_every, self._default_now())
        return last_run_at

    def _next_instance(self, last_run_at: Any = None, only_update_last_run_at: bool = False) -> Any:
        return super()._next_instance(
            last_run_at=self._run_at(last_run_at), only_update_last_run_at=only_update_last_run_at
        )

    # redbeat binds these names to its own method; bind them to this one
    __next__ = next = _next_instance

    def advanced(self) -> GridEntry:
        """The entry as a send now leaves it (next `last_run_at`, one more run), not yet stored:
        `store_meta` stores it, as `next(entry)` does at once."""
        entry: GridEntry = ScheduleEntry._next_instance(self, last_run_at=self._run_at(None))
        return entry

    def store_meta(self, pipe: Any, script: Any) -> None:
        """Queue on a Redis pipeline what redbeat 2.4's `_next_instance` writes after a send: the meta
        (`last_run_at`, `total_run_count`) and the entry's new score in the schedule; through
        `script` (`STORE_META_LUA`), so that an entry the watcher deleted meanwhile stays deleted."""
        meta = {"last_run_at": self.last_run_at, "total_run_count": self.total_run_count}
        script(
            keys=[self.key, self.app.redbeat_conf.schedule_key],
            args=[json.dumps(meta, cls=RedBeatJSONEncoder), self.score],
            client=pipe,
        )

    @property
    def due_at(self) -> Any:
        """When the entry falls due: its score in redbeat's schedule, by which beat picks what to load.
        redbeat 2.4 adds the schedule's remaining time (which Celery counts from now) to
        `last_run_at`, right only when `last_run_at` is now, which a grid slot usually is not."""
        if self.last_run_at is None:
            return self._default_now()
        if type(self.schedule) is schedule:  # exact, and past when overdue: beat loads it at once
            return self.schedule.maybe_make_aware(self.last_run_at) + self.schedule.run_every
        delta = self.schedule.remaining_estimate(self.last_run_at)
        if delta is None:  # no run after last_run_at (a schedule that ended)
            return None
        now = self._default_now()
        return now if delta.total_seconds() < 0 else now + delta


def _described(entry: ScheduleEntry) -> str:
    """`Replication ns/name, namespace src` from an entry's task arguments, else the entry's name."""
    try:
        ref, source = entry.kwargs["replication"], entry.kwargs["source_namespace"]
        return f"{ref['kind']} {ref['namespace']}/{ref['name']}, namespace {source}"
    except (KeyError, TypeError):
        return str(entry.name)


class HeartbeatRedBeatScheduler(RedBeatScheduler):
    """RedBeat's scheduler with the heartbeat and Redis handling above, and fewer Redis round trips
    for a wave of due entries: the entries a tick may send are read together (`schedule`), their
    tasks published together (`SEND_BATCH`), and the entries it sent recorded together once the
    tick has published them (`reserve`), where redbeat 2.4 reads, sends and records each entry with
    round trips of its own. Recording after the sends keeps delivery at least once: a beat that stops
    between a send and its record sends that entry again when it (or the next beat) starts, instead
    of losing the run."""

    Entry = GridEntry
    heartbeat_path: Path = probes.heartbeat_file("beat")  # set by the entry point
    _redis_away = False
    _standing_by = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._sent: list[GridEntry] = []
        self._queued: list[str] = []  # entries this tick published a task of
        self._waiting: set[str] = set()  # entries whose previous run no worker has started
        self._held: list[str] = []  # due entries held back for that since the last warning
        self._held_logged = float("-inf")
        super().__init__(*args, **kwargs)

    def maybe_due(self, entry: ScheduleEntry, **kwargs: Any) -> Any:
        """Send the entry's task if it is due (RedBeat's `maybe_due`), unless its previous run still
        waits in the queue: then the slot passes as if sent, and nothing is sent."""
        if entry.name not in self._waiting:
            return super().maybe_due(entry, **kwargs)
        due, next_time_to_run = entry.is_due()
        if due:
            self.reserve(entry)
            self._held.append(_described(entry))
        return next_time_to_run

    def apply_async(
        self, entry: ScheduleEntry, producer: Any = None, advance: bool = True, **kwargs: Any
    ) -> Any:
        sent = super().apply_async(entry, producer=producer, advance=advance, **kwargs)
        # (a send that failed raised: nothing waits for it); the worker takes the count off as it
        # starts a sync (SyncJob.entry names the same entry)
        if entry.task == TASK_SYNC_NAMESPACE:
            self._queued.append(entry.name)
        return sent

    def reserve(self, entry: GridEntry) -> GridEntry:
        """Called by Celery's `Scheduler.apply_async` before it sends the entry's task; the new state
        is stored by `_record_sent` at the end of the tick."""
        advanced = entry.advanced()
        self._sent.append(advanced)
        return advanced

    def _record_sent(self) -> None:
        sent, self._sent = self._sent, []
        queued, self._queued = self._queued, []
        if not sent:
            return
        client = get_redis(self.app)
        script = client.register_script(STORE_META_LUA)
        with client.pipeline() as pipe:
            for entry in sent:
                entry.store_meta(pipe, script)
            for name in queued:
                pipe.incr(queued_key(name))
                pipe.expire(queued_key(name), QUEUED_TTL_S)
            pipe.execute()

    def _report_held(self) -> None:
        """A warning at most every `HELD_LOG_S` with the runs held back since the last one."""
        now = time.monotonic()
        if not self._held or now - self._held_logged < HELD_LOG_S:
            return
        held, self._held = self._held, []
        self._held_logged = now
        log.warning(
            "beat: %d due run(s) not sent in the last %.0f s because the previous run of the same "
            "namespace still waits in the queue (no worker has started it: the workers are stopped or "
            "behind), e.g. %s; the one waiting runs when a worker takes it",
            len(held),
            HELD_LOG_S,
            held[0],
        )

    def _ensure_connected(self) -> Any:
        """The connection beat sends on, made as Celery's `Scheduler._ensure_connected` makes it
        (once, at the first send), but touching the heartbeat file on every try: tries have no limit
        (`broker_connection_max_retries`), and a beat whose Redis went away just then waits here for
        it, alive, as a tick without Redis does."""

        def retrying(exc: Exception, interval: float) -> None:
            log.warning("beat: Redis unreachable (%s); trying again in %.0fs", exc, interval)
            probes.beat(self.heartbeat_path)

        return self.connection.ensure_connection(retrying, self.app.conf.broker_connection_max_retries)

    def tick(self, *args: Any, **kwargs: Any) -> Any:
        try:
            if self.lock_key and not self._hold_lock():
                return self.max_interval
            published = False
            try:
                with self.producer.batch(max_size=SEND_BATCH):
                    interval = super().tick(*args, **kwargs)
                published = True
            finally:
                # sends not published (the tick or the last pipeline failed; kombu drops what it
                # had not flushed) are not recorded, so the entries stay due and go out again
                if published:
                    self._record_sent()
                    self._report_held()
                else:
                    self._sent, self._queued, self._held = [], [], []
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            if not self._redis_away:
                log.warning("beat: Redis unreachable (%s); sending nothing until it is back", exc)
            self._redis_away = True
            probes.beat(self.heartbeat_path)  # alive and trying: a restart cannot bring Redis back
            return REDIS_RETRY_S
        except LockError as exc:
            # extended between _hold_lock and super().tick by a Redis that lost the lock meanwhile
            log.warning("beat: lock lost (%s); taking it again", exc)
            self.lock = None
            return REDIS_RETRY_S
        if self._redis_away:
            log.info("beat: Redis is back")
            self._redis_away = False
        probes.beat(self.heartbeat_path)
        return interval

    @property
    def schedule(self) -> dict[str, Any]:
        """The entries due now and the first one due within `max_interval`, by name, read from Redis
        in one round trip for all of them.

        redbeat 2.4 (`RedBeatScheduler.schedule`) picks the same keys but reads each entry with a
        round trip of its own (`RedBeatSchedulerEntry.from_key`); with a wave of a Replication's
        namespaces due together that was a good part of beat's time between two sends. A key
        without a definition (deleted meanwhile) is dropped from the schedule, as redbeat does."""
        conf = self.app.redbeat_conf
        client = get_redis(self.app)
        now = to_timestamp(self.app.now())
        with client.pipeline() as pipe:
            pipe.zrangebyscore(conf.schedule_key, 0, now)
            pipe.zrangebyscore(conf.schedule_key, f"({now}", now + self.max_interval, start=0, num=1)
            pipe.llen(SYNC_QUEUE)
            due, next_due, queue_length = pipe.execute()
        keys_ = due + next_due
        if not keys_:
            return {}
        names = [key.removeprefix(conf.key_prefix) for key in keys_]
        with client.pipeline(transaction=False) as pipe:
            for key, name in zip(keys_, names, strict=True):
                pipe.hmget(key, "definition", "meta")
                pipe.get(queued_key(name))
            answers = pipe.execute()
        stored, waiting = answers[0::2], answers[1::2]
        # an empty queue holds no run of any entry, whatever a count says (its task was purged)
        self._waiting = (
            {name for name, count in zip(names, waiting, strict=True) if count is not None and int(count) > 0}
            if queue_length
            else set()
        )
        entries: dict[str, Any] = {}
        for key, (definition, meta) in zip(keys_, stored, strict=True):
            if not definition:
                log.warning("beat: schedule entry %s has no definition; removing it", key)
                client.zrem(conf.schedule_key, key)
                continue
            fields = self.Entry.decode_definition(definition)
            last_run = self.Entry.decode_meta(meta)
            entry = self.Entry(app=self.app, **{**fields, **last_run})
            # ScheduleEntry's constructor makes a missing last_run_at "now"; stored is what counts
            entry.last_run_at = last_run["last_run_at"]
            entries[entry.name] = entry
        return entries

    def _hold_lock(self) -> bool:
        """True when this beat holds RedBeat's lock, taking it (without waiting) if it was lost or never
        taken: a Redis restarted without its data no longer has it, and RedBeat's start-up attempt
        fails silently when Redis is away at start. Raises Redis connection errors."""
        if self.lock is not None and self.lock.owned():
            return True
        lock = self.lock or self._new_lock()
        if lock.acquire(blocking=False):
            log.warning(
                "beat: lock %s taken again (Redis lost it or was away when beat started)", self.lock_key
            )
            self.lock = lock
            self._standing_by = False
            return True
        if not self._standing_by:
            log.warning("beat: lock %s is held by another beat; standing by", self.lock_key)
        self._standing_by = True
        self.lock = lock
        return False

    def close(self) -> None:
        try:
            super().close()
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            # the lock expires by itself; a beat told to stop must stop even without Redis
            log.warning("beat: could not release the lock, Redis unreachable: %s", exc)

    def _new_lock(self) -> Any:
        # as RedBeat's beat_init handler builds it: a timeout-long lock, extended to a fixed expiry
        client = get_redis(self.app)
        lock = client.lock(self.lock_key, timeout=self.lock_timeout, sleep=self.max_interval)
        lock.lua_extend = client.register_script(LUA_EXTEND_TO_SCRIPT)
        return lock
