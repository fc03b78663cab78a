"""Rewrite NamespaceMapping documents as Replications: `python -m drsyncer.api.migrate FILE|- > out.yaml`.

Other documents pass through unchanged; warnings about dropped fields, and the errors of a
Replication made that drsyncer would refuse (exit status 1; it is written all the same, to be fixed),
go to standard error.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import yaml

from drsyncer.api import keys
from drsyncer.api.documents import load_documents
from drsyncer.api.namespacemapping import convert_namespace_mapping
from drsyncer.api.parse import InvalidSpec, object_ref, parse_replication
from drsyncer.errors import DrsyncerError


@dataclass
class Migration:
    """The documents of a migrated file as YAML (`text`), and how many of the Replications made from
    NamespaceMappings drsyncer would refuse as they are (`invalid`; each was reported)."""

    text: str
    invalid: int = 0


def migrate_text(text: str, source: str, warnings: TextIO) -> Migration:
    """Every document of `text` (`source` names it), NamespaceMappings rewritten as Replications;
    what was dropped, and each field a Replication made would be refused for (the errors `drsyncer
    validate` gives), as lines on `warnings`. DrsyncerError when `text` is not YAML."""
    out = []
    invalid = 0
    for doc in load_documents(text, source):
        if isinstance(doc, dict) and doc.get("kind") == keys.KIND_NAMESPACE_MAPPING:
            converted = convert_namespace_mapping(doc)
            for warning in converted.warnings:
                print(f"{object_ref(doc)}: {warning}", file=warnings)
            try:  # what `drsyncer validate` runs on a NamespaceMapping (api.documents.check_document)
                parse_replication(converted.replication)
                errors: list[str] = []
            except InvalidSpec as exc:
                errors = exc.errors
            for error in errors:
                print(f"{object_ref(doc)}: the Replication it becomes is invalid: {error}", file=warnings)
            invalid += bool(errors)
            doc = converted.replication
        out.append(yaml.safe_dump(doc, sort_keys=False))
    return Migration("---\n".join(out), invalid)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m drsyncer.api.migrate FILE|-", file=sys.stderr)
        return 2
    try:
        text = sys.stdin.read() if args[0] == "-" else Path(args[0]).read_text(encoding="utf-8")
        migration = migrate_text(text, args[0], sys.stderr)
        sys.stdout.write(migration.text)
    except OSError as exc:
        print(f"cannot read {args[0]}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except DrsyncerError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 1 if migration.invalid else 0


if __name__ == "__main__":
    sys.exit(main())
