"""`promtool test rules` on the chart's PrometheusRule, as Helm renders it: every alert fires on the
series that should fire it and stays quiet on those that should not, including a counter series
that first appears already at 1 (the first failure on a new or restarted worker pod)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fixtures.helm import Release

NS = "drsyncer"  # the release namespace of the test installs
REPL = "dr-system/shop"
WORKER = "dr-drsyncer-worker-7d9f-abcde"
WATCHER = "dr-drsyncer-watcher-5c4b-fghij"


def _series(name: str, values: str, **labels: str) -> dict[str, str]:
    rendered = ", ".join(f'{k}="{v}"' for k, v in {"namespace": NS, **labels}.items())
    return {"series": f"{name}{{{rendered}}}", "values": values}


def _runs(phase: str, values: str, pod: str = WORKER) -> dict[str, str]:
    return _series("dr_syncer_sync_runs_total", values, pod=pod, replication=REPL, phase=phase)


def _case(
    alert: str,
    series: list[dict[str, str]],
    eval_at: str,
    *,
    fires: dict[str, str] | None,
    why: str,
    per_namespace: bool = True,
) -> dict[str, Any]:
    """One promtool test: `series` (values per minute, `_` for no sample), and whether `alert` is
    firing at `eval_at` with these labels (besides severity, which the test adds, and the release
    namespace when the alert is `per_namespace`)."""
    labels = {"namespace": NS} if per_namespace else {}
    expected = [] if fires is None else [{"exp_labels": {**labels, **fires}}]
    return {
        "name": why,
        "interval": "1m",
        "input_series": series,
        "alert_rule_test": [{"eval_time": eval_at, "alertname": alert, "exp_alerts": expected}],
    }


CASES = [
    # DrSyncerSyncFailing
    _case(
        "DrSyncerSyncFailing",
        [_runs("Failed", "_x5 1x40")],
        "8m",
        fires={"replication": REPL},
        why="the first failure on a fresh worker series fires",
    ),
    _case(
        "DrSyncerSyncFailing",
        [_runs("Failed", "0x10 1x30")],
        "15m",
        fires={"replication": REPL},
        why="a failure on a series that existed at 0 fires",
    ),
    _case(
        "DrSyncerSyncFailing",
        [_runs("Failed", "1x30", pod=WORKER), _runs("Failed", "_x40 1x20", pod="w2")],
        "45m",
        fires={"replication": REPL},
        why="a failure on the pod that replaced a worker fires although the old pod's failure is old",
    ),
    _case(
        "DrSyncerSyncFailing",
        [_runs("Failed", "1x60")],
        "45m",
        fires=None,
        why="a failure more than 30 minutes old is resolved",
    ),
    _case(
        "DrSyncerSyncFailing",
        [_runs("Completed", "_x5 1+1x40")],
        "20m",
        fires=None,
        why="completed runs never fire it",
    ),
    # DrSyncerSyncPartiallyFailing: a warning for partial failures that keep coming back
    _case(
        "DrSyncerSyncPartiallyFailing",
        [_runs("PartiallyFailed", "_x5 1+1x60")],
        "40m",
        fires={"replication": REPL},
        why="partial failures on a fresh series for 30 minutes fire",
    ),
    _case(
        "DrSyncerSyncPartiallyFailing",
        [_runs("PartiallyFailed", "0x10 1+1x60")],
        "45m",
        fires={"replication": REPL},
        why="partial failures on an existing series for 30 minutes fire",
    ),
    _case(
        "DrSyncerSyncPartiallyFailing",
        [_runs("PartiallyFailed", "_x5 1x60")],
        "50m",
        fires=None,
        why="one partial failure, long ago, does not",
    ),
    # DrSyncerNoRecentSuccessfulSync: 3 x 300 s without success
    _case(
        "DrSyncerNoRecentSuccessfulSync",
        [_series("dr_syncer_last_success_timestamp_seconds", "60x40", pod=WORKER, replication=REPL)],
        "30m",
        fires={"replication": REPL},
        why="the last success, at 1m, is 29 minutes old",
    ),
    _case(
        "DrSyncerNoRecentSuccessfulSync",
        [
            _series(
                "dr_syncer_replication_last_success_timestamp_seconds", "60x40", pod=WATCHER, replication=REPL
            )
        ],
        "30m",
        fires={"replication": REPL},
        why="the watcher's copy of lastSuccessfulSyncTime fires it after the workers restarted",
    ),
    _case(
        "DrSyncerNoRecentSuccessfulSync",
        [
            _series("dr_syncer_last_success_timestamp_seconds", "0+60x40", pod=WORKER, replication=REPL),
            _series(
                "dr_syncer_replication_last_success_timestamp_seconds", "60x40", pod=WATCHER, replication=REPL
            ),
        ],
        "30m",
        fires=None,
        why="a worker's recent success wins over an older watcher copy",
    ),
    # DrSyncerReplicationInvalid
    _case(
        "DrSyncerReplicationInvalid",
        [_series("dr_syncer_replication_invalid", "1x20", pod=WATCHER, replication=REPL)],
        "10m",
        fires={"replication": REPL},
        why="an invalid spec for 5 minutes fires",
    ),
    _case(
        "DrSyncerReplicationInvalid",
        [_series("dr_syncer_replication_invalid", "0x20", pod=WATCHER, replication=REPL)],
        "10m",
        fires=None,
        why="a valid spec does not",
    ),
    # DrSyncerReplicationNeverSynced: 3 x 300 s waiting
    _case(
        "DrSyncerReplicationNeverSynced",
        [_series("dr_syncer_replication_awaiting_first_sync", "1x30", pod=WATCHER, replication=REPL)],
        "20m",
        fires={"replication": REPL},
        why="no run finished for 15 minutes fires",
    ),
    _case(
        "DrSyncerReplicationNeverSynced",
        [_series("dr_syncer_replication_awaiting_first_sync", "1x10 0x20", pod=WATCHER, replication=REPL)],
        "20m",
        fires=None,
        why="a first run after 10 minutes resolves it",
    ),
    # DrSyncerRemoteClusterUnhealthy
    _case(
        "DrSyncerRemoteClusterUnhealthy",
        [_series("dr_syncer_remote_cluster_healthy", "_x2 0x10", pod=WATCHER, cluster="dr-system/dr1")],
        "9m",
        fires={"cluster": "dr-system/dr1"},
        why="a fresh series at 0 for 5 minutes fires",
    ),
    _case(
        "DrSyncerRemoteClusterUnhealthy",
        [_series("dr_syncer_remote_cluster_healthy", "1x10", pod=WATCHER, cluster="dr-system/dr1")],
        "9m",
        fires=None,
        why="a healthy cluster does not",
    ),
    # DrSyncerQueueBacklogGrowing
    _case(
        "DrSyncerQueueBacklogGrowing",
        [_series("dr_syncer_tasks_queued", "100+10x40", pod=WORKER, queue="sync")],
        "35m",
        fires={"queue": "sync"},
        why="a backlog above 100 that keeps growing fires",
    ),
    _case(
        "DrSyncerQueueBacklogGrowing",
        [_series("dr_syncer_tasks_queued", "500x40", pod=WORKER, queue="sync")],
        "35m",
        fires=None,
        why="a large but steady backlog does not",
    ),
    # DrSyncerWorkersDown
    _case(
        "DrSyncerWorkersDown",
        [_series("up", "0x10", pod=WORKER)],
        "6m",
        fires={},
        why="every worker target down fires",
        per_namespace=False,
    ),
    _case(
        "DrSyncerWorkersDown",
        [_series("up", "1x10", pod=WATCHER)],
        "6m",
        fires={},
        why="no worker target at all fires",
    ),
    _case(
        "DrSyncerWorkersDown",
        [_series("up", "1x10", pod=WORKER)],
        "6m",
        fires=None,
        why="a worker up does not",
    ),
    # DrSyncerWatcherNoLeader
    _case(
        "DrSyncerWatcherNoLeader",
        [_series("dr_syncer_watcher_leader", "0x10", pod=WATCHER)],
        "6m",
        fires={},
        why="no replica leading fires",
        per_namespace=False,
    ),
    _case(
        "DrSyncerWatcherNoLeader",
        [_series("up", "1x10", pod=WORKER)],
        "6m",
        fires={},
        why="no watcher exporting at all fires",
    ),
    _case(
        "DrSyncerWatcherNoLeader",
        [_series("dr_syncer_watcher_leader", "1x10", pod=WATCHER)],
        "6m",
        fires=None,
        why="one replica leading does not",
    ),
    # DrSyncerApiThrottled: more than 0.5 429s per second for 15 minutes
    _case(
        "DrSyncerApiThrottled",
        [_series("dr_syncer_api_throttled_total", "_x3 500+60x40", pod=WORKER, cluster="dr1")],
        "30m",
        fires={"cluster": "dr1"},
        why="sustained throttling on a series that appears high fires",
    ),
    _case(
        "DrSyncerApiThrottled",
        [_series("dr_syncer_api_throttled_total", "_x3 500+6x40", pod=WORKER, cluster="dr1")],
        "30m",
        fires=None,
        why="a 429 every ten seconds does not",
    ),
]


def _alerts(release: Release) -> dict[str, dict[str, Any]]:
    spec = release.one("PrometheusRule")["spec"]
    return {r["alert"]: r for group in spec["groups"] for r in group["rules"]}


def test_every_alert_rule_has_promtool_cases_that_fire_and_stay_quiet(
    releases: dict[str, Release], tmp_path: Path
) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian package prometheus; .ci/run installs it)")
    release = releases["everything"]
    alerts = _alerts(release)
    firing = {c["alert_rule_test"][0]["alertname"] for c in CASES if c["alert_rule_test"][0]["exp_alerts"]}
    quiet = {c["alert_rule_test"][0]["alertname"] for c in CASES if not c["alert_rule_test"][0]["exp_alerts"]}
    assert firing == quiet == set(alerts), "every alert needs a firing and a quiet case"
    # promtool compares the whole label set; annotations (checked by test_monitoring and `promtool
    # check rules`) are left out of the rules under test, so a case need not spell out their text
    tests = []
    for case in CASES:
        check = case["alert_rule_test"][0]
        rule = alerts[check["alertname"]]
        for expected in check["exp_alerts"]:
            expected["exp_labels"] = {**expected["exp_labels"], **rule["labels"]}
        tests.append(case)
    spec = release.one("PrometheusRule")["spec"]
    groups = [
        {**g, "rules": [{k: v for k, v in r.items() if k != "annotations"} for r in g["rules"]]}
        for g in spec["groups"]
    ]
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": groups}))
    (tmp_path / "tests.yaml").write_text(
        yaml.safe_dump({"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": tests})
    )
    done = subprocess.run(
        [promtool, "test", "rules", "tests.yaml"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
