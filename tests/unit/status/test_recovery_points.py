"""Recovery points per destination: how recent its copies are, and what the last run left out."""

from __future__ import annotations

from drsyncer.api.replication import ReplicationStatus
from tests.unit.status.test_replication_status import _record, _status, _target


def test_recovery_point_of_each_destination_is_the_end_of_its_last_completed_run() -> None:
    status = _status([_record("web", _target("dr1", "web", created=1), _target("dr2", "web", created=1))])
    assert [
        (p["cluster"], p["lastSuccessfulSyncTime"], p["namespaces"]) for p in status["recoveryPoints"]
    ] == [("dr1", "1970-01-01T00:01:42Z", 1), ("dr2", "1970-01-01T00:01:42Z", 1)]
    ReplicationStatus.model_validate(status)


def test_failed_destination_keeps_its_previous_recovery_point_and_counts_what_failed() -> None:
    first = _status([_record("web", _target("dr1", "web", created=1), _target("dr2", "web", created=1))])
    down = _target("dr2", "web", error="destination cluster dr2: cannot connect")
    second = _status([_record("web", _target("dr1", "web", unchanged=1), down, start=500.0)], previous=first)
    points = {p["cluster"]: p for p in second["recoveryPoints"]}
    assert points["dr1"]["lastSuccessfulSyncTime"] == "1970-01-01T00:08:22Z"  # this run
    assert points["dr2"]["lastSuccessfulSyncTime"] == "1970-01-01T00:01:42Z"  # the first run
    assert points["dr2"]["notCompleted"] == 1 and points["dr1"].get("notCompleted", 0) == 0


def test_destination_is_as_stale_as_its_stalest_namespace() -> None:
    first = _status(
        [_record("a", _target("dr1", "a", created=1)), _record("b", _target("dr1", "b", created=1))]
    )
    second = _status(
        [
            _record("a", _target("dr1", "a", unchanged=1), start=500.0),
            _record("b", _target("dr1", "b", failed=2), start=500.0),
        ],
        previous=first,
    )
    (point,) = second["recoveryPoints"]
    assert point["lastSuccessfulSyncTime"] == "1970-01-01T00:01:42Z"
    assert point["failed"] == 2 and point["namespaces"] == 2


def test_destination_never_completed_has_no_recovery_point() -> None:
    status = _status([_record("web", _target("dr1", "web", error="cannot connect"))])
    (point,) = status["recoveryPoints"]
    assert "lastSuccessfulSyncTime" not in point and point["notCompleted"] == 1


def test_unreadable_previous_recovery_point_counts_as_none() -> None:
    previous = {
        "targets": [
            {
                "cluster": "dr1",
                "sourceNamespace": "web",
                "destinationNamespace": "web",
                "phase": "Exploded",
                "lastSuccessfulSyncTime": "yesterday",
            }
        ]
    }
    status = _status([_record("web", _target("dr1", "web", error="cannot connect"))], previous=previous)
    assert "lastSuccessfulSyncTime" not in status["recoveryPoints"][0]
