"""`drsyncer crds` and `drsyncer validate`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from drsyncer.api.crds import render_all, write_all
from drsyncer.api.documents import check_documents, load_documents, report_lines
from drsyncer.errors import DrsyncerError


def crds(args: argparse.Namespace) -> int:
    """Print every CRD as multi-document YAML, or write one file per CRD into --output-dir."""
    if args.output_dir:
        try:
            for path in write_all(Path(args.output_dir)):
                print(path)
        except OSError as exc:
            raise DrsyncerError(f"cannot write to {args.output_dir}: {exc.strerror or exc}") from None
        return 0
    sys.stdout.write(render_all())
    return 0


def _read(name: str) -> str:
    if name == "-":
        return sys.stdin.read()
    try:
        return Path(name).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DrsyncerError(f"{name}: not a text file") from None
    except OSError as exc:
        raise DrsyncerError(f"cannot read {name}: {exc.strerror or exc}") from None


def validate(args: argparse.Namespace) -> int:
    """Check every document of a YAML file offline; exit 1 if any dr-syncer.io object is invalid."""
    source = "standard input" if args.file == "-" else args.file
    checks = check_documents(load_documents(_read(args.file), source))
    if not any(check.skipped is None for check in checks):
        raise DrsyncerError(f"{source}: no dr-syncer.io objects found")
    for line in report_lines(checks):
        print(line)
    return 0 if all(check.ok for check in checks) else 1
