"""Every long-running process the tests start goes through tests/fixtures/children.py, so that it
ends with the test process however that ends."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
DIRECT = "subprocess." + "Popen("  # spelt in two so this file does not match itself


def test_tests_start_processes_only_through_the_children_helper() -> None:
    helper = TESTS / "fixtures" / "children.py"
    direct = [
        f"{path.relative_to(TESTS.parent)}:{number}"
        for path in sorted(TESTS.rglob("*.py"))
        if path != helper
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if DIRECT in line
    ]
    assert direct == [], "start these with tests.fixtures.children.popen: " + ", ".join(direct)
