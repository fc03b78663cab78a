import subprocess
import sys

from drsyncer.cli import build_parser, main


def test_help_lists_every_subcommand() -> None:
    text = build_parser().format_help()
    for name in ("sim", "crds", "validate", "sync"):
        assert name in text


def test_no_subcommand_prints_help_and_fails(capsys) -> None:
    assert main([]) == 2
    assert "usage: drsyncer" in capsys.readouterr().out


def test_console_entry_point_reports_version() -> None:
    out = subprocess.run([sys.executable, "-m", "drsyncer.cli", "--version"],
                         capture_output=True, text=True, check=True).stdout
    assert out.startswith("drsyncer ")
