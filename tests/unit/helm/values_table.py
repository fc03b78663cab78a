"""The values table of docs/helm.md, written from the chart's values.schema.json (descriptions) and
values.yaml (defaults), so the documentation cannot drift from the chart.

Regenerate after changing a value: `python -m tests.unit.helm.values_table`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[3]
CHART = ROOT / "charts" / "drsyncer"
DOC = ROOT / "docs" / "helm.md"
BEGIN = "<!-- values-table: generated from charts/drsyncer/values.schema.json and values.yaml -->"
END = "<!-- end of values-table -->"


def load() -> tuple[dict[str, Any], dict[str, Any]]:
    schema = json.loads((CHART / "values.schema.json").read_text())
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    return schema, values


Leaf = tuple[str, dict[str, Any], Any]


def leaves(schema: dict[str, Any], values: Any, prefix: str = "") -> Iterator[Leaf]:
    """(dotted key, schema node, default) of every value: objects with declared properties are walked,
    anything else (lists, maps, free-form objects) is one value."""
    for key, node in schema.get("properties", {}).items():
        path = f"{prefix}{key}"
        default = values.get(key) if isinstance(values, dict) else None
        if node.get("type") == "object" and "properties" in node:
            yield from leaves(node, default or {}, path + ".")
        else:
            yield path, node, default


def _node_at(schema: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    node = schema
    for key in keys:
        node = node["properties"][key]
    return node


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default(value: Any) -> str:
    if value is None:
        return ""
    if value == "":
        return '`""`'
    return f"`{json.dumps(value, separators=(', ', ': '))}`"


def table() -> str:
    schema, values = load()
    rows = ["| Value | Type | Default | Meaning |", "|---|---|---|---|"]
    shown: set[str] = set()
    for path, node, default in leaves(schema, values):
        if path == "global":  # Helm's own, for subcharts
            continue
        # a heading row for each group of values, with what the group is about
        parts = path.split(".")
        for depth in range(1, len(parts)):
            group = ".".join(parts[:depth])
            if group not in shown:
                shown.add(group)
                about = _node_at(schema, parts[:depth]).get("description", "")
                rows.append(f"| **`{group}`** | | | {_cell(about)} |")
        kind = node.get("type", "")
        if "enum" in node:
            kind += " (" + ", ".join(f"`{v}`" for v in node["enum"]) + ")"
        meaning = _cell(node.get("description", ""))
        rows.append(f"| `{path}` | {kind} | {_cell(_default(default))} | {meaning} |")
    return "\n".join(rows) + "\n"


def render(document: str) -> str:
    """`document` with the text between the markers replaced by the current table."""
    head, _, rest = document.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{table()}{END}{tail}"


def main() -> None:
    DOC.write_text(render(DOC.read_text()))


if __name__ == "__main__":
    main()
