"""What a plan is made of: one `Action` per object, each an operation (`Op`) with what to send.

`decide` (drsyncer.sync.decide) makes them, the planner orders them into a `Plan`, the executor
carries them out; nothing here reads or writes a cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from drsyncer.errors import Category
from drsyncer.sync.immutable import ImmutableChange
from drsyncer.sync.objects import Key, Obj
from drsyncer.sync.result import DeploymentScale, ObjectError, Outcome, Skip, count_key
from drsyncer.sync.rules import ImmutableHandling
from drsyncer.sync.transform import Scale


class Op(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    PRUNE = "prune"
    SKIP = "skip"
    FAIL = "fail"  # planning found the object cannot be written (a modifier failed); `reason` says why


_OUTCOME = {
    Op.CREATE: Outcome.CREATED,
    Op.UPDATE: Outcome.UPDATED,
    Op.UNCHANGED: Outcome.UNCHANGED,
    Op.PRUNE: Outcome.PRUNED,
    Op.SKIP: Outcome.SKIPPED,
    Op.FAIL: Outcome.FAILED,
}

# the outcomes that leave a new or rewritten copy in the destination
WRITTEN: frozenset[Outcome] = frozenset({Outcome.CREATED, Outcome.UPDATED})

REASON_CREATE = "not in the destination"
REASON_SOURCE_CHANGED = "source changed"
REASON_ADOPT = "adopting an existing object that carries no drsyncer ownership marks"
REASON_PRUNE = "deleted in the source"


@dataclass(frozen=True)
class Action:
    """One step of a plan. `body` is what to send: the new object (create) or the replacement (update)."""

    op: Op
    key: Key  # in the destination
    body: Obj | None = None
    reason: str = ""
    # create/update/unchanged: the complete transformed object with ownership marks and hash; a
    # Recreate of an immutable change creates this after deleting the existing object
    desired: Obj | None = None
    source_hash: str = ""
    immutable: ImmutableChange | None = None
    # update with an immutable change: the update the API accepts (immutable fields left as they are)
    partial_body: Obj | None = None
    # update/prune: the destination object's uid, a precondition so a delete never hits a newer object
    destination_uid: str = ""
    scale: Scale | None = None
    warnings: tuple[str, ...] = ()

    @property
    def count_key(self) -> str:
        return count_key(self.key.group, self.key.kind)

    @property
    def outcome(self) -> Outcome:
        """The outcome if the action runs as planned (what a dry run reports).

        An update held back by immutable handling NoChange writes nothing: it counts as skipped.
        """
        if self.held_back:
            return Outcome.SKIPPED
        return _OUTCOME[self.op]

    @property
    def held_back(self) -> bool:
        """An update with an immutable change that the handling NoChange leaves unapplied."""
        return self.immutable is not None and self.immutable.handling == ImmutableHandling.NO_CHANGE

    def skip_record(self) -> Skip:
        """Why this action writes nothing, as the result lists it."""
        if self.immutable is not None and self.held_back:
            return Skip(
                self.count_key,
                self.key.namespace,
                self.key.name,
                f"held back: {self.immutable.describe()}",
                True,
                self.immutable.fields,
            )
        return Skip(self.count_key, self.key.namespace, self.key.name, self.reason)

    def failure_record(self) -> ObjectError:
        """Why this object is not written (an `Op.FAIL`), as the result lists it."""
        return ObjectError(
            self.count_key, self.key.namespace, self.key.name, Category.NON_RETRYABLE, self.reason
        )

    def written_scale(self, outcome: Outcome) -> DeploymentScale | None:
        """The replica report of this action's copy when `outcome` (the planned `self.outcome` in a
        dry run, what the executor met otherwise) wrote the copy: created, or updated (recreated
        included). None when nothing was written to the copy (unchanged, skipped, held back, failed,
        pruned: the replicas of a copy left alone are not news) or its kind has no replicas."""
        if self.scale is None or outcome not in WRITTEN:
            return None
        return DeploymentScale(
            self.key.kind, self.key.namespace, self.key.name, self.scale.original, self.scale.replicas
        )

    @property
    def writes(self) -> bool:
        return self.op in (Op.CREATE, Op.UPDATE, Op.PRUNE)


__all__ = [
    "REASON_ADOPT",
    "REASON_CREATE",
    "REASON_PRUNE",
    "REASON_SOURCE_CHANGED",
    "WRITTEN",
    "Action",
    "Op",
]
