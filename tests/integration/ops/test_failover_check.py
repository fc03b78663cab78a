"""`drsyncer failover --check --controller`: what the controller cluster says of the Replications
whose standby copies the check finds, including one that no longer keeps them in step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from drsyncer.cli import main
from drsyncer.sync.namespace_sync import Destination, sync_namespace
from drsyncer.sync.rules import Rules
from tests.integration.ops.conftest import NS, Controller, replication

NAME = "web-dr"


def _standby_copies(controller: Controller) -> None:
    """What a run of Replication NAME leaves in dr1: the shop namespace's copies, workloads in standby."""
    rules = Rules.from_spec(
        {"resourceTypes": ["configmaps", "deployments"]}, replication=f"{NS}/{NAME}", source_cluster="source"
    )
    results = sync_namespace(
        controller.client("source"),
        [Destination(controller.client("dr1"), "shop")],
        rules,
        source_namespace="shop",
    )
    assert [r.phase.value for r in results] == ["Completed"], results


def _check(controller: Controller, capsys: pytest.CaptureFixture[str], *more: str) -> tuple[int, str]:
    code = main(
        [
            "failover",
            "--check",
            "--to",
            "dr1",
            "--kubeconfig",
            str(controller.kubeconfig),
            "-n",
            "shop",
            "--controller",
            "controller",
            *more,
        ]
    )
    return code, capsys.readouterr().out


def test_check_names_a_replication_that_no_longer_keeps_its_copies_in_step(
    controller: Controller, capsys: pytest.CaptureFixture[str]
) -> None:
    _standby_copies(controller)
    controller.apply(replication(NAME))
    synced = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    controller.write_status(
        NAME,
        {
            "recoveryPoints": [
                {
                    "cluster": "dr1",
                    "lastSuccessfulSyncTime": synced,
                    "namespaces": 1,
                    "notCompleted": 0,
                    "heldBack": 0,
                    "failed": 0,
                }
            ]
        },
    )
    code, out = _check(controller, capsys)
    assert code == 0, out
    assert f"controller: Replication {NS}/{NAME} -> dr1: recovery point 5m ago" in out
    assert "ready: a failover to dr1 now would bring up 1 workloads" in out

    # the Replication now copies elsewhere: what is in dr1 is left as its last run there wrote it
    live = controller.get(NAME)
    assert live is not None
    live["spec"]["destinationCluster"] = "dr2"
    controller.client().replace(controller.replications, NS, live)
    code, out = _check(controller, capsys)
    assert code == 3, out
    assert f"Replication {NS}/{NAME} -> dr1: dr1 is not among its destinations any more (dr2)" in out
    assert "NOT ready: a failover to dr1 now would bring up 1 workloads" in out
    assert "1 Replication(s) no longer keeping their copies in step" in out

    # a context name that is no RemoteCluster's says nothing of the copies: the check cannot tell
    code, out = _check(controller, capsys, "--cluster", "dr1-admin")
    assert code == 0, out
    assert (
        f"Replication {NS}/{NAME} -> dr1-admin: no RemoteCluster {NS}/dr1-admin; its destinations are dr2: "
        "pass --cluster with the RemoteCluster name of this cluster"
    ) in out

    controller.client().delete(controller.replications, NS, NAME)
    code, out = _check(controller, capsys)
    assert code == 3, out
    assert (
        f"Replication {NS}/{NAME} -> dr1: the Replication is gone (deleted from the controller cluster)"
        in out
    )
    assert "nothing keeps its copies in dr1 in step" in out
    assert "NOT ready" in out

    # the same as a document
    code, out = _check(controller, capsys, "-o", "json")
    assert code == 3
    assert '"unkept": 1' in out


def test_check_counts_failed_namespaces_the_status_does_not_list(
    controller: Controller, capsys: pytest.CaptureFixture[str]
) -> None:
    _standby_copies(controller)
    controller.apply(replication(NAME))
    failed = {
        "cluster": "dr1",
        "sourceNamespace": "shop",
        "destinationNamespace": "shop",
        "phase": "Failed",
        "lastError": {"message": "Retryable: destination cluster dr1: cannot connect"},
    }
    # a large Replication: 130 namespaces did not complete in dr1, the status lists 100 of them
    point = {"cluster": "dr1", "namespaces": 1400, "notCompleted": 130, "heldBack": 0, "failed": 0}
    controller.write_status(
        NAME, {"targets": [failed] * 100, "targetsOmitted": 2700, "recoveryPoints": [point]}
    )
    _, out = _check(controller, capsys)
    assert "130 of 1400 namespaces not completed" in out
    assert out.count("  shop: Retryable: destination cluster dr1: cannot connect") == 100
    assert "  and 30 more namespaces not completed, not listed in the status" in out


def test_copies_of_a_one_shot_sync_are_named_as_such_and_leave_the_cluster_ready(
    controller: Controller, capsys: pytest.CaptureFixture[str]
) -> None:
    kubeconfig = str(controller.kubeconfig)
    synced = main(
        [
            "sync",
            "--kubeconfig",
            kubeconfig,
            "--source-context",
            "source",
            "--dest-context",
            "dr1",
            "-n",
            "shop",
        ]
    )
    assert synced == 0, capsys.readouterr().out
    capsys.readouterr()

    code, out = _check(controller, capsys)

    assert code == 0, out
    assert (
        "controller: copies made by `drsyncer sync` from context source -> dr1: one-shot copies, kept in "
        "step by no Replication"
    ) in out
    assert "the Replication is gone" not in out and "NOT ready" not in out
