"""Leader election with a `coordination.k8s.io/v1` Lease, so one watcher replica of several is active.

`decide` is the whole policy as a pure function. A Lease held by someone else counts as expired when
its own `renewTime` is a lease duration old, or (as client-go does, immune to clock skew) when this
replica has seen no renewal of it for a lease duration on its own monotonic clock. Reading
`renewTime` lets a standby take over within a lease duration of the leader's death; it is safe
against clock skew up to a third of the duration, because a leader that cannot renew steps down
after two thirds of it (`LeaseElector.is_leader`).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from drsyncer.errors import DrsyncerError
from drsyncer.kube import audit
from drsyncer.kube.client import ClusterClient
from drsyncer.kube.discovery import ResourceRef, offline_ref
from drsyncer.kube.errors import ApiError, Conflict

log = logging.getLogger(__name__)


def _leases() -> ResourceRef:
    ref = offline_ref("leases")
    assert ref is not None, "Lease is in the built-in kinds table"
    return ref


LEASES = _leases()


class Action(StrEnum):
    CREATE = "create"  # no Lease yet: create it holding it
    RENEW = "renew"  # ours: move renewTime
    TAKE_OVER = "take-over"  # free or expired: write ourselves in
    WAIT = "wait"  # someone else holds it


@dataclass(frozen=True)
class Record:
    """The parts of a Lease the election reads."""

    holder: str
    duration_s: float
    renew_time: str
    transitions: int

    @classmethod
    def from_lease(cls, lease: Mapping[str, Any]) -> Record:
        spec = lease.get("spec") or {}
        return cls(
            holder=str(spec.get("holderIdentity") or ""),
            duration_s=float(spec.get("leaseDurationSeconds") or 0),
            renew_time=str(spec.get("renewTime") or ""),
            transitions=int(spec.get("leaseTransitions") or 0),
        )

    def expiry(self) -> datetime | None:
        """When the holder's last renewal runs out, by the Lease's own `renewTime`."""
        try:
            renewed = datetime.fromisoformat(self.renew_time.replace("Z", "+00:00"))
        except ValueError:
            return None
        if renewed.tzinfo is None:
            renewed = renewed.replace(tzinfo=UTC)
        return renewed + timedelta(seconds=self.duration_s)


@dataclass(frozen=True)
class Observed:
    """A record and when (monotonic seconds) this replica first saw it."""

    record: Record
    at: float


def decide(
    current: Record | None, me: str, observed: Observed | None, now: float, wall: datetime | None = None
) -> Action:
    """What to do with the Lease as read now. `observed` is the record as last seen and since when
    (monotonic `now`); `wall` is the current time, compared with the Lease's `renewTime`."""
    if current is None:
        return Action.CREATE
    if current.holder == me:
        return Action.RENEW
    if not current.holder:
        return Action.TAKE_OVER  # released by its last holder
    expiry = current.expiry()
    if wall is not None and expiry is not None and wall >= expiry:
        return Action.TAKE_OVER
    if observed is None or observed.record != current:
        return Action.WAIT  # it changed (or is new to us): the holder is alive as of now
    if now - observed.at >= current.duration_s:
        return Action.TAKE_OVER
    return Action.WAIT


