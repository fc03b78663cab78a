"""Label and field selector parsing and matching."""

from __future__ import annotations

from typing import Any

import pytest

from drsyncer.api.selectors import selector_string as selector_from_label_selector
from drsyncer.sim.errors import ApiError
from drsyncer.sim.selectors import (
    fields_match,
    labels_match,
    parse_field_selector,
    parse_label_selector,
)


def _obj(labels: dict[str, str] | None = None, name: str = "x", namespace: str = "ns") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace, "labels": labels or {}}}


@pytest.mark.parametrize(
    ("selector", "labels", "matches"),
    [
        ("", {}, True),
        ("a=b", {"a": "b"}, True),
        ("a=b", {"a": "c"}, False),
        ("a==b", {"a": "b"}, True),
        ("a!=b", {}, True),
        ("a!=b", {"a": "b"}, False),
        ("a in (b, c)", {"a": "c"}, True),
        ("a in (b,c)", {}, False),
        ("a notin (b,c)", {}, True),
        ("a notin (b,c)", {"a": "b"}, False),
        ("a", {"a": ""}, True),
        ("!a", {"a": ""}, False),
        ("!a", {"b": "1"}, True),
        ("a=b, c in (d), !e", {"a": "b", "c": "d"}, True),
        ("example.com/tier=web", {"example.com/tier": "web"}, True),
        ("n>3", {"n": "4"}, True),
        ("n<3", {"n": "4"}, False),
        ("a=", {"a": ""}, True),
    ],
)
def test_label_selector_matching(selector: str, labels: dict[str, str], matches: bool) -> None:
    assert labels_match(parse_label_selector(selector), _obj(labels)) is matches


@pytest.mark.parametrize("selector", ["a in b", "a in ()", "a b", "=b", "a=b=c", "a,,b", "a in (b c)", "n>x"])
def test_malformed_label_selectors_are_bad_requests(selector: str) -> None:
    with pytest.raises(ApiError) as err:
        parse_label_selector(selector)
    assert err.value.code == 400


@pytest.mark.parametrize(
    ("selector", "obj", "matches"),
    [
        ("metadata.name=x", _obj(name="x"), True),
        ("metadata.name==x", _obj(name="y"), False),
        ("metadata.name!=x", _obj(name="y"), True),
        ("metadata.namespace=ns,metadata.name=x", _obj(), True),
        ("metadata.namespace=other", _obj(), False),
    ],
)
def test_field_selector_matching(selector: str, obj: dict[str, Any], matches: bool) -> None:
    assert fields_match(parse_field_selector(selector, "configmaps"), obj) is matches


def test_field_selector_on_unsupported_field_is_bad_request() -> None:
    with pytest.raises(ApiError) as err:
        parse_field_selector("spec.replicas=1", "deployments")
    assert err.value.code == 400
    assert parse_field_selector("type=Opaque", "secrets")


def test_label_selector_object_renders_as_the_string_form() -> None:
    spec = {
        "matchLabels": {"app": "web"},
        "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}],
    }
    text = selector_from_label_selector(spec)
    assert text == "app=web,tier in (a,b)"
    assert labels_match(parse_label_selector(text), _obj({"app": "web", "tier": "b"}))
