"""`drsyncer migrate FILE`: legacy NamespaceMapping YAML → Replication YAML (warnings on stderr; exit
status 1 when a Replication made is one drsyncer would refuse, naming the fields)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from drsyncer.api.migrate import migrate_text
from drsyncer.errors import DrsyncerError


def run(args: argparse.Namespace) -> int:
    name = "standard input" if args.file == "-" else args.file
    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DrsyncerError(f"{name}: not a text file") from None
    except OSError as exc:
        raise DrsyncerError(f"cannot read {name}: {exc.strerror or exc}") from None
    try:
        migration = migrate_text(text, name, sys.stderr)
    except yaml.YAMLError as exc:
        raise DrsyncerError(f"{name}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not migration.text.strip():
        raise DrsyncerError(f"{name}: no documents")
    sys.stdout.write(migration.text)
    # written all the same: the errors on standard error say what to fix in it
    return 1 if migration.invalid else 0