def micro_time(moment: datetime) -> str:
    """Kubernetes MicroTime: RFC 3339 with microseconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaseElector:
    """Tries once per call to `step()` to hold the Lease; `is_leader` says whether it does."""

    def __init__(
        self,
        client: ClusterClient,
        namespace: str,
        name: str,
        identity: str,
        *,
        duration_s: float,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.duration_s = duration_s
        self._clock = clock
        self._wall = wall
        self._observed: Observed | None = None
        self._renewed_at: float | None = None  # monotonic time of our last successful write
        self.last_contact: float | None = None  # monotonic time the API last answered
        self.holder: str = ""

    @property
    def is_leader(self) -> bool:
        """Holding a Lease renewed less than two thirds of a lease duration ago: a leader that cannot
        renew steps down before anyone else may take over."""
        return self._renewed_at is not None and self._clock() - self._renewed_at < self.duration_s * 2 / 3

    def step(self) -> bool:
        """Read the Lease and act on it; returns `is_leader`. API errors keep the current state."""
        try:
            self._step()
        except DrsyncerError as exc:  # API errors, and credentials that could not be refreshed
            log.warning("leader election: %s", exc)
        return self.is_leader

    def _spec(self, previous: Record | None, taking: bool) -> dict[str, Any]:
        now = micro_time(self._wall())
        spec: dict[str, Any] = {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": _seconds(self.duration_s),
            "renewTime": now,
        }
        if previous is None or taking:
            spec["acquireTime"] = now
            spec["leaseTransitions"] = (previous.transitions + 1) if previous is not None else 0
        return spec

    def _step(self) -> None:
        lease = self.client.get(LEASES, self.namespace, self.name)
        now = self._clock()
        self.last_contact = now
        current = Record.from_lease(lease) if lease is not None else None
        if current is not None and (self._observed is None or self._observed.record != current):
            self._observed = Observed(current, now)
        self.holder = current.holder if current is not None else ""
        action = decide(current, self.identity, self._observed, now, self._wall())
        if action is Action.WAIT:
            self._renewed_at = None
            return
        try:
            if action is Action.CREATE:
                body = {
                    "apiVersion": "coordination.k8s.io/v1",
                    "kind": "Lease",
                    "metadata": {"name": self.name, "namespace": self.namespace},
                    "spec": self._spec(None, True),
                }
                written = self.client.create(LEASES, self.namespace, body)
            else:
                assert lease is not None and current is not None
                body = dict(lease)
                body["spec"] = {
                    **(lease.get("spec") or {}),
                    **self._spec(current, action is Action.TAKE_OVER),
                }
                # resourceVersion from the read: a competing writer makes this a 409. A renewal, every
                # few seconds all day, is audited at DEBUG unless it fails (drsyncer.kube.audit)
                with audit.routine() if action is Action.RENEW else contextlib.nullcontext():
                    written = self.client.replace(LEASES, self.namespace, body)
        except Conflict:
            self._renewed_at = None  # another replica got there first
            return
        if action is not Action.RENEW:
            log.info("leader election: %s now holds Lease %s/%s", self.identity, self.namespace, self.name)
        self._renewed_at = now
        self.holder = self.identity
        self._observed = Observed(Record.from_lease(written), now)

    def seconds_to_expiry(self) -> float | None:
        """For a standby: seconds until the held Lease runs out by its `renewTime`, else None (also
        once it has: the Lease as last read is then all there is to go on, when the API server cannot
        be reached, and stepping again at once would only ask it again and again)."""
        if self.is_leader or self._observed is None or not self._observed.record.holder:
            return None
        expiry = self._observed.record.expiry()
        if expiry is None:
            return None
        remaining = (expiry - self._wall()).total_seconds()
        return remaining if remaining > 0 else None

    def release(self) -> None:
        """Give the Lease up (on shutdown) so a standby takes over at once instead of after expiry."""
        if self._renewed_at is None:
            return
        self._renewed_at = None
        try:
            lease = self.client.get(LEASES, self.namespace, self.name)
            if lease is None or Record.from_lease(lease).holder != self.identity:
                return
            body = dict(lease)
            body["spec"] = {
                **(lease.get("spec") or {}),
                "holderIdentity": None,
                "leaseDurationSeconds": 1,
                "renewTime": micro_time(self._wall()),
            }
            self.client.replace(LEASES, self.namespace, body)
            log.info("leader election: %s released Lease %s/%s", self.identity, self.namespace, self.name)
        except ApiError as exc:
            log.warning("leader election: releasing the Lease failed, it expires by itself: %s", exc)


def _seconds(value: float) -> int:
    return max(1, round(value))
