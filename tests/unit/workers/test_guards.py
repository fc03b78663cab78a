"""Which tasks are dropped before they touch a cluster."""

from __future__ import annotations

from typing import Any

import pytest

from drsyncer.status.replication import NamespaceRecord
from drsyncer.task_contract import ReplicationRef
from workers.guards import Drop, drop_reason, lock_key, superseded

REF = ReplicationRef("Replication", "dr-system", "web", "u1", 4)


def _live(uid: str = "u1", generation: int = 4, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"uid": uid, "generation": generation}, "spec": spec}


@pytest.mark.parametrize(
    ("live", "reason"),
    [
        (None, Drop.DELETED),
        (_live(uid="u2"), Drop.DELETED),
        (
            {"metadata": {"uid": "u1", "generation": 4, "deletionTimestamp": "2026-01-01T00:00:00Z"}},
            Drop.DELETED,
        ),
        (_live(generation=5), Drop.STALE),
        (_live(paused=True), Drop.PAUSED),
        (_live(paused="true"), Drop.PAUSED),
        (_live(), None),
        (_live(generation=3), None),  # the entry is newer than what the API answered: still the same spec
        (_live(paused=False), None),
    ],
)
def test_drop_reason(live: dict[str, Any] | None, reason: Drop | None) -> None:
    assert drop_reason(live, REF) is reason


def test_refs_name_the_resource_and_the_lock() -> None:
    legacy = ReplicationRef.from_dict(
        {"kind": "NamespaceMapping", "namespace": "ns", "name": "m", "uid": "u", "generation": 1}
    )
    assert legacy.resource == "namespacemappings.dr-syncer.io" and REF.resource == "replications.dr-syncer.io"
    assert lock_key(REF, "shop") == "drsyncer:lock:Replication/dr-system/web:shop"
    assert REF.label == "dr-system/web"


def _record(task_id: str = "t1", run_id: str = "r1", started_at: float = 200.0) -> NamespaceRecord:
    return NamespaceRecord("web", [], started_at, started_at + 5, task_id=task_id, run_id=run_id)


@pytest.mark.parametrize(
    ("latest", "overtaken"),
    [
        (_record(), True),  # a later delivery of the same task finished while this one was frozen
        (None, False),  # nothing recorded yet (or Redis lost it): this delivery reports
        (_record(started_at=50.0), False),  # an older record of the same task: this delivery is the newer
        (_record(task_id="t0"), False),  # another task's record (an earlier run)
        (_record(run_id="r0"), False),
    ],
)
def test_a_frozen_delivery_overtaken_by_its_redelivery_is_not_reported(
    latest: NamespaceRecord | None, overtaken: bool
) -> None:
    assert superseded(latest, "t1", "r1", started_at=100.0) is overtaken
