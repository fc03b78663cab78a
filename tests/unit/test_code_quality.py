"""Lint, types and the layering of docs/architecture.md ("The code in one page"), run as tests so CI holds every line."""

import importlib.util
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
    result = _run(_tool("ruff"), "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_tree_is_as_the_formatter_leaves_it() -> None:
    result = _run(_tool("ruff"), "format", "--check", ".")
    assert result.returncode == 0, "run `ruff format .`:\n" + result.stdout + result.stderr


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


# Names vulture cannot see used, each called by a library through a protocol
DEAD_CODE_ALLOWED = {
    "do_GET",
    "log_message",  # http.server.BaseHTTPRequestHandler (scheduler/probes.py)
    "collect",  # a prometheus_client custom collector (workers/metrics.py)
    "_ensure_connected",  # Celery beat's Scheduler calls it for its producer (workers/beat.py)
}
# Fields, enum members and attributes other libraries read (pydantic, Celery, kombu, the kubernetes
# client's Configuration) are not listed: only unused code is checked, not unused names
DEAD_CODE_KINDS = (
    "unused function",
    "unused method",
    "unused class",
    "unused property",
    "unused import",
    "unreachable code",
    "redundant if-condition",
)


def test_no_dead_code() -> None:
    if importlib.util.find_spec("vulture") is None:
        pytest.fail("vulture is not installed; it is part of the dev extra")
    # the tests count as users (the simulator's fault switches, test hooks); what nothing calls is dead
    result = _run(
        sys.executable,
        "-m",
        "vulture",
        "drsyncer",
        "scheduler",
        "workers",
        "tests",
        "--min-confidence",
        "60",
        "--ignore-decorators",
        "@model_validator,@field_validator,@app.task",
        "--ignore-names",
        ",".join(sorted(DEAD_CODE_ALLOWED)),
    )
    dead = [
        line
        for line in result.stdout.splitlines()
        if not line.startswith("tests/") and any(kind in line for kind in DEAD_CODE_KINDS)
    ]
    assert not dead, "\n".join(dead)
