"""The deep read-only view filters get: reads like the dict it shows, changes nothing."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest

from drsyncer.plugins.readonly import ReadOnlyDict, view


def source() -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {"template": {"spec": {"containers": [{"name": "app", "args": ["a", "b"]}]}}},
    }


def containers(obj: Any) -> Any:
    return obj["spec"]["template"]["spec"]["containers"]


@pytest.mark.parametrize(
    "change",
    [
        lambda o: o["metadata"].__setitem__("name", "other"),
        lambda o: o["metadata"]["labels"].update({"x": "y"}),
        lambda o: o["metadata"]["labels"].pop("app"),
        lambda o: containers(o).append({}),
        lambda o: containers(o)[0]["args"].__setitem__(0, "z"),
        lambda o: containers(o)[0]["args"].sort(),
        lambda o: o.get("metadata").setdefault("annotations", {}),
        lambda o: dict(o)["metadata"].clear(),
        lambda o: copy.copy(o)["metadata"].__delitem__("name"),
        lambda o: [c["args"].clear() for c in containers(o)],
    ],
)
def test_no_change_through_the_view_reaches_the_object(change: Callable[[Any], Any]) -> None:
    obj = source()
    with pytest.raises((TypeError, AttributeError)):
        change(view(obj))
    assert obj == source()


def test_the_view_reads_and_compares_like_the_object() -> None:
    obj = source()
    shown = view(obj)
    assert isinstance(shown, Mapping) and isinstance(containers(shown), Sequence)
    assert shown == obj and obj == shown and shown["metadata"]["labels"] == {"app": "web"}
    assert containers(shown) == [{"name": "app", "args": ["a", "b"]}]
    assert containers(shown)[0]["args"][-1:] == ["b"] and "a" in containers(shown)[0]["args"]
    assert {"name": "app", "args": ["a", "b"]} in containers(shown)
    assert shown.get("status") is None and shown.get("status", 1) == 1 and "spec" in shown
    assert sorted(shown) == ["kind", "metadata", "spec"] and len(shown) == 3
    assert dict(shown["metadata"]["labels"].items()) == {"app": "web"}
    assert repr(shown) == repr(obj)


def test_a_deep_copy_of_the_view_is_a_plain_dict_to_change() -> None:
    obj = source()
    mine = copy.deepcopy(view(obj))
    assert type(mine) is dict and type(containers(mine)) is list and mine == obj
    mine["metadata"]["labels"]["x"] = "y"
    assert obj == source()


def test_the_view_is_made_as_values_are_read() -> None:
    obj = source()
    shown = ReadOnlyDict(obj)
    assert type(shown["metadata"]) is ReadOnlyDict
    assert shown["kind"] is obj["kind"]
