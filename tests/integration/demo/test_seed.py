"""`python -m drsyncer.demo.seed`: what the docker-compose trial runs against `drsyncer sim`."""

from __future__ import annotations

from pathlib import Path

from drsyncer.api.crds import all_crds
from drsyncer.cli import main as cli
from drsyncer.demo import sample
from drsyncer.demo.seed import CLUSTERS, REPLICATIONS, main, served
from drsyncer.kube import client_from_kubeconfig_file
from tests.fixtures.polling import eventually


def test_seed_installs_the_crds_the_sample_and_the_replication_once(
    sim_fleet, tmp_path: Path, capsys
) -> None:
    kubeconfig = sim_fleet(list(CLUSTERS)).write_kubeconfig(tmp_path / "kubeconfig")

    assert main(["--kubeconfig", str(kubeconfig)]) == 0
    assert "seeded: Replication dr-system/shop" in capsys.readouterr().out

    controller = client_from_kubeconfig_file(kubeconfig, context="controller")
    source = client_from_kubeconfig_file(kubeconfig, context="source")
    try:
        repl = controller.get(
            controller.resolve("replications.dr-syncer.io"), sample.CONTROL_NAMESPACE, sample.REPLICATION_NAME
        )
        assert repl is not None and repl["spec"]["destinationClusters"] == list(sample.DESTINATIONS)
        rcs = controller.list(controller.resolve("remoteclusters.dr-syncer.io"), sample.CONTROL_NAMESPACE)
        assert sorted(rc["metadata"]["name"] for rc in rcs) == ["dr1", "dr2", "source"]
        assert len(list(source.list(source.resolve("configmaps"), "shop-frontend"))) == 1
    finally:
        controller.close()
        source.close()

    assert main(["--kubeconfig", str(kubeconfig)]) == 0
    assert "already seeded" in capsys.readouterr().out


def _assert_sample_is_there(kubeconfig: Path) -> None:
    controller = client_from_kubeconfig_file(kubeconfig, context="controller")
    source = client_from_kubeconfig_file(kubeconfig, context="source")
    try:
        repl = controller.get(
            controller.resolve(REPLICATIONS), sample.CONTROL_NAMESPACE, sample.REPLICATION_NAME
        )
        assert repl is not None
        rcs = controller.list(controller.resolve("remoteclusters.dr-syncer.io"), sample.CONTROL_NAMESPACE)
        assert sorted(rc["metadata"]["name"] for rc in rcs) == ["dr1", "dr2", "source"]
        for ns in sample.NAMESPACES:
            assert source.get(source.resolve("namespaces"), None, ns) is not None, ns
        assert len(list(source.list(source.resolve("configmaps"), "shop-frontend"))) == 1
    finally:
        controller.close()
        source.close()


def test_seed_after_the_crds_were_applied_by_hand_still_seeds_the_sample(
    sim_fleet, tmp_path: Path, capsys
) -> None:
    # the README's `drsyncer crds | kubectl apply -f -` comes before the trial's seeding
    kubeconfig = sim_fleet(list(CLUSTERS)).write_kubeconfig(tmp_path / "kubeconfig")
    controller = client_from_kubeconfig_file(kubeconfig, context="controller")
    try:
        for crd in all_crds():
            controller.create(controller.resolve("customresourcedefinitions"), None, crd)
        eventually(lambda: served(controller, REPLICATIONS), what="the dr-syncer.io CRDs served")
    finally:
        controller.close()

    assert main(["--kubeconfig", str(kubeconfig)]) == 0

    out = capsys.readouterr().out
    assert "seeded: Replication dr-system/shop" in out and "already seeded" not in out, out
    _assert_sample_is_there(kubeconfig)


def test_seed_completes_a_half_seeded_cluster(sim_fleet, tmp_path: Path, capsys) -> None:
    kubeconfig = sim_fleet(list(CLUSTERS)).write_kubeconfig(tmp_path / "kubeconfig")
    assert main(["--kubeconfig", str(kubeconfig)]) == 0
    # a seeding cut short before its last object: everything else is there already
    controller = client_from_kubeconfig_file(kubeconfig, context="controller")
    try:
        controller.delete(controller.resolve(REPLICATIONS), sample.CONTROL_NAMESPACE, sample.REPLICATION_NAME)
    finally:
        controller.close()
    capsys.readouterr()

    assert main(["--kubeconfig", str(kubeconfig)]) == 0

    captured = capsys.readouterr()
    assert "seeded: Replication dr-system/shop" in captured.out and "already seeded" not in captured.out
    assert captured.err == ""
    _assert_sample_is_there(kubeconfig)


def test_seed_gives_up_when_the_kubeconfig_never_appears(tmp_path: Path, capsys) -> None:
    assert main(["--kubeconfig", str(tmp_path / "never"), "--wait", "0.3"]) == 1
    assert "seed: timed out" in capsys.readouterr().err


def test_the_seeded_sample_once_copied_is_ready_for_a_failover(sim_fleet, tmp_path: Path, capsys) -> None:
    # the sample's claims ask for the StorageClass local clusters ship; without it in dr1 the
    # failover check would report every claim as missing something
    kubeconfig = str(sim_fleet(list(CLUSTERS)).write_kubeconfig(tmp_path / "kubeconfig"))
    assert main(["--kubeconfig", kubeconfig]) == 0
    namespaces = [flag for ns in sample.NAMESPACES for flag in ("--namespace", ns)]
    synced = cli(
        [
            "sync",
            "--kubeconfig",
            kubeconfig,
            "--source-context",
            "source",
            "--dest-context",
            "dr1",
            *namespaces,
        ]
    )
    assert synced == 0, capsys.readouterr().out
    capsys.readouterr()

    assert cli(["failover", "--check", "--to", "dr1", "--kubeconfig", kubeconfig]) == 0

    out = capsys.readouterr().out
    assert "ready: a failover to dr1 now would bring up 3 workloads" in out and "0 missing" in out, out
