"""What `drsyncer sync` prints for a destination: each object not written is named once."""

from __future__ import annotations

import io

from rich.console import Console

from drsyncer.sync.command import print_result
from drsyncer.sync.result import Outcome, Skip, TargetResult

HELD = Skip("Deployment", "shop", "web", "held back: immutable field(s) spec.selector changed", True)
NOTE = "Deployment shop/web: immutable field(s) spec.selector changed; handling NoChange"


def _printed(result: TargetResult, *, verbose: bool) -> str:
    out = io.StringIO()
    print_result(Console(file=out, width=200, highlight=False), result, verbose=verbose)
    return out.getvalue()


def test_a_held_back_copy_is_printed_once_whether_applied_or_dry_run() -> None:
    # the executor's warning when applying, the planner's note in a dry run
    for warning in (f"{NOTE}; not written", NOTE):
        result = TargetResult("dr1", "shop", "shop")
        result.skip(HELD)
        result.warnings += [warning, "Deployment shop/web-2: something else"]
        for verbose in (False, True):
            printed = _printed(result.finish(0.1), verbose=verbose)
            assert printed.count("Deployment shop/web:") == 1, printed
            assert "Deployment shop/web-2: something else" in printed


def test_a_skipped_object_is_listed_once_with_verbose() -> None:
    result = TargetResult("dr1", "shop", "shop")
    result.skip(Skip("ConfigMap", "shop", "local", "labelled dr-syncer.io/ignore=true"))
    result.record("ConfigMap", Outcome.CREATED)
    printed = _printed(result.finish(0.1), verbose=True)
    assert printed.count("ConfigMap shop/local") == 1, printed
