"""Results of a sync as values: what the executor returns and status, metrics and the CLI read.

They travel through Redis between workers and the reporter, so each type converts to and from a
JSON-ready dict (`to_dict` / `from_dict`) made of strings, numbers, lists and dicts only.
Messages never contain Secret data: they name objects and fields, not values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any

from drsyncer.api.replication import Phase  # a result is Completed, PartiallyFailed or Failed
from drsyncer.errors import Category
from drsyncer.sync.objects import is_builtin_group


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    PRUNED = "pruned"
    SKIPPED = "skipped"
    FAILED = "failed"


def count_key(group: str, kind: str) -> str:
    """How a kind is named in per-kind counts: `Deployment`, or `Widget.example.com` for custom resources."""
    return kind if is_builtin_group(group) else f"{kind}.{group}"


@dataclass
class KindCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    pruned: int = 0
    skipped: int = 0
    failed: int = 0
    # of the skipped: copies left stale because the source changed a field the destination will not
    # change in place and the handling is NoChange
    held_back: int = 0

    def add(self, outcome: Outcome, n: int = 1) -> None:
        # (an Outcome is its field's name: no lookup of the enum's value, once per object written)
        setattr(self, outcome, getattr(self, outcome) + n)

    def merge(self, other: KindCounts) -> None:
        # field by field: status reports merge every namespace's counts of a run on every task
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.pruned += other.pruned
        self.skipped += other.skipped
        self.failed += other.failed
        self.held_back += other.held_back

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged + self.pruned + self.skipped + self.failed

    @property
    def succeeded(self) -> int:
        """Objects now in the intended state in the destination (skips excluded)."""
        return self.created + self.updated + self.unchanged + self.pruned

    def to_dict(self) -> dict[str, int]:
        return {**{o.value: getattr(self, o.value) for o in Outcome}, "held_back": self.held_back}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KindCounts:
        return cls(
            **{o.value: int(data.get(o.value, 0)) for o in Outcome}, held_back=int(data.get("held_back", 0))
        )


# the only cluster-scoped objects a namespace's sync copies (`syncCRDs`; a resource type served as
# cluster-scoped is refused, drsyncer.kube.discovery.Discovery.resolve_many)
SHARED_KIND = count_key("apiextensions.k8s.io", "CustomResourceDefinition")


def _did_more(a: KindCounts, b: KindCounts) -> bool:
    return (a.failed, a.created, a.updated) > (b.failed, b.created, b.updated)


def total_counts(counts: Iterable[KindCounts]) -> KindCounts:
    total = KindCounts()
    for c in counts:
        total.merge(c)
    return total


@dataclass(frozen=True)
class ObjectError:
    """One object that could not be synced; `message` is written for the user."""

    kind: str
    namespace: str
    name: str
    category: Category
    message: str

    @property
    def ref(self) -> str:
        """`namespace/name`, or `name` of a cluster-scoped object."""
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    @property
    def described(self) -> str:
        """`Kind namespace/name: message`, the object named the way Events and logs name it."""
        return f"{self.kind} {self.ref}: {self.message}"

    def __str__(self) -> str:
        return f"{self.category.value}: {self.described}"

    def to_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "category": self.category.value,
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ObjectError:
        category = Category(data["category"])
        return cls(data["kind"], data.get("namespace", ""), data["name"], category, data["message"])


# failed objects named after the first in a one-line summary (status, Events, the task's exception)
_OTHERS_NAMED = 3


def others_failed(errors: Sequence[ObjectError]) -> str:
    """` (and 4 more failed objects: ConfigMap shop/cm-21, ...)` for the errors after the first, to
    follow the first error's message where only one line is shown; "" when there is one."""
    rest = errors[1:]
    if not rest:
        return ""
    named = ", ".join(f"{e.kind} {e.ref}" for e in rest[:_OTHERS_NAMED])
    more = ", ..." if len(rest) > _OTHERS_NAMED else ""
    return f" (and {len(rest)} more failed object{'s' if len(rest) > 1 else ''}: {named}{more})"


CONFLICT_PREFIX = "conflict: "
# a copy whose source is gone, kept because it was made from an earlier namespace of that name
# (drsyncer.sync.decide.kept_from_earlier_namespace)
KEPT_PREFIX = "kept, not pruned: "


