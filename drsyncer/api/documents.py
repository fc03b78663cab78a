"""Offline checking of YAML documents holding dr-syncer.io objects (what `drsyncer validate` does)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

from drsyncer.api import keys
from drsyncer.api.namespacemapping import convert_namespace_mapping
from drsyncer.api.parse import InvalidSpec, object_ref, parse_remote_cluster, parse_replication
from drsyncer.api.plugins import problems_as_written
from drsyncer.errors import DrsyncerError
from drsyncer.plugins.chain import problems, settings_of
from drsyncer.plugins.registry import Registry, installed

_PARSERS = {
    keys.KIND_REPLICATION: parse_replication,
    keys.KIND_REMOTE_CLUSTER: parse_remote_cluster,
}


@dataclass
class DocumentCheck:
    """The verdict on one document: `ref` is `Kind/namespace/name` (or `document N`)."""

    ref: str
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    skipped: str | None = None  # why a document that is not ours was not checked

    @property
    def ok(self) -> bool:
        return not self.errors


def load_documents(text: str, source: str) -> list[Any]:
    """Every non-empty YAML document of `text`, the items of a `kind: List` (`kubectl get -o yaml`)
    one by one; DrsyncerError in one line if it is not YAML."""
    try:
        docs = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise DrsyncerError(f"{source}: not valid YAML: {exc.problem or exc.context}{where}") from None
    except yaml.YAMLError as exc:
        raise DrsyncerError(f"{source}: not valid YAML: {exc}") from None
    out: list[Any] = []
    for doc in docs:
        is_list = isinstance(doc, dict) and doc.get("kind") == "List" and isinstance(doc.get("items"), list)
        out += doc["items"] if is_list else [doc]
    return out


def check_document(doc: Any, index: int, plugins: Registry | None = None) -> DocumentCheck:
    """Validate one document the way the controller would; `spec.plugins` against the plugins
    installed here (`plugins`, default: this process's)."""
    if not isinstance(doc, dict):
        return DocumentCheck(f"document {index}", [f"must be a mapping, not {type(doc).__name__}"])
    ref = object_ref(doc)
    api_version = str(doc.get("apiVersion") or "")
    if api_version.partition("/")[0] != keys.GROUP:
        return DocumentCheck(ref, skipped=f"not a {keys.GROUP} object ({api_version or 'no apiVersion'})")
    kind = doc.get("kind")
    check = DocumentCheck(ref)
    try:
        if kind == keys.KIND_NAMESPACE_MAPPING:
            converted = convert_namespace_mapping(doc)
            check.warnings = converted.warnings
            parse_replication(converted.replication)
        elif kind == keys.KIND_REPLICATION:
            model = parse_replication(doc)
            if model.spec.plugins:  # plugins are imported only when a Replication names some
                registry = installed() if plugins is None else plugins
                check.errors = problems(settings_of(model.spec.plugins), registry)
        elif kind in _PARSERS:
            _PARSERS[kind](doc)
        else:
            known = ", ".join([*_PARSERS, keys.KIND_NAMESPACE_MAPPING])
            check.errors = [f'kind: must be one of {known} (got "{kind}")']
    except InvalidSpec as exc:
        check.errors = exc.errors
        if kind == keys.KIND_REPLICATION:  # a missing plugin in the same round as the rest
            check.errors = [
                *exc.errors,
                *problems_as_written(doc, lambda: installed() if plugins is None else plugins),
            ]
    return check


def check_documents(docs: Iterable[Any]) -> list[DocumentCheck]:
    return [check_document(doc, i) for i, doc in enumerate(docs, start=1)]


def report_lines(checks: Iterable[DocumentCheck]) -> list[str]:
    """`OK kind/namespace/name`, or `INVALID ...` followed by one indented line per error."""
    lines: list[str] = []
    for check in checks:
        if check.skipped:
            lines.append(f"SKIP {check.ref}: {check.skipped}")
            continue
        lines.append(f"{'OK' if check.ok else 'INVALID'} {check.ref}")
        lines += [f"  warning: {w}" for w in check.warnings]
        lines += [f"  {e}" for e in check.errors]
    return lines
