"""A registry of the sample plugins, loaded through real entry points (what a worker does)."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from pathlib import Path

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


# plugins that quote Secret data, exit, change what they are shown or return what is no object (tests/unit/plugins/test_chain.py)
CARELESS = {
    "decoding": f"{MODULE}:Decoding",
    "quoting": f"{MODULE}:Quoting",
    "telling": f"{MODULE}:Telling",
    "raising": f"{MODULE}:Raising",
    "mutating": f"{MODULE}:Mutating",
    "tallying": f"{MODULE}:CountingInParameters",
    "flat-metadata": f"{MODULE}:FlatMetadata",
}


def sample_registry(samples: dict[str, str] = SAMPLES) -> dict[str, InstalledPlugin]:
    return discover(EntryPoint(name, value, ENTRY_POINT_GROUP) for name, value in samples.items())


def sample_line(marker: str) -> str:
    """`sample_plugins.py:<line>` of the one line of the sample plugins holding `marker`, as a
    plugin's failure names where it raised."""
    lines = Path(__file__).with_name("sample_plugins.py").read_text().splitlines()
    [number] = [n for n, line in enumerate(lines, 1) if marker in line]
    return f"sample_plugins.py:{number}"
