"""A registry of the sample plugins, loaded through real entry points (what a worker does)."""

from __future__ import annotations

from importlib.metadata import EntryPoint

from drsyncer.plugins.contract import ENTRY_POINT_GROUP
from drsyncer.plugins.registry import InstalledPlugin, discover

MODULE = "tests.unit.plugins.sample_plugins"
SAMPLES = {
    "suffix": f"{MODULE}:suffix",
    "local-only": f"{MODULE}:LocalOnly",
    "exploding": f"{MODULE}:Exploding",
    "renaming": f"{MODULE}:Renaming",
    "returns-nothing": f"{MODULE}:ReturnsNothing",
    "strict": f"{MODULE}:Strict",
    "no-hooks": f"{MODULE}:NoHooks",
    "missing-module": "tests.unit.plugins.not_there:plugin",
}


def sample_registry() -> dict[str, InstalledPlugin]:
    return discover(EntryPoint(name, value, ENTRY_POINT_GROUP) for name, value in SAMPLES.items())
