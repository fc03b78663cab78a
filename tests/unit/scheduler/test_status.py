"""The status the watcher writes: InvalidSpec, Paused, back to Pending; nothing when already so."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from scheduler.entries import read_replication
from scheduler.status import cluster_problems, lost_run_patch, status_patch
from tests.unit.api.builders import DROP, replication_dict

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
LATER = datetime(2026, 1, 1, 13, 0, tzinfo=UTC)


def _obj(status: dict[str, Any] | None = None, generation: int = 2, **spec: Any) -> dict[str, Any]:
    obj = replication_dict(**spec)
    obj["metadata"]["generation"] = generation
    if status is not None:
        obj["status"] = status
    return obj


def _conditions(patch: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in patch["conditions"]}


def _applied(obj: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    return {**obj, "status": {**obj.get("status", {}), **patch}}


def test_invalid_spec_sets_condition_with_field_message_and_failed_phase() -> None:
    patch = status_patch(read_replication(_obj(schedule="nope"), {}), NOW)
    assert patch is not None
    invalid = _conditions(patch)["InvalidSpec"]
    assert invalid["status"] == "True" and invalid["reason"] == "InvalidSpec"
    assert invalid["message"].startswith("spec.schedule:")
    assert invalid["observedGeneration"] == 2
    assert _conditions(patch)["Ready"]["status"] == "False"
    assert patch["phase"] == "Failed" and patch["observedGeneration"] == 2


def test_paused_sets_phase_paused() -> None:
    patch = status_patch(read_replication(_obj(paused=True), {}), NOW)
    assert patch is not None and patch["phase"] == "Paused"
    assert _conditions(patch)["Ready"]["reason"] == "Paused"
    assert _conditions(patch)["InvalidSpec"]["status"] == "False"


def test_new_valid_replication_is_pending() -> None:
    patch = status_patch(read_replication(_obj(), {}), NOW)
    assert patch is not None and patch["phase"] == "Pending"


def test_written_status_needs_no_second_write() -> None:
    for obj in (_obj(schedule="nope"), _obj(paused=True), _obj()):
        first = status_patch(read_replication(obj, {}), NOW)
        assert first is not None
        assert status_patch(read_replication(_applied(obj, first), {}), LATER) is None


def test_unpausing_goes_back_to_pending_and_fixing_clears_invalid_spec() -> None:
    paused = _obj(paused=True)
    paused = _applied(paused, status_patch(read_replication(paused, {}), NOW) or {})
    resumed = {**paused, "spec": {**paused["spec"], "paused": False}}
    patch = status_patch(read_replication(resumed, {}), LATER)
    assert patch is not None and patch["phase"] == "Pending"

    broken = _obj(schedule="nope")
    broken = _applied(broken, status_patch(read_replication(broken, {}), NOW) or {})
    fixed = {**broken, "spec": {k: v for k, v in broken["spec"].items() if k != "schedule"}}
    patch = status_patch(read_replication(fixed, {}), LATER)
    assert patch is not None and patch["phase"] == "Pending"
    assert _conditions(patch)["InvalidSpec"]["status"] == "False"
    # the transition time records when the condition changed, not when the watcher last looked
    assert _conditions(patch)["InvalidSpec"]["lastTransitionTime"].startswith("2026-01-01T13:00")


def test_run_outcome_of_the_workers_is_left_alone() -> None:
    obj = _obj(
        {
            "phase": "Completed",
            "observedGeneration": 2,
            "destinations": "dr1",
            "conditions": [
                {
                    "type": "InvalidSpec",
                    "status": "False",
                    "reason": "SpecValid",
                    "observedGeneration": 2,
                    "lastTransitionTime": "2026-01-01T10:00:00Z",
                },
                {
                    "type": "Synced",
                    "status": "True",
                    "reason": "Completed",
                    "lastTransitionTime": "2026-01-01T10:00:00Z",
                },
                {
                    "type": "RemoteClustersFound",
                    "status": "True",
                    "reason": "RemoteClustersFound",
                    "message": "every RemoteCluster the spec names exists and is valid",
                    "observedGeneration": 2,
                    "lastTransitionTime": "2026-01-01T10:00:00Z",
                },
            ],
        }
    )
    assert status_patch(read_replication(obj, {}), NOW) is None
    newer = {**obj, "metadata": {**obj["metadata"], "generation": 3}}
    patch = status_patch(read_replication(newer, {}), NOW)
    assert patch is not None and "phase" not in patch
    assert _conditions(patch)["Synced"]["status"] == "True"


def _selector(**status: Any) -> dict[str, Any]:
    return _obj(status or None, sourceNamespace=DROP, namespaceSelector={"matchLabels": {"dr": "true"}})


def test_a_selector_matching_no_namespace_says_so_in_ready_instead_of_waiting_forever() -> None:
    patch = status_patch(read_replication(_selector(), {}), NOW, matched=False)
    assert patch is not None and patch["phase"] == "Pending"
    ready = _conditions(patch)["Ready"]
    assert ready["status"] == "False" and ready["reason"] == "NoSourceNamespaces"
    assert ready["message"] == (
        "spec.namespaceSelector matches no namespace of source cluster prod; nothing is synced until one does"
    )
    obj = _applied(_selector(), patch)
    assert status_patch(read_replication(obj, {}), LATER, matched=False) is None

    # a namespace appears: back to waiting, for the first sync
    back = status_patch(read_replication(obj, {}), LATER, matched=True)
    assert back is not None
    assert _conditions(back)["Ready"]["reason"] == "Pending"
    assert _conditions(back)["Ready"]["message"] == "waiting for the first sync"


def test_unknown_selector_namespaces_change_nothing_of_ready() -> None:
    obj = _applied(_selector(), status_patch(read_replication(_selector(), {}), NOW) or {})
    assert _conditions(obj["status"])["Ready"]["reason"] == "Pending"
    assert status_patch(read_replication(obj, {}), LATER, matched=None) is None


def test_manual_mode_says_what_starts_it() -> None:
    patch = status_patch(read_replication(_obj(replicationMode="Manual"), {}), NOW, matched=True)
    assert patch is not None
    assert _conditions(patch)["Ready"]["message"] == (
        "waiting for the first sync (Manual mode: runs only when dr-syncer.io/sync-now is set)"
    )


def test_destinations_are_written_as_one_readable_string_for_kubectl() -> None:
    obj = _obj(destinationCluster=DROP, destinationClusters=["dr1", "dr2", "dr3"])
    patch = status_patch(read_replication(obj, {}), NOW)
    assert patch is not None and patch["destinations"] == "dr1,dr2,dr3"
    again = _applied(obj, patch)
    assert status_patch(read_replication(again, {}), LATER) is None
    moved = {**again, "spec": {**again["spec"], "destinationClusters": ["dr4"]}}
    assert (status_patch(read_replication(moved, {}), LATER) or {})["destinations"] == "dr4"


def test_an_invalid_spec_still_shows_the_destinations_it_names() -> None:
    obj = _obj(schedule="nope", destinationCluster="dr1", destinationClusters=["dr2", 7, "dr1"])
    patch = status_patch(read_replication(obj, {}), NOW)
    assert patch is not None and _conditions(patch)["InvalidSpec"]["status"] == "True"
    assert patch["destinations"] == "dr1,dr2"
    # a spec too broken to name any: the column is empty, not a stale value from before
    broken = {**obj, "spec": {**obj["spec"], "destinationCluster": 3, "destinationClusters": "dr9"}}
    stale = _applied(broken, patch)
    assert (status_patch(read_replication(stale, {}), LATER) or {}).get("destinations") == ""


def test_run_lost_with_redis_turns_running_into_failed_with_reason() -> None:
    read = read_replication(_obj({"phase": "Running", "observedGeneration": 2}), {})
    patch = lost_run_patch(read, NOW)
    assert patch is not None and patch["phase"] == "Failed"
    synced = _conditions(patch)["Synced"]
    assert synced["status"] == "False" and synced["reason"] == "RunLost" and "Redis" in synced["message"]


def test_run_lost_with_redis_leaves_a_replication_not_running_alone() -> None:
    for phase in ("Completed", "Failed", "Pending", "Paused"):
        assert lost_run_patch(read_replication(_obj({"phase": phase}), {}), NOW) is None
    assert lost_run_patch(read_replication(_obj(None), {}), NOW) is None


def _condition(type_: str, status: str, reason: str, message: str = "") -> dict[str, Any]:
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        **({"message": message} if message else {}),
        "observedGeneration": 2,
        "lastTransitionTime": "2026-01-01T10:00:00Z",
    }


FOUND = _condition(
    "RemoteClustersFound",
    "True",
    "RemoteClustersFound",
    "every RemoteCluster the spec names exists and is valid",
)


def _completed(**spec: Any) -> dict[str, Any]:
    """A Replication whose last run completed and said when the next one starts."""
    return _obj(
        {
            "phase": "Completed",
            "observedGeneration": 2,
            "destinations": "dr1",
            "nextSyncTime": "2026-01-01T12:05:00Z",
            "conditions": [_condition("InvalidSpec", "False", "SpecValid"), FOUND],
        },
        **spec,
    )


def test_next_sync_time_goes_while_nothing_is_due() -> None:
    # paused, its spec broken, or selecting no namespace: beat holds no entry, so no time is due
    for obj, matched in (
        (_completed(schedule="*/5 * * * *", paused=True), None),
        (_completed(schedule="nope"), None),
        (
            _completed(
                schedule="*/5 * * * *", sourceNamespace=DROP, namespaceSelector={"matchLabels": {"a": "b"}}
            ),
            False,
        ),
    ):
        patch = status_patch(read_replication(obj, {}), NOW, matched=matched)
        assert patch is not None and "nextSyncTime" in patch and patch["nextSyncTime"] is None, obj["spec"]

    # resumed: beat's entries are new, due at once; the run's report says when the next one comes
    paused = _completed(schedule="*/5 * * * *", paused=True)
    paused = _applied(paused, status_patch(read_replication(paused, {}), NOW) or {})
    resumed = {**paused, "spec": {**paused["spec"], "paused": False}}
    patch = status_patch(read_replication(resumed, {}), LATER)
    assert patch is not None and patch["phase"] == "Pending" and "nextSyncTime" not in patch


def test_a_run_in_progress_keeps_the_next_sync_time_its_report_wrote() -> None:
    obj = _completed(schedule="*/5 * * * *")
    obj["status"]["conditions"].append(_condition("Ready", "True", "Synced"))
    assert status_patch(read_replication(obj, {}), LATER) is None


# the RemoteClusters a Replication names: dr-system/prod as source, dr-system/dr1 as destination
ALL = {"dr-system/prod", "dr-system/dr1", "dr-system/dr2"}


def _problems(obj: dict[str, Any], existing: set[str], valid: set[str] | None = None) -> Any:
    read = read_replication(obj, {})
    assert read.model is not None
    return cluster_problems(read.model, existing, existing if valid is None else valid)


def test_a_remote_cluster_named_but_missing_is_named_by_field_in_ready_and_its_own_condition() -> None:
    obj = _obj(destinationCluster=DROP, destinationClusters=["dr1", "dr3"])
    problems = _problems(obj, ALL)
    assert [p.message for p in problems] == [
        "spec.destinationClusters[1]: RemoteCluster dr-system/dr3 not found; "
        "the copies to it fail until it is created"
    ]
    patch = status_patch(read_replication(obj, {}), NOW, clusters=problems)
    assert patch is not None and patch["phase"] == "Pending"
    found, ready = _conditions(patch)["RemoteClustersFound"], _conditions(patch)["Ready"]
    assert (found["status"], found["reason"]) == ("False", "RemoteClusterNotFound")
    assert (ready["status"], ready["reason"]) == ("False", "RemoteClusterNotFound")
    assert "spec.destinationClusters[1]" in ready["message"]
    # nothing to write again while it is missing
    assert status_patch(read_replication(_applied(obj, patch), {}), LATER, clusters=problems) is None

    # created: Ready goes back to waiting for a sync, the condition to True
    obj = _applied(obj, patch)
    patch = status_patch(read_replication(obj, {}), LATER, clusters=())
    assert patch is not None
    assert _conditions(patch)["RemoteClustersFound"]["status"] == "True"
    assert (_conditions(patch)["Ready"]["status"], _conditions(patch)["Ready"]["reason"]) == (
        "Unknown",
        "Pending",
    )


def test_a_missing_or_invalid_source_cluster_says_nothing_is_copied() -> None:
    missing = _problems(_obj(), {"dr-system/dr1"})
    assert [(p.reason, p.message) for p in missing] == [
        (
            "RemoteClusterNotFound",
            "spec.sourceCluster: RemoteCluster dr-system/prod not found; nothing is copied until it is created",
        )
    ]
    invalid = _problems(_obj(), ALL, valid={"dr-system/dr1"})
    assert [p.reason for p in invalid] == ["RemoteClusterInvalid"]
    assert invalid[0].message.startswith(
        "spec.sourceCluster: RemoteCluster dr-system/prod has an invalid spec"
    )
    assert _problems(_obj(), ALL) == ()


def test_a_run_that_failed_keeps_its_ready_while_a_remote_cluster_is_missing() -> None:
    # the run's failure names the missing cluster too; the watcher does not take turns with it
    failed = {
        "type": "Ready",
        "status": "False",
        "reason": "Failed",
        "message": "1 of 2 targets failed",
        "lastTransitionTime": "2026-01-01T10:00:00Z",
    }
    obj = _obj({"phase": "Failed", "destinations": "dr1", "conditions": [failed]})
    problems = _problems(obj, {"dr-system/prod"})
    patch = status_patch(read_replication(obj, {}), NOW, clusters=problems)
    assert patch is not None
    assert _conditions(patch)["Ready"]["reason"] == "Failed"
    assert _conditions(patch)["RemoteClustersFound"]["reason"] == "RemoteClusterNotFound"
