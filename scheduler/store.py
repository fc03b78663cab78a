"""The redbeat schedule in Redis, made to hold exactly the desired entries.

Entries are written with redbeat's own `RedBeatSchedulerEntry`, so beat reads them as it reads any
other; the task is named, never imported (the workers define it).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from celery import Celery
from redbeat import RedBeatSchedulerEntry
from redbeat.decoder import RedBeatJSONEncoder, to_timestamp
from redbeat.schedulers import ensure_conf, get_redis

from drsyncer.api.schedule import either_day, next_run
from drsyncer.task_contract import TASK_SYNC_NAMESPACE
from scheduler.entries import Job, entry_scope
from scheduler.schedules import celery_schedule

log = logging.getLogger(__name__)


@dataclass
class StoreChanges:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    # the marker of an earlier reconcile was gone: Redis lost what was written before
    marker_missing: bool = False

    @property
    def empty(self) -> bool:
        return not (self.added or self.updated or self.removed)


def _definition(entry: RedBeatSchedulerEntry) -> dict[str, Any]:
    """What `RedBeatSchedulerEntry.save` stores as `definition`, to compare with the stored one."""
    return {
        "name": entry.name,
        "task": entry.task,
        "args": entry.args,
        "kwargs": entry.kwargs,
        "options": entry.options,
        "schedule": entry.schedule,
        "enabled": entry.enabled,
    }


def _normalised(definition: Mapping[str, Any]) -> Any:
    return json.loads(json.dumps(definition, cls=RedBeatJSONEncoder))


class ScheduleStore:
    """The drsyncer entries of one redbeat schedule, limited to one namespace's when `namespace` is set
    (so watchers of different namespaces can share a Redis)."""

    def __init__(self, app: Celery, namespace: str | None = None) -> None:
        self.app = app
        ensure_conf(app)
        self.scope = entry_scope(namespace or None)
        # the entries in scope as the last reconcile left them in Redis; None: not known
        self._known: dict[str, Job] | None = None

    @property
    def _prefix(self) -> str:
        return str(self.app.redbeat_conf.key_prefix)

    @property
    def marker_key(self) -> str:
        """A key written with every reconcile: gone means Redis lost the schedule (a restart without
        persistence, a failover to a replica that had not caught up, a flush). Outside the scope's
        key pattern, so it is never taken for an entry."""
        return f"{self._prefix}:drsyncer-schedule-written:{self.scope}"

    def intact(self) -> bool:
        """False when the marker is gone, so the entries may be too (raises Redis errors)."""
        return bool(get_redis(self.app).exists(self.marker_key))

    def key(self, name: str) -> str:
        return RedBeatSchedulerEntry.generate_key(self.app, name)

    def names(self) -> set[str]:
        """Entry names in scope, from the entry hashes and the schedule's sorted set alike (an entry
        half-written by a crash is still found and removed)."""
        redis = get_redis(self.app)
        key_scope = self._prefix + self.scope
        found = {str(k) for k in redis.scan_iter(match=_glob_escape(key_scope) + "*", count=500)}
        found |= {
            str(k)
            for k in redis.zrange(self.app.redbeat_conf.schedule_key, 0, -1)
            if str(k).startswith(key_scope)
        }
        return {k[len(self._prefix) :] for k in found}

    def load(self, name: str) -> RedBeatSchedulerEntry:
        """The entry as beat would load it (KeyError when absent)."""
        return RedBeatSchedulerEntry.from_key(self.key(name), app=self.app)

    def _entry(self, job: Job) -> RedBeatSchedulerEntry:
        return RedBeatSchedulerEntry(
            job.name,
            TASK_SYNC_NAMESPACE,
            celery_schedule(job.schedule or ""),
            kwargs=job.task_kwargs(),
            options=job.task_options(),
            app=self.app,
        )

    def stored_definitions(self, names: Iterable[str]) -> dict[str, Any]:
        """The stored definitions of several entries in one round trip (a selector may match hundreds)."""
        wanted = list(names)
        with get_redis(self.app).pipeline() as pipe:
            for name in wanted:
                pipe.hget(self.key(name), "definition")
            raw = pipe.execute()
        return {name: json.loads(value) for name, value in zip(wanted, raw, strict=True) if value}

    def save(self, job: Job, *, keep_last_run: bool) -> None:
        entry = self._entry(job)
        last_run = None
        if keep_last_run:
            try:
                last_run = self.load(job.name).last_run_at
            except KeyError:
                last_run = None
        # no last run: beat runs a new entry at its next tick instead of one interval from now
        entry.last_run_at = last_run
        entry.save()
        text = job.schedule or ""
        if last_run is not None and either_day(text):
            # redbeat scored it by Celery's crontab, which wants a day matching both day fields;
            # beat fires it on a day matching either (workers.beat.EitherDayCrontab)
            due = next_run(text, last_run if last_run.tzinfo else last_run.replace(tzinfo=UTC))
            get_redis(self.app).zadd(self.app.redbeat_conf.schedule_key, {entry.key: to_timestamp(due)})
        if last_run is None:
            # save() keeps an existing meta; a new entry must not inherit a stale one
            get_redis(self.app).hset(entry.key, "meta", json.dumps({"last_run_at": None}))

    def delete(self, name: str) -> None:
        RedBeatSchedulerEntry(name, app=self.app).delete()

    def reconcile(
        self, desired: Mapping[str, Job], keep: Iterable[str] = (), *, verify: bool = True
    ) -> StoreChanges:
        """Add missing entries, rewrite changed ones (keeping when they last ran), remove the rest of
        the scope except names starting with one of `keep`. Running it twice changes nothing.

        `verify` True reads every entry of the scope back from Redis and compares definitions (what a
        resync does). False compares `desired` with what the last reconcile left in Redis and
        writes only the differences, so its cost follows what changed, not the size of the
        schedule; it verifies anyway when nothing is known yet. Raises Redis errors (and then
        verifies next time).
        """
        if verify or self._known is None:
            return self._reconcile_verified(desired, tuple(keep))
        kept = tuple(keep)
        known = self._known
        self._known = None  # until this one has written everything
        changes = StoreChanges(marker_missing=not self.intact())
        if changes.marker_missing:  # Redis lost what was written: what is known is wrong
            return self._reconcile_verified(desired, kept, changes.marker_missing)
        for name, job in sorted(desired.items()):
            if not name.startswith(self.scope) or known.get(name) == job:
                continue
            self.save(job, keep_last_run=name in known)
            (changes.updated if name in known else changes.added).append(name)
        for name in sorted(known.keys() - desired.keys()):
            if kept and name.startswith(kept):
                continue
            self.delete(name)
            changes.removed.append(name)
        self._known = {
            **{n: j for n, j in known.items() if kept and n.startswith(kept)},
            **{n: j for n, j in desired.items() if n.startswith(self.scope)},
        }
        self._finish(changes)
        return changes

    def _reconcile_verified(
        self, desired: Mapping[str, Job], kept: tuple[str, ...], marker_missing: bool | None = None
    ) -> StoreChanges:
        self._known = None
        changes = StoreChanges(marker_missing=not self.intact() if marker_missing is None else marker_missing)
        existing = self.names()
        stored_definitions = self.stored_definitions([n for n in desired if n in existing])
        for name, job in sorted(desired.items()):
            if not name.startswith(self.scope):
                continue
            stored = stored_definitions.get(name)
            if stored is None:
                self.save(job, keep_last_run=False)
                changes.added.append(name)
            elif stored != _normalised(_definition(self._entry(job))):
                self.save(job, keep_last_run=True)
                changes.updated.append(name)
        remaining: dict[str, Job] = {n: j for n, j in desired.items() if n.startswith(self.scope)}
        for name in sorted(existing - set(desired)):
            if name.startswith(kept) and kept:
                continue
            self.delete(name)
            changes.removed.append(name)
        self._finish(changes)
        # kept names are in Redis but their jobs are not known: they are compared at the next verify
        self._known = remaining if not kept else None
        return changes

    def _finish(self, changes: StoreChanges) -> None:
        get_redis(self.app).set(self.marker_key, "1")
        if not changes.empty:
            log.info(
                "schedule entries: %d added, %d updated, %d removed",
                len(changes.added),
                len(changes.updated),
                len(changes.removed),
            )


def _glob_escape(text: str) -> str:
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)
