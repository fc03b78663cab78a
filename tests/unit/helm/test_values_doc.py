"""The chart's values, its schema and docs/helm.md agree: every value has a schema entry with a
description, the schema declares no value the chart lacks, and the table in the docs is current."""

from __future__ import annotations

from typing import Any

from tests.unit.helm.values_table import BEGIN, DOC, END, leaves, load, render


def _value_paths(values: Any, prefix: str = "") -> set[str]:
    paths = set()
    for key, value in values.items():
        paths.add(f"{prefix}{key}")
        if isinstance(value, dict) and value:
            paths |= _value_paths(value, f"{prefix}{key}.")
    return paths


def test_every_value_has_a_described_schema_entry() -> None:
    schema, values = load()
    described = {path for path, node, _ in leaves(schema, values) if node.get("description")}
    documented = {path for path, _node, _ in leaves(schema, values)}
    assert documented == described
    # every key of values.yaml is a documented value, inside one (a free-form map), or an object
    # whose values are documented
    for path in _value_paths(values):
        parts = path.split(".")
        inside = any(".".join(parts[:n]) in documented for n in range(1, len(parts) + 1))
        assert inside or any(d.startswith(path + ".") for d in documented), path


def test_schema_declares_only_values_the_chart_has() -> None:
    schema, values = load()
    missing = [
        path for path, _node, default in leaves(schema, values) if default is None and path != "global"
    ]
    assert missing == []


def test_objects_in_the_schema_reject_unknown_keys() -> None:
    schema, _values = load()

    def walk(node: dict[str, Any], path: str) -> None:
        if "properties" in node:
            assert node.get("additionalProperties") is False, path or "(top)"
            for key, child in node["properties"].items():
                walk(child, f"{path}.{key}".lstrip("."))

    walk(schema, "")


def test_docs_values_table_is_current() -> None:
    document = DOC.read_text()
    assert BEGIN in document and END in document
    assert render(document) == document, "regenerate with: python -m tests.unit.helm.values_table"
