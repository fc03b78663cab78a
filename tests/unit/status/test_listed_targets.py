"""A Replication of many namespaces: its status lists a bounded number of targets (those that did not
complete first) and says how many it left out, while recovery points count every target, with each
one's last success carried from run record to run record."""

from __future__ import annotations

import json
from typing import Any

import pytest

from drsyncer.api.replication import LISTED_SCALES, LISTED_TARGETS, ReplicationStatus
from drsyncer.errors import Category
from drsyncer.status.replication import NamespaceRecord, last_successes
from drsyncer.sync.result import DeploymentScale, ObjectError, Outcome, TargetResult
from tests.unit.status.test_replication_status import _status, _target

# etcd refuses a request over 1.5 MiB (`--max-request-bytes`); the status is bounded far below it
STATUS_BYTES_BOUND = 200_000


def _record(
    ns: str,
    *targets: TargetResult,
    end: float = 102.0,
    last_success: dict[tuple[str, str], float] | None = None,
) -> NamespaceRecord:
    return NamespaceRecord(ns, list(targets), end - 2, end, run_id="r", last_success=last_success)


def _completed(ns: str, end: float, clusters: tuple[str, ...] = ("dr1", "dr2")) -> NamespaceRecord:
    targets = [_target(c, ns, created=1) for c in clusters]
    return _record(ns, *targets, end=end, last_success=last_successes(targets, end, None))


def _size(status: dict[str, Any]) -> int:
    return len(json.dumps({"status": status}, separators=(",", ":")).encode())


def test_status_lists_the_targets_that_did_not_complete_first_up_to_the_bound_and_counts_the_rest() -> None:
    names = [f"ns-{i:03d}" for i in range(60)]
    failing = {"ns-041", "ns-057"}
    records = [
        _record(
            ns,
            _target("dr1", ns, created=1),
            _target("dr2", ns, failed=1) if ns in failing else _target("dr2", ns, created=1),
        )
        for ns in names
    ]

    status = _status(records)

    listed = [(t["sourceNamespace"], t["cluster"], t["phase"]) for t in status["targets"]]
    assert len(listed) == LISTED_TARGETS == 100
    assert listed[:2] == [("ns-041", "dr2", "Failed"), ("ns-057", "dr2", "Failed")]
    # then the completed ones in namespace order, until the bound
    assert listed[2:6] == [(ns, c, "Completed") for ns in ("ns-000", "ns-001") for c in ("dr1", "dr2")]
    assert status["targetsOmitted"] == 120 - 100
    # counts and recovery points are over every target, listed or not
    assert status["syncStats"]["created"] == 118
    assert [(p["cluster"], p["namespaces"], p.get("notCompleted", 0)) for p in status["recoveryPoints"]] == [
        ("dr1", 60, 0),
        ("dr2", 60, 2),
    ]
    assert ReplicationStatus.model_validate(status).targets_omitted == 20


def test_a_status_that_lists_every_target_omits_none() -> None:
    status = _status([_record("web", _target("dr1", "web", created=1))])
    assert len(status["targets"]) == 1 and status["targetsOmitted"] == 0
    assert status["deploymentScalesOmitted"] == 0


def test_recovery_point_is_the_oldest_last_success_of_every_namespace_including_ones_not_listed() -> None:
    # a first run completed every namespace, the last ones earliest
    names = [f"ns-{i:03d}" for i in range(120)]
    first = {ns: _completed(ns, end=10_000.0 - i, clusters=("dr1",)) for i, ns in enumerate(names)}
    # the second run fails them all: more than the status lists
    second = []
    for ns in names:
        down = [_target("dr1", ns, error="destination cluster dr1: cannot connect")]
        second.append(
            _record(ns, *down, end=20_000.0, last_success=last_successes(down, 20_000.0, first[ns]))
        )

    status = _status(second, previous={})  # a status that lists none of them

    assert status["targetsOmitted"] == 20
    assert "ns-119" not in {t["sourceNamespace"] for t in status["targets"]}
    (point,) = status["recoveryPoints"]
    # ns-119's last success, from its run record: 10,000 - 119 s after the epoch
    assert point["lastSuccessfulSyncTime"] == "1970-01-01T02:44:41Z"
    assert (point["namespaces"], point["notCompleted"]) == (120, 120)
    assert status["targets"][0]["lastSuccessfulSyncTime"] == "1970-01-01T02:46:40Z"  # ns-000: 10,000 s


def _scaled(ns: str, count: int) -> TargetResult:
    target = TargetResult("dr1", ns, ns)
    target.record("Deployment", Outcome.CREATED, count)
    target.deployment_scales += [DeploymentScale("Deployment", ns, f"app-{i}", 3, 0) for i in range(count)]
    return target.finish(1.0)


