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
        "phase": "PartiallyFailed",
        "lastSyncTime": _rfc3339(now - timedelta(minutes=3)),
        "nextSyncTime": _rfc3339(now + timedelta(minutes=10, seconds=30)),
        "lastSyncDuration": "4s",
        "syncStats": {"total": 9, "created": 5, "updated": 1, "unchanged": 1, "failed": 2, "synced": 7},
        "targets": [
            {
                "cluster": "dr1",
                "sourceNamespace": "shop",
                "destinationNamespace": "shop",
                "phase": "Completed",
                "syncStats": {"created": 5, "updated": 1, "unchanged": 1},
            },
            {
                "cluster": "dr2",
                "sourceNamespace": "shop",
                "destinationNamespace": "shop-dr",
                "phase": "Failed",
                "syncStats": {"failed": 2},
                "lastError": {
                    "message": "destination cluster dr2: cluster unreachable [connection refused]",
                    "category": "Retryable",
                },
            },
        ],
        "lastError": {
            "message": "destination cluster dr2: cluster unreachable [connection refused]",
            "category": "Retryable",
        },
    }


def test_status_lists_every_replication_with_phase_and_counts(controller: Controller, capsys) -> None:
    controller.apply(replication("web", destinationClusters=["dr2"]))
    controller.apply(replication("nightly", replicationMode="Manual", schedule=None))
    controller.write_status("web", _finished_status(datetime.now(UTC)))

    # a PartiallyFailed Replication makes the exit code say so (3), for scripts
    assert main(["status", *controller.flags]) == 3

    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()[:1].islower()}
    assert rows["web"][1:4] == ["source", "dr1,dr2", "Scheduled"]
    assert rows["web"][4] == "PartiallyFailed"
    assert rows["web"][5:9] == ["3m", "ago", "in", "10m"]
    assert rows["web"][9:11] == ["7", "2"]
    assert " ".join(rows["web"][11:]).startswith("Retryable: destination cluster dr2: cluster unreachable")
    assert rows["nightly"][3:5] == ["Manual", "Pending"]


def test_status_of_all_namespaces_shows_the_namespace_column(controller: Controller, capsys) -> None:
    controller.apply(replication("web"))
    flags = controller.flags[:-2]  # without -n

    assert main(["status", *flags]) == 0

    out = capsys.readouterr().out
    assert "NAMESPACE" in out and "dr-system" in out and "web" in out


def test_status_of_one_replication_shows_each_target_and_the_last_error(
    controller: Controller, capsys
) -> None:
    controller.apply(replication("web", destinationClusters=["dr2"]))
    controller.write_status("web", _finished_status(datetime.now(UTC)))

    assert main(["status", *controller.flags, "web"]) == 3

    out = capsys.readouterr().out
    assert "Replication     dr-system/web" in out
    assert "Scheduled (*/5 * * * *)" in out
    assert "shop → shop-dr" in out
    # brackets in messages are shown as they are, not read as markup
    assert "cluster unreachable [connection refused]" in out
    assert "last error      Retryable: destination cluster dr2" in out


def test_status_of_one_replication_names_the_remote_cluster_it_lacks(controller: Controller, capsys) -> None:
    message = "spec.destinationClusters[1]: RemoteCluster dr-system/dr3 not found; the copies to it fail until it is created"
    controller.apply(replication("to-dr3", destinationClusters=["dr2", "dr3"]))
    status = _waiting_status("RemoteClusterNotFound", message, status="False")
    status["conditions"].append({**status["conditions"][0], "type": "RemoteClustersFound"})
    controller.write_status("to-dr3", status)

    main(["status", *controller.flags, "to-dr3"])

    out = capsys.readouterr().out
    # the condition's name, one space, its state and the message naming the field
    assert f"RemoteClustersFound False (RemoteClusterNotFound): {message}" in out, out


def test_status_of_an_unknown_replication_is_one_line_and_exit_1(controller: Controller, capsys) -> None:
    assert main(["status", *controller.flags, "missing"]) == 1

    err = capsys.readouterr().err
    assert err.strip() == "drsyncer status: Replication dr-system/missing not found"


