"""Pure parts of failover and failback: the copies selected, status.failover, readiness to wait for."""

from __future__ import annotations

from datetime import UTC, datetime

from drsyncer.api import keys
from drsyncer.api.replication import FailoverStatus
from drsyncer.cli import build_parser, run_failback, run_failover
from drsyncer.ops.dr_copies import FAILED, CopyResult, Report, Selection
from drsyncer.ops.failover import is_running, summary_line
from drsyncer.ops.failover_record import failover_status
from drsyncer.sync.standby import Outcome

T0 = datetime(2026, 3, 1, 3, 0, 0, tzinfo=UTC)
T1 = datetime(2026, 3, 1, 3, 0, 5, tzinfo=UTC)


def copy(namespace: str = "shop", owner: str | None = "dr-system/app") -> dict:
    meta: dict = {"name": "web", "namespace": namespace, "labels": {}, "annotations": {}}
    if owner:
        meta["labels"][keys.LABEL_MANAGED_BY] = keys.MANAGED_BY_VALUE
        meta["annotations"][keys.ANNOTATION_REPLICATION] = owner
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta}


def test_selection_by_replication_name_namespace_and_marks() -> None:
    assert Selection().wants(copy()) and not Selection().wants(copy(owner=None))
    assert Selection(replications=frozenset({"app"})).wants(copy())
    assert Selection(replications=frozenset({"dr-system/app"})).wants(copy())
    assert not Selection(replications=frozenset({"other/app"})).wants(copy())
    assert not Selection(namespaces=frozenset({"billing"})).wants(copy())
    assert (
        Selection(label_selector="tier=web").server_selector()
        == f"{keys.LABEL_MANAGED_BY}={keys.MANAGED_BY_VALUE},tier=web"
    )


def test_cli_takes_the_filters_as_a_user_types_them() -> None:
    args = build_parser().parse_args(
        [
            "failover",
            "--to",
            "dr1",
            "--replication",
            "app",
            "-n",
            "shop",
            "-n",
            "web",
            "-l",
            "tier=web",
            "--dry-run",
            "--controller",
            "controller",
        ]
    )
    assert Selection.from_args(args) == Selection(frozenset({"app"}), frozenset({"shop", "web"}), "tier=web")
    assert args.handler is run_failover and args.dry_run and args.controller == "controller"
    back = build_parser().parse_args(["failback", "--from", "dr1"])
    assert back.source == "dr1" and back.handler is run_failback


def test_failover_counts_copies_up_because_of_a_failover_whichever_run_brought_them_up() -> None:
    report = Report(
        "dr1",
        [
            CopyResult("shop", "Deployment", "web", "x/app", Outcome.CHANGE, "", failed_over=True),
            CopyResult(
                "shop", "Deployment", "api", "x/app", Outcome.DONE, "", failed_over=True
            ),  # an earlier run
            CopyResult("shop", "Deployment", "cache", "x/app", Outcome.DONE, "", failed_over=False),
            CopyResult("shop", "CronJob", "report", "x/app", FAILED, "403"),
            CopyResult("shop", "Deployment", "other", "x/other", Outcome.CHANGE, "", failed_over=True),
        ],
    )
    assert report.failover_counts("x/app") == {"workloads": 4, "broughtUp": 2, "alreadyUp": 1, "failed": 1}


def test_failover_status_keeps_the_first_start_of_a_repeated_failover() -> None:
    counts = {"workloads": 5, "broughtUp": 3, "alreadyUp": 1, "failed": 1}
    first = failover_status(
        None, cluster="dr1", started=T0, finished=T0, counts=counts, paused_by_failover=True
    )
    assert first == {
        "cluster": "dr1",
        "active": True,
        "started": "2026-03-01T03:00:00Z",
        "finished": "2026-03-01T03:00:00Z",
        "workloads": 5,
        "broughtUp": 3,
        "alreadyUp": 1,
        "failed": 1,
        "pausedByFailover": True,
        "failedBack": None,
    }
    again = failover_status(
        first, cluster="dr1", started=T1, finished=T1, counts=counts, paused_by_failover=False
    )
    assert again["started"] == "2026-03-01T03:00:00Z" and again["finished"] == "2026-03-01T03:00:05Z"
    assert again["pausedByFailover"] is True
    FailoverStatus.model_validate(again)  # every field is one the CRD declares
    other = failover_status(
        {**first, "active": False},
        cluster="dr1",
        started=T1,
        finished=T1,
        counts={},
        paused_by_failover=False,
    )
    assert other["started"] == "2026-03-01T03:00:05Z"  # a new failover after a failback


def test_brought_up_workload_runs_once_its_replicas_are_ready() -> None:
    web = {
        "kind": "Deployment",
        "metadata": {"generation": 2},
        "spec": {"replicas": 3},
        "status": {"observedGeneration": 2, "readyReplicas": 2},
    }
    assert not is_running(web)
    web["status"]["readyReplicas"] = 3
    assert is_running(web)
    web["metadata"]["generation"] = 3  # the controller has not seen the change yet
    assert not is_running(web)
    assert is_running({"kind": "CronJob", "spec": {"suspend": False}})


def test_summary_says_when_a_repeat_changed_nothing() -> None:
    report = Report("dr1", [CopyResult("shop", "Deployment", "web", "x/y", Outcome.DONE, "")], 0.5, 9)
    assert (
        summary_line(report, dry_run=False)
        == "failover to dr1: nothing changed, all 1 standby workloads already up in 0.50s (9 requests to dr1)"
    )
