import pytest

from drsyncer.sim.defaulting import apply_defaults

SCHEMA = {
    "type": "object",
    "properties": {
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "properties": {
                "mode": {"type": "string", "default": "Scheduled"},
                "limits": {
                    "type": "object",
                    "default": {},
                    "properties": {"qps": {"type": "integer", "default": 50}},
                },
                "pairs": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"to": {"type": "string", "default": "same"}}},
                },
                "byName": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "object",
                        "properties": {"on": {"type": "boolean", "default": True}},
                    },
                },
            },
        },
    },
}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({}, {"mode": "Scheduled", "limits": {"qps": 50}}),
        ({"mode": "Manual"}, {"mode": "Manual", "limits": {"qps": 50}}),
        ({"limits": {"qps": 5}}, {"mode": "Scheduled", "limits": {"qps": 5}}),
        (
            {"pairs": [{}, {"to": "x"}]},
            {"mode": "Scheduled", "limits": {"qps": 50}, "pairs": [{"to": "same"}, {"to": "x"}]},
        ),
        ({"byName": {"a": {}}}, {"mode": "Scheduled", "limits": {"qps": 50}, "byName": {"a": {"on": True}}}),
    ],
)
def test_missing_properties_get_schema_defaults_at_every_depth(spec: dict, expected: dict) -> None:
    out = apply_defaults({"metadata": {"name": "r"}, "spec": spec}, SCHEMA)
    assert out["spec"] == expected


def test_defaulting_leaves_the_input_and_metadata_alone() -> None:
    obj = {"metadata": {"name": "r"}, "spec": {}}
    out = apply_defaults(obj, SCHEMA)
    assert obj == {"metadata": {"name": "r"}, "spec": {}}
    assert out["metadata"] == {"name": "r"}


def test_a_missing_object_without_a_default_stays_missing() -> None:
    assert apply_defaults({"metadata": {}}, SCHEMA) == {"metadata": {}}
