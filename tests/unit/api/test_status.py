"""Status helpers: conditions keep their transition time, status dicts omit unset fields."""

from datetime import UTC, datetime

from drsyncer.api.meta import ConditionStatus, find_condition, set_condition
from drsyncer.api.parse import parse_replication
from drsyncer.api.replication import Phase, SyncCounts, TargetStatus
from tests.unit.api.builders import replication_dict

T1 = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
T2 = datetime(2026, 1, 1, 11, 0, tzinfo=UTC)


def test_condition_transition_time_moves_only_when_its_status_changes() -> None:
    conditions = set_condition([], "Ready", True, "Synced", now=T1)
    conditions = set_condition(conditions, "Ready", True, "StillSynced", "again", now=T2)
    ready = find_condition(conditions, "Ready")
    assert ready is not None
    assert (ready.reason, ready.message, ready.last_transition_time) == ("StillSynced", "again", T1)
    conditions = set_condition(conditions, "Ready", ConditionStatus.FALSE, "Failed", now=T2)
    assert len(conditions) == 1 and conditions[0].last_transition_time == T2


def test_other_conditions_are_kept_in_place() -> None:
    conditions = set_condition([], "Ready", True, "A", now=T1)
    conditions = set_condition(conditions, "InvalidSpec", False, "Valid", now=T1)
    conditions = set_condition(conditions, "Ready", False, "B", now=T2)
    assert [c.type for c in conditions] == ["Ready", "InvalidSpec"]


def test_status_dict_is_camel_case_json_without_unset_fields() -> None:
    repl = parse_replication(replication_dict())
    repl.status.phase = Phase.COMPLETED
    repl.status.last_sync_time = T1
    repl.status.targets = [
        TargetStatus(
            cluster="dr1",
            source_namespace="web",
            destination_namespace="web",
            phase=Phase.COMPLETED,
            sync_stats=SyncCounts(total=3, unchanged=3),
        )
    ]
    repl.status.conditions = set_condition([], "Ready", True, "Synced", now=T1, observed_generation=2)
    status = repl.status_dict()
    assert status["phase"] == "Completed" and status["lastSyncTime"] == "2026-01-01T10:00:00Z"
    assert status["targets"][0]["syncStats"]["synced"] == 3
    assert status["conditions"] == [
        {
            "type": "Ready",
            "status": "True",
            "reason": "Synced",
            "message": "",
            "lastTransitionTime": "2026-01-01T10:00:00Z",
            "observedGeneration": 2,
        }
    ]
    assert "lastError" not in status and "retryStatus" not in status


def test_an_unreadable_status_never_makes_the_object_invalid() -> None:
    obj = replication_dict()
    obj["status"] = {"phase": "Exploded", "errorCategories": [{"category": "Odd", "count": "many"}]}
    repl = parse_replication(obj)
    assert repl.status.phase is None and repl.status.error_categories == []