@pytest.mark.parametrize("command", ["status", "sync-now", "plan"])
def test_a_name_without_a_namespace_found_elsewhere_says_which_namespace_to_name(
    controller: Controller, capsys, command: str
) -> None:
    controller.apply(replication("web"))
    flags = controller.flags[:-2]  # without -n: the name is looked up in `default`, as kubectl does

    assert main([command, *flags, "web"]) == 1

    err = capsys.readouterr().err.strip()
    assert (
        err
        == f"drsyncer {command}: Replication default/web not found; namespace dr-system has one: add -n dr-system"
    )
    # nothing else of that name anywhere: the plain message
    assert main([command, *flags, "missing"]) == 1
    assert capsys.readouterr().err.strip() == f"drsyncer {command}: Replication default/missing not found"


def test_status_against_an_unreachable_controller_is_one_line_and_exit_1(tmp_path, capsys) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    port = free_port()  # nothing listens there
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: gone\n"
        f"clusters: [{{name: gone, cluster: {{server: 'http://127.0.0.1:{port}'}}}}]\n"
        "users: [{name: gone, user: {}}]\n"
        "contexts: [{name: gone, context: {cluster: gone, user: gone}}]\n"
    )

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


def test_status_reads_the_controller_from_the_environment(
    controller: Controller, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    controller.apply(replication("web"))
    monkeypatch.setenv("DRSYNCER_KUBECONFIG", str(controller.kubeconfig))
    monkeypatch.setenv("DRSYNCER_KUBE_CONTEXT", "controller")
    monkeypatch.setenv("DRSYNCER_WATCH_NAMESPACE", "dr-system")

    assert main(["status", "web"]) == 0
    assert "dr-system/web" in capsys.readouterr().out


def test_status_falls_back_to_kubeconfig_as_kubectl_does(
    controller: Controller, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    controller.apply(replication("web"))
    monkeypatch.delenv("DRSYNCER_KUBECONFIG", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(controller.kubeconfig))

    assert main(["status", "--context", "controller", "-n", "dr-system", "web"]) == 0
    assert "dr-system/web" in capsys.readouterr().out
    # DRSYNCER_KUBECONFIG, when set, wins
    monkeypatch.setenv("DRSYNCER_KUBECONFIG", str(controller.kubeconfig.parent / "nowhere"))
    assert main(["status", "--context", "controller", "-n", "dr-system", "web"]) == 1
    assert "nowhere" in capsys.readouterr().err


def _invalid_status() -> dict:
    message = 'spec.schedule: "every tuesday" is not a 5-field cron expression'
    return {
        "phase": "Failed",
        "observedGeneration": 1,
        "conditions": [
            {
                "type": "InvalidSpec",
                "status": "True",
                "reason": "InvalidSpec",
                "message": message,
                "lastTransitionTime": "2026-01-01T00:00:00Z",
                "observedGeneration": 1,
            },
            {
                "type": "Ready",
                "status": "False",
                "reason": "InvalidSpec",
                "message": message,
                "lastTransitionTime": "2026-01-01T00:00:00Z",
                "observedGeneration": 1,
            },
        ],
    }


def _waiting_status(reason: str, message: str, status: str = "Unknown") -> dict:
    return {
        "phase": "Pending",
        "observedGeneration": 1,
        "conditions": [
            {
                "type": "Ready",
                "status": status,
                "reason": reason,
                "message": message,
                "lastTransitionTime": "2026-01-01T00:00:00Z",
                "observedGeneration": 1,
            }
        ],
    }


def test_status_exits_0_when_nothing_failed_and_3_when_anything_is_failed_or_invalid(
    controller: Controller, capsys
) -> None:
    now = datetime.now(UTC)
    controller.apply(replication("good"))
    controller.write_status(
        "good", {"phase": "Completed", "lastSyncTime": _rfc3339(now), "syncStats": {"synced": 3, "failed": 0}}
    )
    controller.apply(replication("waiting"))
    controller.write_status("waiting", _waiting_status("Pending", "waiting for the first sync"))
    assert main(["status", *controller.flags]) == 0

    controller.apply(replication("typo"))
    controller.write_status("typo", _invalid_status())
    assert main(["status", *controller.flags]) == 3
    assert main(["status", *controller.flags, "good"]) == 0
    assert main(["status", *controller.flags, "typo"]) == 3
    out = capsys.readouterr().out
    assert "invalid spec: spec.schedule" in out


def test_status_gives_the_reason_of_failed_and_waiting_replications_and_no_next_sync_when_paused(
    controller: Controller, capsys
) -> None:
    now = datetime.now(UTC)
    controller.apply(replication("typo"))
    controller.write_status("typo", _invalid_status())
    controller.apply(_selector_replication("empty"))
    controller.write_status(
        "empty",
        _waiting_status(
            "NoSourceNamespaces",
            "spec.namespaceSelector matches no namespace of source cluster source; nothing "
            "is synced until one does",
            status="False",
        ),
    )
    controller.apply(replication("held", paused=True))
    controller.write_status(
        "held",
        {
            "phase": "Paused",
            "lastSyncTime": _rfc3339(now - timedelta(hours=1)),
            "nextSyncTime": _rfc3339(now + timedelta(minutes=13)),
        },
    )

    assert main(["status", *controller.flags]) == 3

    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines() if line.strip()[:1].islower()}
    assert "Failed" in rows["typo"] and "invalid spec: spec.schedule" in rows["typo"]
    # an invalid Replication never ran: no counts rather than a misleading 0
    assert rows["typo"].split()[7:9] == ["-", "-"]
    assert "matches no namespace of source cluster source" in out
    assert "Paused" in rows["held"] and "in 13m" not in rows["held"] and "paused" in rows["held"]


def test_status_prints_json_and_yaml_documents(controller: Controller, capsys) -> None:
    import json

    import yaml

    controller.apply(replication("web", destinationClusters=["dr2"]))
    controller.write_status("web", _finished_status(datetime.now(UTC)))
    controller.apply(replication("typo"))
    controller.write_status("typo", _invalid_status())

    assert main(["status", *controller.flags, "-o", "json"]) == 3
    items = {i["name"]: i for i in json.loads(capsys.readouterr().out)["items"]}
    assert items["web"]["phase"] == "PartiallyFailed" and items["web"]["problem"] is True
    assert items["web"]["destinations"] == ["dr1", "dr2"]
    assert items["web"]["syncStats"]["failed"] == 2
    assert items["web"]["reason"].startswith("Retryable: destination cluster dr2")
    assert items["typo"]["invalidSpec"] is True and items["typo"]["nextSyncTime"] is None

    assert main(["status", *controller.flags, "web", "--output", "yaml"]) == 3
    one = yaml.safe_load(capsys.readouterr().out)
    assert one["name"] == "web" and [t["cluster"] for t in one["targets"]] == ["dr1", "dr2"]


def test_status_of_a_replication_with_more_targets_than_listed_says_how_many_more(
    controller: Controller, capsys
) -> None:
    import json

    status = _finished_status(datetime.now(UTC))
    status["targetsOmitted"] = 2898
    status["recoveryPoints"] = [{"cluster": "dr2", "namespaces": 1450, "notCompleted": 1}]
    controller.apply(replication("large", destinationClusters=["dr2"]))
    controller.write_status("large", status)

    assert main(["status", *controller.flags, "large"]) == 3
    out = capsys.readouterr().out
    assert "shop → shop-dr" in out  # the listed targets, then how many more
    assert (
        "not listed      2898 more target(s): the status lists 2, those that did not complete first; "
        "the recovery points below count every target"
    ) in out
    assert main(["status", *controller.flags, "large", "-o", "json"]) == 3
    assert json.loads(capsys.readouterr().out)["targetsOmitted"] == 2898


def _selector_replication(name: str) -> dict:
    """A Replication whose namespaceSelector matches no namespace of the source."""
    obj = replication(name, namespaceSelector={"matchLabels": {"dr": "nothing-has-this"}})
    del obj["spec"]["sourceNamespace"]
    return obj
