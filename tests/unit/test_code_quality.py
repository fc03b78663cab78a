"""Lint, types and the layering of DESIGN.md §2, run as tests so CI holds every line."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)


def _tool(name: str) -> str:
    path = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed; it is part of the dev extra")
    return path


def test_ruff_reports_nothing() -> None:
    result = _run(_tool("ruff"), "check", "drsyncer", "scheduler", "workers", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean() -> None:
    result = _run(sys.executable, "-m", "mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_import_layering_contracts_hold() -> None:
    result = _run(_tool("lint-imports"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_readme_test_command_is_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    marker = readme.index("<!-- test-command -->")
    block = readme[marker:].split("```", 2)[1]
    command = block.splitlines()[1]
    assert command.strip() == "pip install -e '.[dev]' && python -m pytest"
    assert "test-command" in (ROOT / ".ci" / "run").read_text()
