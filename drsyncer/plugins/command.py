"""`drsyncer plugins`: the plugins installed beside this drsyncer, as a worker would load them."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from rich import box
from rich.console import Console
from rich.table import Table

from drsyncer.plugins.contract import ENTRY_POINT_GROUP
from drsyncer.plugins.registry import InstalledPlugin, installed

COLUMNS = ("name", "distribution", "version", "hooks", "problem")


def run(args: argparse.Namespace) -> int:
    """List every plugin (name, distribution, version, hooks); exit 1 when one cannot be loaded."""
    plugins = sorted(installed().values(), key=lambda p: p.name)
    broken = any(p.error for p in plugins)
    if args.json:
        print(json.dumps([p.to_dict() for p in plugins], indent=2))
        return 1 if broken else 0
    if not plugins:
        print(f"no plugins installed (entry point group {ENTRY_POINT_GROUP})")
        return 0
    print_table(plugins)
    return 1 if broken else 0


def print_table(plugins: Sequence[InstalledPlugin]) -> None:
    """The plugins as a table on standard output: fitted to a terminal, or, when piped (grep, a
    file), one line per plugin with every value in full."""
    rows = [(p.name, p.distribution, p.version, ", ".join(p.hooks), p.error or "") for p in plugins]
    if not sys.stdout.isatty():
        print("\n".join(plain_lines([COLUMNS, *rows])))
        return
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for column in COLUMNS:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    Console(highlight=False).print(table)


def plain_lines(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows as lines of columns padded to their widest value, two spaces apart; the last column is
    not padded and nothing is cut or wrapped."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [
        "  ".join([cell.ljust(width) for cell, width in zip(row, widths, strict=False)] + [row[-1]]).rstrip()
        for row in rows
    ]
