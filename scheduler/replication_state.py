"""What the watcher exports about each Replication for alerts: its phase, whether it is Ready, whether
its spec is invalid, and whether it is still waiting for a first sync that should have come. Pure: a
read object in, a value out; `scheduler.metrics` turns them into gauges.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from drsyncer.api import keys
from drsyncer.api.meta import ConditionStatus, current_conditions, find_condition
from drsyncer.api.replication import Phase, ReplicationMode
from scheduler.entries import ReplicationRead
from scheduler.status import status_patch

PHASES = tuple(p.value for p in Phase)


@dataclass(frozen=True)
class ReplicationState:
    phase: str  # status.phase, "" before anything wrote one
    ready: bool  # condition Ready is True
    invalid: bool  # the spec has errors (InvalidSpec)
    awaiting_first_sync: bool  # valid, not paused, runs by itself, and no run has finished yet
    last_success: float | None = None  # status.lastSuccessfulSyncTime, UNIX seconds


def state_of(read: ReplicationRead, now: datetime, matched: bool | None = None) -> ReplicationState:
    """The exported state of one Replication or NamespaceMapping as the watcher read it, with the
    status the watcher writes for it in the same reconcile (InvalidSpec, Paused, Pending) applied."""
    raw = read.obj.get("status")
    status: dict[str, Any] = dict(raw) if isinstance(raw, Mapping) else {}
    status.update(status_patch(read, now, matched) or {})
    ready = find_condition(current_conditions(status), keys.CONDITION_READY)
    model = read.model
    runs_by_itself = (
        model is not None and not read.paused and model.spec.replication_mode is not ReplicationMode.MANUAL
    )
    return ReplicationState(
        phase=str(status.get("phase") or ""),
        ready=ready is not None and ready.status is ConditionStatus.TRUE,
        invalid=model is None,
        awaiting_first_sync=runs_by_itself and not status.get("lastSyncTime"),
        last_success=_unix(status.get("lastSuccessfulSyncTime")),
    )


class StateMemo:
    """`state_of`, remembered per object: what it derives from the conditions (parsing each into a
    model and working out the watcher's own patch) is taken again only when something it reads moved.

    At fleet size most watch events are a worker's status write after a run; it moves the sync times
    and counts, rarely the phase, the conditions or anything of the spec, so most look-ups reuse the
    last state and only read `lastSuccessfulSyncTime` again. Keyed by any hashable the caller names
    an object with; `forget` the objects gone."""

    def __init__(self) -> None:
        # key → (the parsed model, everything else state_of reads but lastSuccessfulSyncTime, state)
        self._last: dict[object, tuple[object, tuple[object, ...], ReplicationState]] = {}

    def state(
        self, key: object, read: ReplicationRead, now: datetime, matched: bool | None = None
    ) -> ReplicationState:
        """`state_of(read, now, matched)`; `now` only dates the conditions the watcher would write,
        which the state does not carry, so a state derived earlier stays right."""
        raw = read.obj.get("status")
        status: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        inputs = (
            read.errors,
            read.generation,
            matched,
            status.get("phase"),
            status.get("destinations"),
            bool(status.get("lastSyncTime")),
            status.get("conditions"),
        )
        last = self._last.get(key)
        if last is not None and last[0] is read.model and last[1] == inputs:
            success = _unix(status.get("lastSuccessfulSyncTime"))
            state = last[2]
            return state if state.last_success == success else replace(state, last_success=success)
        state = state_of(read, now, matched)
        self._last[key] = (read.model, inputs, state)
        return state

    def forget(self, keep: Iterable[object]) -> None:
        """Drop what is remembered of every object but `keep`."""
        kept = set(keep)
        for key in self._last.keys() - kept:
            del self._last[key]


def _unix(value: object) -> float | None:
    """An RFC 3339 time of the status as UNIX seconds; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
