"""The watcher <-> worker contract: task names, queues, routes, triggers and the keyword arguments
of each task with their (JSON) serialisation (docs/architecture.md, "Task contract").

The watcher (scheduler/) writes tasks and the workers (workers/) run them; neither imports the other
(an import-linter contract), both import this module. Plain JSON both ways, so either side can be
upgraded first: keys one does not know are ignored, missing optional ones take their defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Self

from drsyncer.api import keys
from drsyncer.api.replication import ReplicationMode

TASK_SYNC_NAMESPACE = "drsyncer.sync_namespace"
TASK_CLEANUP_NAMESPACE = "drsyncer.cleanup_namespace"
TASK_CHECK_REMOTE_CLUSTER = "drsyncer.check_remote_cluster"
TASK_DELIVER_WEBHOOK = "drsyncer.deliver_webhook"
SYNC_QUEUE = "sync"
# health checks have their own queue: a check never waits behind a large sync
HEALTH_QUEUE = "health"
# webhook deliveries too: a slow endpoint never delays a sync
WEBHOOK_QUEUE = "webhooks"
QUEUES = (SYNC_QUEUE, HEALTH_QUEUE, WEBHOOK_QUEUE)
ROUTES: Mapping[str, Mapping[str, str]] = {
    TASK_SYNC_NAMESPACE: {"queue": SYNC_QUEUE},
    TASK_CLEANUP_NAMESPACE: {"queue": SYNC_QUEUE},
    TASK_CHECK_REMOTE_CLUSTER: {"queue": HEALTH_QUEUE},
    TASK_DELIVER_WEBHOOK: {"queue": WEBHOOK_QUEUE},
}


class Trigger(StrEnum):
    """What started a task (its `trigger` argument)."""

    SCHEDULE = "schedule"  # a Scheduled Replication's cron or @every
    BACKGROUND = "background"  # a Continuous Replication's full resync interval
    SYNC_NOW = "sync-now"  # the dr-syncer.io/sync-now annotation
    CHANGE = "change"  # Continuous mode: an object changed in the source namespace
    CLEANUP = "cleanup"  # the Replication was deleted with cleanupOnDelete: Delete
    RETRY = "retry"  # sent by a worker: a failed namespace tried again (retryConfig)


PERIODIC_TRIGGERS = frozenset({Trigger.SCHEDULE.value, Trigger.BACKGROUND.value})

ENTRY_PREFIX = "drsyncer:"
# per schedule entry, the runs beat sent that no worker has started yet (beat adds one per send, a
# worker takes one off as it starts the task, in either order): while it is above 0 beat sends the
# entry no run more, so however long the workers are stopped or behind, the queue holds one run per entry
QUEUED_PREFIX = "drsyncer:queued:"
# a count left above 0 (its task purged from the queue by hand) lapses this long after the entry's
# last send or start, so it holds the entry back that long at most
QUEUED_TTL_S = 3600


def entry_name(kind: str, namespace: str, name: str, source_namespace: str) -> str:
    """The schedule entry of one source namespace of a Replication: `drsyncer:<ns>/<name>:<source-ns>`;
    a legacy NamespaceMapping's name has `NamespaceMapping/` before it (no object name can hold a
    slash, so the two kinds never collide)."""
    owner = name if kind == keys.KIND_REPLICATION else f"{kind}/{name}"
    return f"{ENTRY_PREFIX}{namespace}/{owner}:{source_namespace}"


def queued_key(entry: str) -> str:
    """The Redis key counting schedule entry `entry`'s runs not started yet (`QUEUED_PREFIX`)."""
    return QUEUED_PREFIX + entry.removeprefix(ENTRY_PREFIX)


# runs of one namespace alone: a change in Continuous mode, a retry
SINGLE_NAMESPACE_TRIGGERS = frozenset({Trigger.CHANGE.value, Trigger.RETRY.value})
# the run key of runs beat starts, which carry no run id: every entry of a Replication fires on one tick
SCHEDULED_RUN = "schedule"


def health_check_kwargs(namespace: str, name: str) -> dict[str, str]:
    """The keyword arguments of `drsyncer.check_remote_cluster`: the RemoteCluster to check."""
    return {"namespace": namespace, "name": name}


