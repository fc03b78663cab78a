"""Which tasks are dropped before they touch a cluster."""

from __future__ import annotations

from typing import Any

import pytest

from drsyncer.task_contract import ReplicationRef
from workers.guards import Drop, drop_reason, lock_key

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