@dataclass(frozen=True)
class Skip:
    """One object not written, and why; `held_back`: the copy is stale (an immutable change that
    the handling NoChange leaves unapplied), `fields` then names what differs."""

    kind: str
    namespace: str  # in the destination
    name: str
    reason: str
    held_back: bool = False
    fields: tuple[str, ...] = ()

    @property
    def ref(self) -> str:
        """`namespace/name`, or `name` of a cluster-scoped object."""
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    @property
    def kept(self) -> bool:
        """Not pruned though its source is gone: the copy was made from an earlier source namespace
        of the same name (drsyncer.sync.decide.kept_from_earlier_namespace)."""
        return self.reason.startswith(KEPT_PREFIX)

    @property
    def conflict(self) -> bool:
        """Not written because the destination object is not this Replication's copy
        (drsyncer.sync.decide: another Replication's, another namespace's, or unmarked)."""
        return self.reason.startswith(CONFLICT_PREFIX)

    def __str__(self) -> str:
        return f"{self.kind} {self.ref}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "reason": self.reason,
            "held_back": self.held_back,
            "fields": list(self.fields),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Skip:
        return cls(
            data["kind"],
            data.get("namespace", ""),
            data["name"],
            data.get("reason", ""),
            bool(data.get("held_back", False)),
            tuple(data.get("fields") or ()),
        )


# skips listed per target (all are counted); a label selector may leave out thousands of objects
MAX_LISTED_SKIPS = 200


@dataclass(frozen=True)
class DeploymentScale:
    """A workload's replica count in the source and what was written to the destination."""

    kind: str  # Deployment or StatefulSet
    namespace: str  # in the destination
    name: str
    original_replicas: int
    replicas: int

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DeploymentScale:
        original, replicas = int(data["original_replicas"]), int(data["replicas"])
        return cls(data["kind"], data["namespace"], data["name"], original, replicas)


def phase_of(totals: KindCounts, target_error: str = "") -> Phase:
    """Completed when nothing failed; Failed when nothing succeeded; otherwise PartiallyFailed.

    A target-level error (the destination unreachable, say) is a failure even with no object failed.
    """
    if not target_error and totals.failed == 0:
        return Phase.COMPLETED
    if totals.succeeded == 0:
        return Phase.FAILED
    return Phase.PARTIALLY_FAILED


@dataclass
class TargetResult:
    """The outcome of syncing one source namespace into one destination cluster and namespace."""

    destination_cluster: str
    source_namespace: str
    destination_namespace: str
    phase: Phase = Phase.COMPLETED
    counts: dict[str, KindCounts] = field(default_factory=dict)  # by `count_key`
    errors: list[ObjectError] = field(default_factory=list)
    duration_s: float = 0.0
    deployment_scales: list[DeploymentScale] = field(default_factory=list)
    dry_run: bool = False
    error: str = ""  # why the whole target failed (destination unreachable...), empty otherwise
    error_category: Category | None = None  # the category of `error`
    warnings: list[str] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)  # why each skipped object was skipped (the first ones)

    def record(self, kind: str, outcome: Outcome, n: int = 1) -> None:
        """Count `n` objects of `kind` (a `count_key`) with this outcome."""
        self.counts.setdefault(kind, KindCounts()).add(outcome, n)

    def skip(self, skip: Skip) -> None:
        """Count one skipped object of `skip.kind` (a `count_key`) and keep why: the first
        `MAX_LISTED_SKIPS` skips, and every held-back copy."""
        counts = self.counts.setdefault(skip.kind, KindCounts())
        counts.add(Outcome.SKIPPED)
        if skip.held_back:
            counts.held_back += 1
        self.note_skip(skip)

    def note_skip(self, skip: Skip) -> None:
        """Keep why an object (already counted) was skipped."""
        if skip.held_back or len(self.skips) < MAX_LISTED_SKIPS:
            self.skips.append(skip)

    @property
    def held_back(self) -> list[Skip]:
        return [s for s in self.skips if s.held_back]

    def fail(self, kind: str, error: ObjectError) -> None:
        self.record(kind, Outcome.FAILED)
        self.errors.append(error)

    @property
    def totals(self) -> KindCounts:
        return total_counts(self.counts.values())

    def finish(self, duration_s: float) -> TargetResult:
        """Set the duration and derive the phase from the counts; returns self."""
        self.duration_s = duration_s
        self.phase = phase_of(self.totals, self.error)
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "destination_cluster": self.destination_cluster,
            "source_namespace": self.source_namespace,
            "destination_namespace": self.destination_namespace,
            "phase": self.phase.value,
            "counts": {kind: c.to_dict() for kind, c in sorted(self.counts.items())},
            "totals": self.totals.to_dict(),
            "errors": [e.to_dict() for e in self.errors],
            "duration_s": self.duration_s,
            "deployment_scales": [s.to_dict() for s in self.deployment_scales],
            "dry_run": self.dry_run,
            "error": self.error,
            "error_category": self.error_category.value if self.error_category else None,
            "warnings": list(self.warnings),
            "skips": [s.to_dict() for s in self.skips],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TargetResult:
        return cls(
            destination_cluster=data["destination_cluster"],
            source_namespace=data["source_namespace"],
            destination_namespace=data["destination_namespace"],
            phase=Phase(data.get("phase", Phase.COMPLETED.value)),
            counts={kind: KindCounts.from_dict(c) for kind, c in (data.get("counts") or {}).items()},
            errors=[ObjectError.from_dict(e) for e in data.get("errors") or ()],
            duration_s=float(data.get("duration_s", 0.0)),
            deployment_scales=[DeploymentScale.from_dict(s) for s in data.get("deployment_scales") or ()],
            dry_run=bool(data.get("dry_run", False)),
            error=data.get("error", ""),
            error_category=Category(data["error_category"]) if data.get("error_category") else None,
            warnings=list(data.get("warnings") or ()),
            skips=[Skip.from_dict(s) for s in data.get("skips") or ()],
        )


