"""`drsyncer plugins` piped (not a terminal): one line per plugin, every value in full."""

from __future__ import annotations

import pytest

from drsyncer.plugins.command import print_table
from tests.unit.plugins.registry import sample_registry


def test_piped_listing_has_one_full_line_per_plugin(capsys: pytest.CaptureFixture[str]) -> None:
    plugins = sorted(sample_registry().values(), key=lambda p: p.name)
    print_table(plugins)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["name", "distribution", "version", "hooks", "problem"]
    assert len(lines) == 1 + len(plugins)
    for plugin, line in zip(plugins, lines[1:], strict=True):
        assert line.startswith(plugin.name + " ")
        assert line.endswith(plugin.error or ", ".join(plugin.hooks)), line
    broken = next(line for line in lines if line.startswith("missing-module"))
    assert (
        "failed to load tests.unit.plugins.not_there:plugin: ModuleNotFoundError: No module named" in broken
    )
    # columns line up: the hooks of every plugin start at the same place
    suffix = next(line for line in lines if line.startswith("suffix "))
    strict = next(line for line in lines if line.startswith("strict "))
    assert suffix.index("transform, validate") == strict.index("filter, validate")
