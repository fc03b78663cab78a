"""The generated CRDs: structural schemas, names, subresources, printer columns, committed copies."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from drsyncer.api.crds import all_crds, crd_filename, render, render_all
from drsyncer.api.parse import parse_remote_cluster, parse_replication
from tests.unit.api.builders import remote_cluster_dict, replication_dict

ROOT = Path(__file__).resolve().parents[3]
CHART_CRDS = ROOT / "charts" / "drsyncer" / "crds"
CRDS = {crd["spec"]["names"]["kind"]: crd for crd in all_crds()}
JSON_TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "integer": int,
    "number": (int, float),
}


def _schema(kind: str) -> dict[str, Any]:
    schema: dict[str, Any] = CRDS[kind]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def _nodes(schema: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found = [(path, schema)]
    for name, child in (schema.get("properties") or {}).items():
        found += _nodes(child, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        found += _nodes(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        found += _nodes(schema["additionalProperties"], f"{path}{{}}")
    return found


def _resolves(schema: dict[str, Any], json_path: str) -> bool:
    """Whether a printer column's JSONPath names schema fields; `[?(...)]` steps into an array's items."""
    node = schema
    for part in re.sub(r"\[\?\(.*?\)\]", "[]", json_path).strip(".").split("."):
        if node.get("x-kubernetes-preserve-unknown-fields"):
            return True
        name, items = (part[:-2], True) if part.endswith("[]") else (part, False)
        properties = node.get("properties") or {}
        if name not in properties:
            return False
        node = properties[name]
        if items:
            if node.get("type") != "array":
                return False
            node = node["items"]
    return True


@pytest.mark.parametrize("kind", sorted(CRDS))
def test_every_schema_node_is_typed_without_refs_or_unions(kind: str) -> None:
    for path, node in _nodes(_schema(kind)):
        # a structural schema may leave out the type of a node that keeps any JSON value
        untyped = node.get("x-kubernetes-preserve-unknown-fields") and "type" not in node
        assert untyped or node.get("type") in JSON_TYPES, f"{kind}{path} has no type"
        assert not {"$ref", "anyOf", "oneOf", "allOf", "not"} & node.keys(), f"{kind}{path}"


@pytest.mark.parametrize("kind", sorted(CRDS))
def test_unknown_fields_are_preserved_only_in_the_legacy_spec_modifier_patches_and_plugin_parameters(
    kind: str,
) -> None:
    open_nodes = [
        path for path, node in _nodes(_schema(kind)) if node.get("x-kubernetes-preserve-unknown-fields")
    ]
    # the patches and values of spec.modifiers are any JSON, checked by drsyncer's own validation
    modifier_values = [
        ".spec.modifiers[].fieldMatches[].value",
        ".spec.modifiers[].jsonPatch[].value",
        ".spec.modifiers[].mergePatch",
        ".spec.modifiers[].strategicMergePatch",
        ".spec.modifiers[].embedded[].jsonPatch[].value",
        ".spec.modifiers[].embedded[].mergePatch",
    ]
    # plugin parameters are the plugin's to define (its validator checks them), so they stay free-form
    expected = {
        "NamespaceMapping": [".spec"],
        "Replication": [*modifier_values, ".spec.plugins[].parameters"],
    }
    assert sorted(open_nodes) == sorted(expected.get(kind, []))
    # a null value (`test` for null, a merge patch's null) survives kube-apiserver only where nullable
    nodes = dict(_nodes(_schema(kind)))
    assert all(nodes[path].get("nullable") for path in open_nodes if "type" not in nodes[path])


@pytest.mark.parametrize("kind", sorted(CRDS))
def test_defaults_match_the_type_and_enum_of_their_field(kind: str) -> None:
    for path, node in _nodes(_schema(kind)):
        if "default" in node:
            assert isinstance(node["default"], JSON_TYPES[node["type"]]), path
            assert node["default"] in node.get("enum", [node["default"]]), path


@pytest.mark.parametrize(
    ("kind", "plural", "short_names"),
    [
        ("RemoteCluster", "remoteclusters", ["rcl"]),
        ("Replication", "replications", ["repl"]),
        ("NamespaceMapping", "namespacemappings", None),
    ],
)
def test_names_scope_and_status_subresource(kind: str, plural: str, short_names: list[str] | None) -> None:
    crd = CRDS[kind]
    assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
    assert crd["metadata"]["name"] == f"{plural}.dr-syncer.io"
    assert crd["spec"]["group"] == "dr-syncer.io" and crd["spec"]["scope"] == "Namespaced"
    names = crd["spec"]["names"]
    assert (names["plural"], names.get("shortNames")) == (plural, short_names)
    assert names["categories"] == ["dr-syncer"]
    (version,) = crd["spec"]["versions"]
    assert version["name"] == "v1alpha1" and version["served"] and version["storage"]
    assert version["subresources"] == {"status": {}}


@pytest.mark.parametrize("kind", sorted(CRDS))
def test_printer_columns_point_at_schema_fields(kind: str) -> None:
    columns = CRDS[kind]["spec"]["versions"][0]["additionalPrinterColumns"]
    for column in columns:
        assert column["type"] in ("string", "integer", "number", "boolean", "date")
        if column["jsonPath"] != ".metadata.creationTimestamp":
            assert _resolves(_schema(kind), column["jsonPath"]), column


@pytest.mark.parametrize(
    ("kind", "names"),
    [
        (
            "Replication",
            ["Source", "Destinations", "Mode", "Phase", "Reason", "Last Sync", "Synced", "Failed", "Age"],
        ),
        ("RemoteCluster", ["Health", "Version", "Last Check", "Age"]),
    ],
)
def test_default_printer_columns(kind: str, names: list[str]) -> None:
    columns = CRDS[kind]["spec"]["versions"][0]["additionalPrinterColumns"]
    assert [c["name"] for c in columns if not c.get("priority")] == names


def test_namespace_mapping_version_is_deprecated_in_favour_of_replication() -> None:
    (version,) = CRDS["NamespaceMapping"]["spec"]["versions"]
    assert version["deprecated"] is True
    assert "use Replication" in version["deprecationWarning"]


def test_conditions_merge_by_type() -> None:
    conditions = _schema("Replication")["properties"]["status"]["properties"]["conditions"]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    assert "type" in conditions["items"]["required"]


def _apply_defaults(schema: dict[str, Any], value: Any) -> Any:
    """What the API server does with `default`s, for objects and arrays of objects."""
    if isinstance(value, dict) and "properties" in schema:
        for name, child in schema["properties"].items():
            if name not in value and "default" in child:
                value[name] = child["default"]
            if name in value:
                value[name] = _apply_defaults(child, value[name])
    if isinstance(value, list) and "items" in schema:
        return [_apply_defaults(schema["items"], item) for item in value]
    return value


@pytest.mark.parametrize(
    ("kind", "obj"),
    [
        ("Replication", replication_dict()),
        ("Replication", replication_dict(replicationMode="Continuous", continuous={})),
        ("RemoteCluster", remote_cluster_dict()),
    ],
)
def test_api_server_defaults_agree_with_model_defaults(kind: str, obj: dict[str, Any]) -> None:
    parse = parse_replication if kind == "Replication" else parse_remote_cluster
    defaulted = {**obj, "spec": _apply_defaults(_schema(kind)["properties"]["spec"], dict(obj["spec"]))}
    assert defaulted["spec"] != obj["spec"]
    assert parse(defaulted).spec_dict() == parse(obj).spec_dict()  # type: ignore[operator]


def test_crds_output_is_a_yaml_stream_of_every_crd() -> None:
    docs = list(yaml.safe_load_all(render_all()))
    assert [d["spec"]["names"]["kind"] for d in docs] == ["RemoteCluster", "Replication", "NamespaceMapping"]


@pytest.mark.parametrize("crd", all_crds(), ids=crd_filename)
def test_committed_chart_crds_are_identical_to_the_generated_ones(crd: dict[str, Any]) -> None:
    committed = CHART_CRDS / crd_filename(crd)
    assert committed.read_text() == render(crd), f"regenerate with: drsyncer crds --output-dir {CHART_CRDS}"


def test_chart_holds_no_stale_crds() -> None:
    assert sorted(p.name for p in CHART_CRDS.glob("*.yaml")) == sorted(crd_filename(c) for c in all_crds())
