"""`drsyncer plugins`: the plugins installed beside this drsyncer, as a worker would load them."""

from __future__ import annotations

import argparse
import json

from rich import box
from rich.console import Console
from rich.table import Table

from drsyncer.plugins.contract import ENTRY_POINT_GROUP
from drsyncer.plugins.registry import installed


def run(args: argparse.Namespace) -> int:
    """List every plugin (name, distribution, version, hooks); exit 1 when one cannot be loaded."""
    plugins = sorted(installed().values(), key=lambda p: p.name)
    broken = any(p.error for p in plugins)
    if args.json:
        print(json.dumps([p.to_dict() for p in plugins], indent=2))
        return 1 if broken else 0
    console = Console(highlight=False)
    if not plugins:
        console.print(f"no plugins installed (entry point group {ENTRY_POINT_GROUP})", markup=False)
        return 0
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for column in ("name", "distribution", "version", "hooks", "problem"):
        table.add_column(column)
    for plugin in plugins:
        table.add_row(
            plugin.name, plugin.distribution, plugin.version, ", ".join(plugin.hooks), plugin.error or ""
        )
    console.print(table)
    return 1 if broken else 0
