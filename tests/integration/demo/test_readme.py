"""The README's commands work exactly as written: the test command CI runs, the install-and-demo
command (with `--once` appended; its run is also the one whose summary, logs and work directory
are checked against docs/demo.md, and run again in the same work directory), and the YAML of its
quickstart."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from drsyncer.cli import main
from tests.fixtures import children
from tests.integration.demo.conftest import parse_summary

ROOT = Path(__file__).resolve().parents[3]
README = ROOT / "README.md"
_NOT_COPIED = shutil.ignore_patterns(
    ".venv",
    ".git",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".import_linter_cache",
)


def command_under(marker: str) -> str:
    """The first line of the first code block after `<!-- marker -->`, read as .ci/run reads it."""
    lines = README.read_text().splitlines()
    start = lines.index(f"<!-- {marker} -->")
    fence = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("```"))
    return lines[fence + 1]


def test_the_test_command_is_the_one_ci_runs() -> None:
    assert command_under("test-command") == "pip install -e '.[dev]' && python -m pytest"


def test_the_readme_yaml_examples_are_valid(tmp_path: Path, capsys) -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks
    for i, block in enumerate(blocks):
        path = tmp_path / f"example-{i}.yaml"
        path.write_text(block)
        assert main(["validate", str(path)]) == 0, capsys.readouterr()


@pytest.mark.slow
def test_the_demo_command_works_as_written(tmp_path: Path) -> None:
    command = command_under("demo-command")
    assert command == "pip install . && drsyncer demo"
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT, checkout, ignore=_NOT_COPIED)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    # the dependencies come from this environment, so the test needs no downloads beyond pip's build
    # backend; drsyncer itself is installed into the new one from the copy, as the README says
    site = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "deps-from-test-env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {
        **os.environ,
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "TMPDIR": str(tmp_path),
        "VIRTUAL_ENV": str(venv),
        "COLUMNS": "120",
    }
    env.pop("PYTHONPATH", None)

    result = subprocess.run(
        ["bash", "-c", f"{command} --once"],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    # pip names what it installed in alphabetical order: a dependency missing here comes first
    assert re.search(r"^Successfully installed (\S+ )*drsyncer-", result.stdout, re.MULTILINE), result.stdout
    assert "everything synced" in result.stdout
    assert (venv / "bin" / "drsyncer").exists()

    # what a `--once` run promises, checked on this run (one demo run fewer for the suite)
    out = result.stdout
    real_redis = shutil.which("redis-server") is not None
    if real_redis:  # the default `--redis auto` takes it when it is on PATH
        assert "redis-server" in out and "embedded" not in out
    assert "Completed" in out
    summary = parse_summary(out)
    assert summary and all(row.check == "ok" and row.failed == 0 for row in summary.values()), out
    # docs/demo.md shows this summary: its numbers are the real ones
    documented = parse_summary((ROOT / "docs" / "demo.md").read_text())
    assert documented == summary, f"update the summary in docs/demo.md to:\n{out}"
    # everything stops right after: no commands for clusters about to go, only where the logs stay
    assert "Flower: http://127.0.0.1:" not in out and "kubectl --kubeconfig" not in out
    assert "logs: " in out
    (workdir,) = tmp_path.glob("drsyncer-demo-*")  # the default work directory, under TMPDIR
    assert (workdir / "kubeconfig").exists()
    for name in ("sim", "redis", "watcher", "beat", "worker-1", "worker-2", "flower"):
        assert (workdir / "logs" / f"{name}.log").exists(), name
    assert "had to kill" not in out

    # the same work directory again: old logs and kubeconfig must not be taken for the new run's
    again = children.run(
        [
            str(venv / "bin" / "drsyncer"),
            "demo",
            "--once",
            "--workdir",
            str(workdir),
            "--no-flower",
            *(["--redis", "server"] if real_redis else []),
        ],
        death_signal=signal.SIGTERM,  # the demo stops the processes it started before it exits
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        stdin=subprocess.DEVNULL,
    )
    assert again.returncode == 0, again.stdout + again.stderr