def test_deployment_scales_are_listed_up_to_the_bound_and_the_rest_counted() -> None:
    status = _status([_record(f"ns-{i}", _scaled(f"ns-{i}", 30)) for i in range(5)])
    assert len(status["deploymentScales"]) == LISTED_SCALES == 100
    assert status["deploymentScales"][0]["namespace"] == "ns-0"
    assert status["deploymentScalesOmitted"] == 150 - 100
    ReplicationStatus.model_validate(status)


def test_status_of_three_thousand_targets_stays_far_below_what_etcd_accepts() -> None:
    """1,500 namespaces into 2 clusters, 150 of them failing with an error naming four objects, every
    one with Deployments scaled to zero: listing every target made such a status over 1.5 MiB."""
    error = "spec.template.spec.containers[0].image: Invalid value: " + "x" * 120
    records = []
    for i in range(1500):
        ns = f"team-{i:04d}-payments-service"
        targets = []
        for cluster in ("dr1-eu-west", "dr2-us-east"):
            target = _scaled(ns, 2)
            target.destination_cluster = cluster
            if i % 10 == 0 and cluster == "dr2-us-east":
                for n in range(4):
                    target.fail(
                        "Deployment", ObjectError("Deployment", ns, f"api-{n}", Category.NON_RETRYABLE, error)
                    )
                target.finish(1.0)
            targets.append(target)
        records.append(_record(ns, *targets, end=1000.0 + i))

    status = _status(records)

    assert status["targetsOmitted"] == 3000 - LISTED_TARGETS
    assert status["deploymentScalesOmitted"] == 6000 - LISTED_SCALES
    assert all(t["phase"] == "PartiallyFailed" for t in status["targets"])  # 150 of them: the list is full
    assert _size(status) < STATUS_BYTES_BOUND, _size(status)


@pytest.mark.parametrize(
    ("now", "previous", "expected"),
    [
        pytest.param("ok", None, {("dr1", "web"): 50.0}, id="completed-now-is-this-records-end"),
        pytest.param("failed", None, {}, id="failed-without-a-previous-record-has-none"),
        pytest.param(
            "failed",
            NamespaceRecord("web", [], 1.0, 2.0, last_success={("dr1", "web"): 7.0}),
            {("dr1", "web"): 7.0},
            id="failed-keeps-the-previous-records",
        ),
        pytest.param(
            "failed",
            NamespaceRecord("web", [], 1.0, 2.0, last_success={("dr2", "web"): 7.0}),
            {},
            id="another-targets-success-is-not-this-ones",
        ),
        pytest.param(
            "failed",
            NamespaceRecord("web", [_target("dr1", "web", created=1)], 1.0, 2.0),
            {("dr1", "web"): 2.0},
            id="an-older-versions-record-that-completed-gives-its-end",
        ),
        pytest.param(
            "failed",
            NamespaceRecord("web", [_target("dr1", "web", failed=1)], 1.0, 2.0),
            {},
            id="an-older-versions-record-that-failed-does-not-say",
        ),
    ],
)
def test_a_namespaces_record_carries_each_targets_last_success(
    now: str, previous: NamespaceRecord | None, expected: dict[tuple[str, str], float]
) -> None:
    target = _target("dr1", "web", created=1) if now == "ok" else _target("dr1", "web", error="down")
    assert last_successes([target], 50.0, previous) == expected


def test_last_success_survives_the_records_trip_through_redis_and_an_older_record_reads_as_unknown() -> None:
    record = _record("web", _target("dr1", "web", failed=1), last_success={("dr1", "web"): 7.0})
    again = NamespaceRecord.from_dict(json.loads(json.dumps(record.to_dict())))
    assert again.last_success == {("dr1", "web"): 7.0} and again.to_dict() == record.to_dict()
    older = record.to_dict()
    del older["last_success"]
    assert NamespaceRecord.from_dict(older).last_success is None


def test_a_record_of_an_older_version_falls_back_on_the_last_success_the_status_listed() -> None:
    previous = {
        "targets": [
            {
                "cluster": "dr1",
                "sourceNamespace": "web",
                "destinationNamespace": "web",
                "phase": "Completed",
                "lastSuccessfulSyncTime": "2026-01-01T00:00:00Z",
            }
        ]
    }
    older = _record("web", _target("dr1", "web", error="down"))  # no last_success: written before it
    (point,) = _status([older], previous=previous)["recoveryPoints"]
    assert point["lastSuccessfulSyncTime"] == "2026-01-01T00:00:00Z"
