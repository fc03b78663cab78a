"""One namespace sync as a task carries it: the keyword arguments of `drsyncer.sync_namespace` and
`drsyncer.cleanup_namespace`, written by the watcher and read by the workers (docs/architecture.md,
"Task contract"). Plain JSON both ways, so either side can be upgraded first: keys it does not know
are ignored, missing optional ones take their defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

from drsyncer.api import keys
from drsyncer.api.replication import ReplicationMode


@dataclass(frozen=True)
class ReplicationRef:
    """The Replication (or legacy NamespaceMapping) a job was planned from, at which generation."""

    kind: str
    namespace: str
    name: str
    uid: str
    generation: int

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "namespace": self.namespace, "name": self.name, "uid": self.uid,
                "generation": self.generation}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReplicationRef:
        return cls(str(data.get("kind") or keys.KIND_REPLICATION), str(data["namespace"]), str(data["name"]),
                   str(data.get("uid") or ""), int(data.get("generation") or 0))

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
    trigger: str = "schedule"
    attempt: int = 0  # retries made so far; only the workers' own retries carry it

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
        return cls(ReplicationRef.from_dict(kwargs["replication"]), str(kwargs["source_cluster"]),
                   str(kwargs["source_namespace"]),
                   tuple(Target(str(t["cluster"]), str(t["namespace"])) for t in kwargs.get("targets") or ()),
                   str(kwargs.get("mode") or ReplicationMode.SCHEDULED.value), kwargs.get("run_id") or None,
                   str(kwargs.get("trigger") or "schedule"), int(kwargs.get("attempt") or 0))
