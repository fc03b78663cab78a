"""`drsyncer sync-now --help` says what its exit statuses mean, as status, failover and failback do."""

from __future__ import annotations

import pytest

from drsyncer.cli import main


def test_sync_now_help_names_its_exit_statuses(capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["sync-now", "--help"])

    assert exited.value.code == 0
    # argparse wraps the epilog at the terminal's width
    text = " ".join(capsys.readouterr().out.split())
    assert (
        "exit status: 0 when the sync was requested (with --wait: when the run it asked for Completed)"
        in text
    )
    assert "1 when, with --wait, that run ended PartiallyFailed or Failed" in text
    assert "the Replication would never run (an invalid spec" in text
    assert "2 for a usage error" in text
