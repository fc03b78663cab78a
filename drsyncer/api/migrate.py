"""Rewrite NamespaceMapping documents as Replications: `python -m drsyncer.api.migrate FILE|- > out.yaml`.

Other documents pass through unchanged; warnings about dropped fields go to standard error.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import yaml

from drsyncer.api import keys
from drsyncer.api.documents import load_documents
from drsyncer.api.namespacemapping import convert_namespace_mapping
from drsyncer.api.parse import object_ref
from drsyncer.errors import DrsyncerError


def migrate_text(text: str, source: str, warnings: TextIO) -> str:
    out = []
    for doc in load_documents(text, source):
        if isinstance(doc, dict) and doc.get("kind") == keys.KIND_NAMESPACE_MAPPING:
            converted = convert_namespace_mapping(doc)
            for warning in converted.warnings:
                print(f"{object_ref(doc)}: {warning}", file=warnings)
            doc = converted.replication
        out.append(yaml.safe_dump(doc, sort_keys=False))
    return "---\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m drsyncer.api.migrate FILE|-", file=sys.stderr)
        return 2
    try:
        text = sys.stdin.read() if args[0] == "-" else Path(args[0]).read_text(encoding="utf-8")
        sys.stdout.write(migrate_text(text, args[0], sys.stderr))
    except OSError as exc:
        print(f"cannot read {args[0]}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except DrsyncerError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
