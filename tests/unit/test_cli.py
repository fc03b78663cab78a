import subprocess
import sys

import pytest

from drsyncer.cli import build_parser, main


def test_help_lists_every_subcommand() -> None:
    text = build_parser().format_help()
    for name in ("sim", "crds", "validate", "sync"):
        assert name in text


def test_no_subcommand_prints_help_and_fails(capsys) -> None:
    assert main([]) == 2
    assert "usage: drsyncer" in capsys.readouterr().out


def test_console_entry_point_reports_version() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "drsyncer.cli", "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert out.startswith("drsyncer ")


def test_a_mistyped_subcommand_suggests_the_close_one(capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["stauts"])
    assert exited.value.code == 2
    assert "unknown command 'stauts'; did you mean 'status'?" in capsys.readouterr().err


def test_an_unknown_option_prints_the_usage_of_its_subcommand(capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["status", "--kube-contxt", "prod"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: drsyncer status ")
    assert "drsyncer status: error: unrecognized arguments: --kube-contxt" in err


def test_version_subcommand(capsys) -> None:
    assert main(["version"]) == 0
    assert capsys.readouterr().out.startswith("drsyncer ")


@pytest.mark.parametrize("command", ["status", "sync-now", "plan", "watcher", "worker"])
def test_every_subcommand_that_reaches_a_cluster_takes_kubeconfig_and_context(command: str) -> None:
    parser = build_parser()
    extra = ["web"] if command in ("sync-now", "plan") else []
    args = parser.parse_args([command, "--kubeconfig", "/k", "--context", "prod", *extra])
    assert args.kubeconfig == "/k"
    assert getattr(args, "context", None) == "prod" or getattr(args, "kube_context", None) == "prod"


@pytest.mark.parametrize("command", ["status", "sync-now", "plan", "watcher", "sync"])
def test_dash_n_names_the_namespace_everywhere(command: str) -> None:
    extra = {
        "sync-now": ["web"],
        "plan": ["web"],
        "sync": ["--source-context", "a", "--dest-context", "b"],
    }.get(command, [])
    args = build_parser().parse_args([command, "-n", "shop", *extra])
    value = getattr(args, "namespace", None) or getattr(args, "watch_namespace", None)
    assert value in ("shop", ["shop"])


def test_errors_of_a_category_are_shown_without_the_category_prefix(tmp_path, capsys) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
    code = main(
        [
            "sync",
            "--kubeconfig",
            str(kubeconfig),
            "--source-context",
            "a",
            "--dest-context",
            "b",
            "-n",
            "shop",
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 1 and err.startswith("drsyncer sync: ")
    assert not any(f": {c}:" in err for c in ("NonRetryable", "Retryable", "WaitForNextSync")), err


def test_sync_reads_the_kubeconfig_from_the_environment(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("DRSYNCER_KUBECONFIG", str(tmp_path / "from-env"))
    assert main(["sync", "--source-context", "a", "--dest-context", "b", "-n", "shop"]) == 1
    err = capsys.readouterr().err
    assert "from-env" in err and "no kubeconfig" not in err


def test_every_subcommand_runs_a_function_of_its_own() -> None:
    import argparse

    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in subparsers.choices.items():
        handler = sub.get_default("handler")
        assert callable(handler), f"drsyncer {name}: handler {handler!r} is not a function"


def test_sync_refuses_a_modifier_naming_no_destination_context_before_reading_the_kubeconfig(
    tmp_path, capsys
) -> None:
    modifiers = tmp_path / "modifiers.yaml"
    modifiers.write_text(
        "- annotations: {set: {a: b}}\n- clusters: [dr1, dr3]\n  labels: {set: {site: dr}}\n"
    )
    code = main(
        [
            "sync",
            "--kubeconfig",
            str(tmp_path / "absent"),
            "--source-context",
            "prod",
            "--dest-context",
            "dr1,dr2",
            "-n",
            "shop",
            "--modifiers",
            str(modifiers),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert err == (
        f'drsyncer sync: --modifiers {modifiers}: spec.modifiers[1].clusters[1]: "dr3" is not a '
        "destination context (--dest-context dr1,dr2)"
    )
