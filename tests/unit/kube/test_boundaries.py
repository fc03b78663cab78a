"""drsyncer.kube sits below planning and the processes: it must not import them."""

import ast
from pathlib import Path

import pytest

KUBE = Path(__file__).resolve().parents[3] / "drsyncer" / "kube"
FORBIDDEN = ("drsyncer.sync", "drsyncer.sim", "scheduler", "workers", "celery", "redbeat")


@pytest.mark.parametrize("module", sorted(KUBE.glob("*.py")), ids=lambda p: p.name)
def test_cluster_access_does_not_import_planning_processes_or_the_simulator(module: Path) -> None:
    imported: list[str] = []
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.Import):
            imported.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.append(node.module)
    bad = [name for name in imported if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)]
    assert not bad, f"{module.name} imports {bad}"
