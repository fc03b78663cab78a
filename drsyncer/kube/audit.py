"""The audit log: one structured line for every write drsyncer sends to any cluster.

Every create, update (PUT), patch (including `/status`) and delete that `ClusterClient` sends is
recorded once, after its retries, on the logger `drsyncer.audit` (`AUDIT_LOGGER`), so an operator can
route it to its own handler or file. The message is a JSON object:

    {"actor": {"replication": "Replication dr-system/shop", "run": "<run id>", "task": "<task id>",
               "component": "worker"},
     "cluster": "dr1", "verb": "create", "resource": "deployments.apps", "kind": "Deployment",
     "namespace": "shop", "name": "web", "subresource": null, "dryRun": false,
     "outcome": "success", "code": 201, "reason": null}

`outcome` is `success` or `error` (then `code` is the HTTP status, 0 without an answer, and `reason`
the Kubernetes Status reason such as `Conflict`). Bodies are never recorded: no Secret data, token or
key can reach the line; names of objects can.

A few writes are routine bookkeeping repeated all day: a leading watcher renews its Lease every few
seconds. Inside `routine()` a write that succeeds is recorded at DEBUG, so the audit log at INFO
holds what changed something; one that fails is recorded at INFO like any other.

Who acts comes from `acting_for`, a context variable the worker sets around a task and the watcher
around its writes for one object; threads that write on a task's behalf run in a copy of the
submitting context (`contextvars.copy_context`). Writes made outside any (the `drsyncer sync`
command, tests) are recorded with an empty actor.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass

AUDIT_LOGGER = "drsyncer.audit"
log = logging.getLogger(AUDIT_LOGGER)

SUCCESS = "success"
ERROR = "error"


@dataclass(frozen=True)
class Actor:
    """On whose behalf drsyncer writes: `replication` is `<kind> <namespace>/<name>`."""

    replication: str = ""
    run: str = ""
    task: str = ""
    component: str = ""


@dataclass(frozen=True)
class Write:
    """What one write is about; `verb` is create, update, patch or delete."""

    verb: str
    resource: str  # the group resource, e.g. `deployments.apps`
    kind: str
    namespace: str | None
    name: str | None
    subresource: str | None = None
    dry_run: bool = False


_actor: ContextVar[Actor | None] = ContextVar("drsyncer_audit_actor", default=None)


@contextmanager
def acting_for(actor: Actor) -> Iterator[Actor]:
    """Writes inside the block are recorded as made for `actor`."""
    token = _actor.set(actor)
    try:
        yield actor
    finally:
        _actor.reset(token)


_NOBODY = Actor()
_routine: ContextVar[bool] = ContextVar("drsyncer_audit_routine", default=False)


@contextmanager
def routine() -> Iterator[None]:
    """Writes inside the block that succeed are recorded at DEBUG instead of INFO."""
    token = _routine.set(True)
    try:
        yield
    finally:
        _routine.reset(token)


@functools.lru_cache(maxsize=64)
def _fields(actor: Actor) -> dict[str, str]:
    # the same few actors write thousands of times (one task's writes); json.dumps only reads the dict
    return asdict(actor)


def record(cluster: str, write: Write, outcome: str, code: int, reason: str | None = None) -> None:
    """Log one write and its outcome on the audit logger: at INFO, or at DEBUG for a `routine()`
    write that succeeded."""
    level = logging.DEBUG if outcome == SUCCESS and _routine.get() else logging.INFO
    if not log.isEnabledFor(level):
        return
    line = {
        "actor": _fields(_actor.get() or _NOBODY),
        "cluster": cluster,
        "verb": write.verb,
        "resource": write.resource,
        "kind": write.kind,
        "namespace": write.namespace,
        "name": write.name,
        "subresource": write.subresource,
        "dryRun": write.dry_run,
        "outcome": outcome,
        "code": code,
        "reason": reason,
    }
    log.log(level, json.dumps(line, separators=(",", ":")))
