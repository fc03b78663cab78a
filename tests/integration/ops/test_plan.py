"""`drsyncer plan` against simulated clusters: what would be written, and nothing written."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from drsyncer.cli import main
from drsyncer.plugins.registry import installed
from tests.integration.ops.conftest import (
    CONFIGMAPS,
    DEPLOYMENTS,
    NAMESPACES,
    SECRETS,
    Controller,
    replication,
)


def _writes(controller: Controller) -> dict[str, int]:
    return {c.name: c.writes() for c in controller.fleet}


def test_plan_lists_what_would_be_created_and_writes_nothing(controller: Controller, capsys) -> None:
    controller.apply(replication("web"))
    before = _writes(controller)

    assert main(["plan", *controller.flags, "web"]) == 0

    assert _writes(controller) == before
    out = capsys.readouterr().out
    assert "shop → dr1/shop: 4 write(s)" in out
    assert "+ create ConfigMap shop/settings-0 (not in the destination)" in out
    assert "+ create Deployment shop/web" in out
    assert controller.client("dr1").get(CONFIGMAPS, "shop", "settings-0") is None


def test_plan_leaves_copies_of_another_owner_alone(controller: Controller, capsys) -> None:
    controller.apply(replication("web", pruneDeleted=True, destinationNamespace="shop-dr"))
    # copies written by `drsyncer sync` belong to it, not to this Replication
    assert (
        main(
            [
                "sync",
                "--kubeconfig",
                str(controller.kubeconfig),
                "--source-context",
                "source",
                "--dest-context",
                "dr1",
                "--namespace",
                "shop:shop-dr",
            ]
        )
        == 0
    )
    capsys.readouterr()

    assert main(["plan", *controller.flags, "web"]) == 0

    out = capsys.readouterr().out
    assert "shop → dr1/shop-dr: 0 write(s)" in out
    assert "+ create" not in out and "- prune" not in out


def _owned_copy(name: str, source_hash: str) -> dict:
    return {
        "metadata": {
            "name": name,
            "labels": {"dr-syncer.io/managed-by": "drsyncer"},
            "annotations": {
                "dr-syncer.io/replication": "dr-system/web",
                "dr-syncer.io/source-cluster": "source",
                "dr-syncer.io/source-namespace": "shop",
                "dr-syncer.io/source-hash": source_hash,
            },
        },
        "data": {},
    }


def test_plan_shows_updates_and_prunes_of_copies_this_replication_owns(
    controller: Controller, capsys
) -> None:
    controller.apply(replication("web", pruneDeleted=True))
    dr1 = controller.client("dr1")
    dr1.create(NAMESPACES, None, {"metadata": {"name": "shop"}})
    dr1.create(CONFIGMAPS, "shop", _owned_copy("settings-0", "stale"))
    dr1.create(CONFIGMAPS, "shop", _owned_copy("old", "stale"))
    before = _writes(controller)

    assert main(["plan", *controller.flags, "web"]) == 0

    out = capsys.readouterr().out
    assert "~ update ConfigMap shop/settings-0 (source changed)" in out
    assert "- prune ConfigMap shop/old (deleted in the source)" in out
    assert _writes(controller) == before
    assert dr1.get(CONFIGMAPS, "shop", "old") is not None


def test_plan_of_an_unknown_replication_is_one_line_and_exit_1(controller: Controller, capsys) -> None:
    assert main(["plan", *controller.flags, "missing"]) == 1
    assert capsys.readouterr().err.strip() == "drsyncer plan: Replication dr-system/missing not found"


def test_plan_of_an_invalid_replication_names_the_field(controller: Controller, capsys) -> None:
    controller.apply(replication("web", schedule="every tuesday"))

    assert main(["plan", *controller.flags, "web"]) == 1

    err = capsys.readouterr().err.strip()
    assert err.startswith("drsyncer plan: Replication dr-system/web is invalid: spec.schedule")


def test_plan_with_a_missing_remote_cluster_says_which(controller: Controller, capsys) -> None:
    controller.apply(replication("web", destinationCluster="dr9"))

    assert main(["plan", *controller.flags, "web"]) == 1
    assert "RemoteCluster dr-system/dr9 not found" in capsys.readouterr().out


def test_plan_with_a_destination_down_reports_it_and_exits_1(controller: Controller, capsys) -> None:
    controller.apply(replication("web"))
    controller.fleet["dr1"].down()

    assert main(["plan", *controller.flags, "web"]) == 1
    assert "shop → dr1/shop: cannot plan" in capsys.readouterr().out


def test_plan_lists_copies_held_back_by_an_immutable_change_with_the_fields(
    controller: Controller, capsys
) -> None:
    controller.apply(replication("web", resourceTypes=["configmaps", "deployments"]))
    dr1 = controller.client("dr1")
    dr1.create(NAMESPACES, None, {"metadata": {"name": "shop"}})
    # this Replication's copy of web, made when the source's selector was another one
    old = {
        **_owned_copy("web", "stale"),
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"app": "old"}},
            "template": {
                "metadata": {"labels": {"app": "old"}},
                "spec": {"containers": [{"name": "web", "image": "nginx"}]},
            },
        },
    }
    del old["data"]
    dr1.create(DEPLOYMENTS, "shop", old)
    before = _writes(controller)

    assert main(["plan", *controller.flags, "web"]) == 0

    out = capsys.readouterr().out
    assert "held back (the DR copy keeps its old state until resolved):" in out
    assert (
        "Deployment shop/web: held back: immutable field(s) spec.selector changed; handling NoChange "
        "(the default; label dr-syncer.io/immutable-handling or spec.immutableResourceConfig chooses another)"
    ) in out
    assert "~ update Deployment shop/web" not in out
    assert _writes(controller) == before


def test_plan_prints_a_json_document(controller: Controller, capsys) -> None:
    import json

    controller.apply(replication("web"))

    assert main(["plan", *controller.flags, "web", "-o", "json"]) == 0

    document = json.loads(capsys.readouterr().out)
    assert document["replication"] == "dr-system/web"
    (target,) = document["targets"]
    assert (target["sourceNamespace"], target["cluster"], target["namespace"]) == ("shop", "dr1", "shop")
    assert {
        "op": "create",
        "object": "ConfigMap shop/settings-0",
        "reason": "not in the destination",
    } in target["writes"]
    assert target["counts"]["ConfigMap"]["created"] >= 1


def test_plan_lists_objects_a_modifier_fails_on_as_not_written_and_fails(
    controller: Controller, capsys
) -> None:
    broken = {"names": ["settings-0"], "jsonPatch": [{"op": "remove", "path": "/data/absent"}]}
    controller.apply(replication("web", modifiers=[broken]))

    # the run would not complete: the plan says so in its exit status, as `drsyncer sync` does
    assert main(["plan", *controller.flags, "web"]) == 1

    out = capsys.readouterr().out
    assert (
        "! not written ConfigMap shop/settings-0: spec.modifiers[0].jsonPatch[0] (/data/absent): path not found"
        in out
    )
    assert "+ create ConfigMap shop/settings-0" not in out
    assert "+ create ConfigMap shop/settings-1" in out


def test_plan_diff_shows_what_the_transforms_change_with_secret_values_redacted(
    controller: Controller, capsys
) -> None:
    controller.apply(
        replication("web", resourceTypes=["deployments", "secrets"], destinationNamespace="shop-dr")
    )
    password = base64.b64encode(b"hunter2-db-password").decode()
    controller.client("source").create(
        SECRETS, "shop", {"metadata": {"name": "db"}, "type": "Opaque", "data": {"password": password}}
    )
    before = _writes(controller)

    assert main(["plan", *controller.flags, "web", "--diff"]) == 0

    out = capsys.readouterr().out
    assert "--- source/shop/Deployment/web\n+++ dr1/shop-dr/Deployment/web\n" in out
    assert "+  namespace: shop-dr\n" in out
    assert "+  replicas: 0\n" in out
    assert "--- source/shop/Secret/db\n" in out
    assert "  password: <redacted>\n" in out
    assert password not in out and "hunter2" not in out
    assert _writes(controller) == before

    assert main(["plan", *controller.flags, "web", "--diff", "-o", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    diffs = {d["object"]: d["diff"] for d in document["targets"][0]["diffs"]}
    assert "+  replicas: 0" in diffs["Deployment shop-dr/web"]
    assert password not in json.dumps(document)


def test_plan_of_a_replication_naming_a_plugin_not_installed_here_says_so_in_one_line(
    controller: Controller, capsys
) -> None:
    controller.apply(replication("web", plugins=[{"name": "not-installed-here"}]))

    assert main(["plan", *controller.flags, "web"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(
        "drsyncer plan: Replication dr-system/web cannot be planned here: "
        'spec.plugins[0].name: plugin "not-installed-here" is not installed'
    )


@pytest.fixture
def broken_plugin_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A distribution declaring a plugin whose module does not exist, on this process's path."""
    dist = tmp_path / "site" / "broken_plugin-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[drsyncer.plugins]\nbroken = broken_plugin_not_there:plugin\n")
    monkeypatch.syspath_prepend(str(dist.parent))
    installed.cache_clear()
    yield
    installed.cache_clear()


@pytest.mark.usefixtures("broken_plugin_installed")
def test_plan_does_not_warn_about_a_broken_plugin_the_replication_does_not_use(
    controller: Controller, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    assert "broken" in installed()  # the listing still has it, with its error
    controller.apply(replication("web"))

    assert main(["plan", *controller.flags, "web"]) == 0

    captured = capsys.readouterr()
    assert "broken" not in captured.out + captured.err
    assert not [r for r in caplog.records if "broken" in r.getMessage()]
