"""The one-shot sync examples of README.md ("One-shot sync") and docs/sync-cli.md ("Example") run as
written against `drsyncer sim`, and print what the docs show (timings aside)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.children import run
from tests.fixtures.sim import start_sim_command, stop_sim_command

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent  # where `pip install` put the `drsyncer` command


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Path]:
    """`drsyncer sim` with its default clusters, as the docs start it; yields its kubeconfig."""
    kubeconfig = tmp_path / "sim.kubeconfig"
    proc = start_sim_command(kubeconfig)
    try:
        yield kubeconfig
    finally:
        stop_sim_command(proc)


def _section(path: Path, heading: str) -> str:
    text = path.read_text()
    start = text.index(f"\n{heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def _blocks(section: str) -> list[str]:
    return re.findall(r"```[a-z]*\n(.*?)```", section, flags=re.S)


def _commands(block: str, documented_kubeconfig: str, kubeconfig: Path) -> list[str]:
    """The block's commands (continuation lines joined, comments, `$ ` prompts and the `drsyncer
    sim` line, which the fixture runs, left out), with the test's kubeconfig."""
    joined = block.replace("\\\n", " ")
    commands = []
    for line in joined.splitlines():
        line = line.removeprefix("$ ").split("  #")[0].strip()
        if not line or line.startswith("#") or line.startswith("drsyncer sim"):
            continue
        commands.append(line.replace(documented_kubeconfig, str(kubeconfig)))
    return commands


def _run(command: str) -> str:
    argv = shlex.split(command)
    if argv[0] == "python":
        argv[0] = sys.executable
    elif argv[0] == "drsyncer":
        argv[0] = str(BIN / "drsyncer")
    done = run(argv, capture_output=True, text=True, timeout=120, env={**os.environ, "NO_COLOR": "1"})
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _table(output: str, header: str) -> list[str]:
    """The table printed under the block headed `header` (its first line, timing left out)."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    table = []
    for line in lines[start + 1 :]:
        if not line.strip() or line == "...":
            break
        table.append(line.rstrip())
    return table


def test_the_readme_one_shot_sync_runs_as_written(sim: Path) -> None:
    (block,) = [b for b in _blocks(_section(ROOT / "README.md", "## One-shot sync")) if "drsyncer sync" in b]
    outputs = [_run(c) for c in _commands(block, "/tmp/drsyncer-sim.kubeconfig", sim)]
    synced = outputs[-1]
    # every namespace named, into both destinations, the renamed one under its new name
    for expected in (
        "shop-frontend → dr1/shop-frontend: Completed",
        "shop-frontend → dr2/shop-frontend: Completed",
        "shop-backend → dr1/shop-backend-dr: Completed",
        "shop-backend → dr2/shop-backend-dr: Completed",
    ):
        assert expected in synced, synced


def test_the_sync_cli_example_prints_the_documented_table(sim: Path) -> None:
    blocks = _blocks(_section(ROOT / "docs" / "sync-cli.md", "## Example"))
    output = "".join(_run(c) for c in _commands(blocks[0], "/tmp/sim.kubeconfig", sim))
    documented = blocks[1]
    header = "shop-frontend → dr1/shop-frontend: Completed"
    assert _table(output, header) == _table(documented, header)
    assert "Deployment shop-frontend/web: 3 → 0 replicas" in output


@pytest.mark.kubectl
@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH")
def test_the_sync_cli_dry_run_example_prints_the_documented_table(sim: Path) -> None:
    blocks = _blocks(_section(ROOT / "docs" / "sync-cli.md", "## Example"))
    for command in _commands(blocks[0], "/tmp/sim.kubeconfig", sim):
        _run(command)
    dry_run = blocks[2]
    commands = _commands(
        "\n".join(line for line in dry_run.splitlines() if line.startswith(("$ ", "    "))),
        "/tmp/sim.kubeconfig",
        sim,
    )
    assert [c.split()[0] for c in commands] == ["kubectl", "kubectl", "drsyncer"]
    output = "".join(_run(c) for c in commands)
    header = "shop-frontend → dr1/shop-frontend: Completed"
    assert "(dry run: counts show what would be written; nothing was)" in output
    assert _table(output, header) == _table(dry_run, header)