@dataclass(frozen=True)
class ReplicationRef:
    """The Replication (or legacy NamespaceMapping) a job was planned from, at which generation."""

    kind: str
    namespace: str
    name: str
    uid: str
    generation: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "uid": self.uid,
            "generation": self.generation,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReplicationRef:
        return cls(
            str(data.get("kind") or keys.KIND_REPLICATION),
            str(data["namespace"]),
            str(data["name"]),
            str(data.get("uid") or ""),
            int(data.get("generation") or 0),
        )

    @property
    def resource(self) -> str:
        """`plural.group` of the object's kind, for a discovery lookup."""
        plural = "namespacemappings" if self.kind == keys.KIND_NAMESPACE_MAPPING else "replications"
        return f"{plural}.{keys.GROUP}"

    @property
    def label(self) -> str:
        """`namespace/name`: the `replication` label of metrics and the ownership annotation value."""
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Target:
    """A destination RemoteCluster (in the Replication's namespace) and the namespace written there."""

    cluster: str
    namespace: str


@dataclass(frozen=True)
class SyncJob:
    """Syncing one source namespace of a Replication to its targets."""

    replication: ReplicationRef
    source_cluster: str
    source_namespace: str
    targets: tuple[Target, ...]
    mode: str = ReplicationMode.SCHEDULED.value
    run_id: str | None = None  # None: started by beat; the workers group such runs by tick
    trigger: str = Trigger.SCHEDULE.value
    attempt: int = 0  # retries made so far; only the workers' own retries carry it
    # the sync-now annotation's value a sync-now run answers (its status says so: lastSyncRequest)
    request: str = ""

    @property
    def entry(self) -> str | None:
        """The schedule entry that sent this task, or None when beat did not send it."""
        if self.trigger not in PERIODIC_TRIGGERS or self.run_id is not None:
            return None
        ref = self.replication
        return entry_name(ref.kind, ref.namespace, ref.name, self.source_namespace)

    @property
    def run_key(self) -> str:
        """The run this task belongs to: its run id, or the one scheduled run when beat started it."""
        return self.run_id or SCHEDULED_RUN

    @property
    def run_label(self) -> str:
        """The run as the workers' log lines name it: `run_key`, which a Continuous Replication's
        full resync shares with scheduled runs (`schedule`: webhooks' `runId`, the audit log's
        `actor.run`), told apart as `schedule (background resync)`."""
        if self.run_id is None and self.trigger == Trigger.BACKGROUND.value:
            return f"{SCHEDULED_RUN} (background resync)"
        return self.run_key

    def retried(self, task_id: str, attempt: int) -> SyncJob:
        """The job of the `attempt`th retry of this one: a run of this namespace alone."""
        return replace(
            self,
            run_id=f"{Trigger.RETRY.value}-{task_id}-{attempt}",
            trigger=Trigger.RETRY.value,
            attempt=attempt,
        )

    def to_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "replication": self.replication.as_dict(),
            "source_cluster": self.source_cluster,
            "source_namespace": self.source_namespace,
            "targets": [{"cluster": t.cluster, "namespace": t.namespace} for t in self.targets],
            "mode": self.mode,
            "run_id": self.run_id,
            "trigger": self.trigger,
        }
        if self.attempt:
            kwargs["attempt"] = self.attempt
        if self.request:
            kwargs["request"] = self.request
        return kwargs

    def kwargsrepr(self) -> str:
        """How the task's arguments show in Flower and in Celery's log lines (its `kwargsrepr`): the
        Replication, the source namespace, the destinations and what started it; never a uid."""
        shown: dict[str, Any] = {
            self.replication.kind.lower(): self.replication.label,
            "source": f"{self.source_cluster}/{self.source_namespace}",
            "destinations": ", ".join(f"{t.cluster}/{t.namespace}" for t in self.targets),
            "trigger": self.trigger,
        }
        if self.attempt:
            shown["attempt"] = self.attempt
        return repr(shown)

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any]) -> Self:
        return cls(
            ReplicationRef.from_dict(kwargs["replication"]),
            str(kwargs["source_cluster"]),
            str(kwargs["source_namespace"]),
            tuple(Target(str(t["cluster"]), str(t["namespace"])) for t in kwargs.get("targets") or ()),
            str(kwargs.get("mode") or ReplicationMode.SCHEDULED.value),
            kwargs.get("run_id") or None,
            str(kwargs.get("trigger") or "schedule"),
            int(kwargs.get("attempt") or 0),
            str(kwargs.get("request") or ""),
        )
