"""`drsyncer status` against a simulated controller cluster."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from drsyncer.cli import main
from tests.fixtures.ports import free_port
from tests.integration.ops.conftest import Controller, replication


def _rfc3339(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _finished_status(now: datetime) -> dict:
    return {
        "phase": "PartiallyFailed", "lastSyncTime": _rfc3339(now - timedelta(minutes=3)),
        "nextSyncTime": _rfc3339(now + timedelta(minutes=10, seconds=30)), "lastSyncDuration": "4s",
        "syncStats": {"total": 9, "created": 5, "updated": 1, "unchanged": 1, "failed": 2, "synced": 7},
        "targets": [
            {"cluster": "dr1", "sourceNamespace": "shop", "destinationNamespace": "shop",
             "phase": "Completed", "syncStats": {"created": 5, "updated": 1, "unchanged": 1}},
            {"cluster": "dr2", "sourceNamespace": "shop", "destinationNamespace": "shop-dr",
             "phase": "Failed", "syncStats": {"failed": 2},
             "lastError": {"message": "destination cluster dr2: cluster unreachable [connection refused]",
                           "category": "Retryable"}}],
        "lastError": {"message": "destination cluster dr2: cluster unreachable [connection refused]",
                      "category": "Retryable"},
    }


def test_status_lists_every_replication_with_phase_and_counts(controller: Controller, capsys) -> None:
    controller.apply(replication("web", destinationClusters=["dr2"]))
    controller.apply(replication("nightly", replicationMode="Manual", schedule=None))
    controller.write_status("web", _finished_status(datetime.now(UTC)))

    assert main(["status", *controller.flags]) == 0

    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()[:1].islower()}
    assert rows["web"][1:4] == ["source", "dr1,dr2", "Scheduled"]
    assert rows["web"][4] == "PartiallyFailed"
    assert rows["web"][5:9] == ["3m", "ago", "in", "10m"]
    assert rows["web"][-2:] == ["7", "2"]
    assert rows["nightly"][3:5] == ["Manual", "Pending"]


def test_status_of_all_namespaces_shows_the_namespace_column(controller: Controller, capsys) -> None:
    controller.apply(replication("web"))
    flags = controller.flags[:-2]  # without -n

    assert main(["status", *flags]) == 0

    out = capsys.readouterr().out
    assert "NAMESPACE" in out and "dr-system" in out and "web" in out


def test_status_of_one_replication_shows_each_target_and_the_last_error(controller: Controller,
                                                                        capsys) -> None:
    controller.apply(replication("web", destinationClusters=["dr2"]))
    controller.write_status("web", _finished_status(datetime.now(UTC)))

    assert main(["status", *controller.flags, "web"]) == 0

    out = capsys.readouterr().out
    assert "Replication     dr-system/web" in out
    assert "Scheduled (*/5 * * * *)" in out
    assert "shop → shop-dr" in out
    # brackets in messages are shown as they are, not read as markup
    assert "cluster unreachable [connection refused]" in out
    assert "last error      Retryable: destination cluster dr2" in out


def test_status_of_an_unknown_replication_is_one_line_and_exit_1(controller: Controller, capsys) -> None:
    assert main(["status", *controller.flags, "missing"]) == 1

    err = capsys.readouterr().err
    assert err.strip() == "drsyncer status: Replication dr-system/missing not found"


def test_status_against_an_unreachable_controller_is_one_line_and_exit_1(tmp_path, capsys) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    port = free_port()  # nothing listens there
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: gone\n"
        f"clusters: [{{name: gone, cluster: {{server: 'http://127.0.0.1:{port}'}}}}]\n"
        "users: [{name: gone, user: {}}]\n"
        "contexts: [{name: gone, context: {cluster: gone, user: gone}}]\n")

    assert main(["status", "--kubeconfig", str(kubeconfig)]) == 1

    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith(f"drsyncer status: controller cluster ({kubeconfig}) is unreachable")


def test_status_with_a_kubeconfig_that_cannot_be_read_says_so(tmp_path, capsys) -> None:
    assert main(["status", "--kubeconfig", str(tmp_path / "absent")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot read" in err and "Traceback" not in err


def test_status_without_the_crds_says_how_to_install_them(sim_fleet, tmp_path, capsys) -> None:
    fleet = sim_fleet(["controller"])
    kubeconfig = fleet.write_kubeconfig(tmp_path / "kubeconfig")

    assert main(["status", "--kubeconfig", str(kubeconfig)]) == 1

    assert "drsyncer crds | kubectl apply" in capsys.readouterr().err


def test_status_reads_the_controller_from_the_environment(controller: Controller, capsys,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    controller.apply(replication("web"))
    monkeypatch.setenv("DRSYNCER_KUBECONFIG", str(controller.kubeconfig))
    monkeypatch.setenv("DRSYNCER_KUBE_CONTEXT", "controller")
    monkeypatch.setenv("DRSYNCER_WATCH_NAMESPACE", "dr-system")

    assert main(["status", "web"]) == 0
    assert "dr-system/web" in capsys.readouterr().out