@dataclass
class RunSummary:
    """Every target of one run of a Replication, with totals and an overall phase."""

    replication: str  # "<namespace>/<name>"
    targets: list[TargetResult] = field(default_factory=list)
    run_id: str = ""

    @property
    def totals(self) -> KindCounts:
        """Every object of the run counted once per destination cluster (`counts`)."""
        return total_counts(self.counts.values())

    @property
    def counts(self) -> dict[str, KindCounts]:
        """Per-kind counts summed over the targets, a CustomResourceDefinition's (`SHARED_KIND`) once
        per destination cluster: every namespace's sync copies the same ones to it, so summed they
        would count one definition once per namespace. Those of the target that did the most to
        them are counted: the most failed (a failure is not hidden by a namespace that copied it
        later), then the most created, then updated (the namespace that wrote it, not one that found
        it written a moment later)."""
        merged: dict[str, KindCounts] = {}
        shared: dict[str, KindCounts] = {}  # by destination cluster
        for target in self.targets:
            for kind, c in target.counts.items():
                if kind != SHARED_KIND:
                    merged.setdefault(kind, KindCounts()).merge(c)
                elif target.destination_cluster not in shared or _did_more(
                    c, shared[target.destination_cluster]
                ):
                    shared[target.destination_cluster] = c
        if shared:
            merged[SHARED_KIND] = total_counts(shared.values())
        return merged

    @property
    def errors(self) -> list[ObjectError]:
        return [e for t in self.targets for e in t.errors]

    @property
    def duration_s(self) -> float:
        # targets run side by side, so the run lasts as long as its slowest target
        return max((t.duration_s for t in self.targets), default=0.0)

    @property
    def phase(self) -> Phase:
        phases = {t.phase for t in self.targets}
        if not phases or phases == {Phase.COMPLETED}:
            return Phase.COMPLETED
        if phases == {Phase.FAILED}:
            return Phase.FAILED
        return Phase.PARTIALLY_FAILED

    def to_dict(self) -> dict[str, Any]:
        return {
            "replication": self.replication,
            "run_id": self.run_id,
            "phase": self.phase.value,
            "totals": self.totals.to_dict(),
            "duration_s": self.duration_s,
            "targets": [t.to_dict() for t in self.targets],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunSummary:
        return cls(
            replication=data["replication"],
            targets=[TargetResult.from_dict(t) for t in data.get("targets") or ()],
            run_id=data.get("run_id", ""),
        )
