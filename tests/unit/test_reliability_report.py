"""docs/reliability.md's header is the generator's, and its command is one shell command per line
(continuations kept), as a user copies it."""

from __future__ import annotations

import importlib.util
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _generator() -> object:
    spec = importlib.util.spec_from_file_location(
        "reliability_report", ROOT / "hack" / "reliability_report.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_page_starts_with_the_generators_header_whose_command_keeps_its_line_breaks() -> None:
    header: str = _generator().HEADER  # type: ignore[attr-defined]
    assert (ROOT / "docs" / "reliability.md").read_text().startswith(header)
    block = header.split("```\n", 2)[1]
    commands = block.replace("\\\n", " ").splitlines()
    assert [shlex.split(c)[-3:] for c in commands][-1] == ["/tmp/results.jsonl", ">", "docs/reliability.md"]
    first = shlex.split(commands[0])
    assert first[:4] == [
        "DRSYNCER_RELIABILITY_LONG=1",
        "DRSYNCER_RELIABILITY_RESULTS=/tmp/results.jsonl",
        "python",
        "-m",
    ]
    assert "tests/integration/reliability" in first
    assert all(line.endswith(" \\") for line in block.splitlines()[:3]), block
