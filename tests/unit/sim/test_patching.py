"""Merge patch, JSON patch and strategic merge patch over plain dicts."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from drsyncer.sim.errors import ApiError
from drsyncer.sim.patching import json_merge_patch, json_patch, strategic_merge_patch


@pytest.mark.parametrize(
    ("target", "patch", "expected"),
    [
        ({"a": 1}, {"a": 2}, {"a": 2}),
        ({"a": 1, "b": 2}, {"b": None}, {"a": 1}),
        ({"a": {"x": 1, "y": 2}}, {"a": {"y": None, "z": 3}}, {"a": {"x": 1, "z": 3}}),
        ({"l": [1, 2]}, {"l": [3]}, {"l": [3]}),
        ({"a": 1}, {"n": {"deep": None}}, {"a": 1, "n": {}}),
    ],
)
def test_json_merge_patch(target: Any, patch: Any, expected: Any) -> None:
    before = copy.deepcopy(target)
    assert json_merge_patch(target, patch) == expected
    assert target == before


@pytest.mark.parametrize(
    ("ops", "expected"),
    [
        ([{"op": "add", "path": "/b", "value": 2}], {"a": [1, 2], "b": 2}),
        ([{"op": "add", "path": "/a/-", "value": 3}], {"a": [1, 2, 3]}),
        ([{"op": "add", "path": "/a/0", "value": 0}], {"a": [0, 1, 2]}),
        ([{"op": "remove", "path": "/a/0"}], {"a": [2]}),
        ([{"op": "replace", "path": "/a", "value": "x"}], {"a": "x"}),
        ([{"op": "move", "from": "/a", "path": "/b"}], {"b": [1, 2]}),
        ([{"op": "copy", "from": "/a/1", "path": "/c"}], {"a": [1, 2], "c": 2}),
        ([{"op": "test", "path": "/a/1", "value": 2}], {"a": [1, 2]}),
        ([{"op": "add", "path": "/m~1n", "value": 1}], {"a": [1, 2], "m/n": 1}),
    ],
)
def test_json_patch(ops: list[dict[str, Any]], expected: Any) -> None:
    target = {"a": [1, 2]}
    assert json_patch(target, ops) == expected
    assert target == {"a": [1, 2]}


@pytest.mark.parametrize(
    ("ops", "code"),
    [
        ([{"op": "replace", "path": "/missing", "value": 1}], 422),
        ([{"op": "remove", "path": "/a/5"}], 422),
        ([{"op": "test", "path": "/a/0", "value": 9}], 422),
        ([{"op": "explode", "path": "/a"}], 400),
        ({"op": "add"}, 400),
    ],
)
def test_json_patch_failures(ops: Any, code: int) -> None:
    with pytest.raises(ApiError) as err:
        json_patch({"a": [1, 2]}, ops)
    assert err.value.code == code


POD_SPEC = {
    "containers": [
        {
            "name": "main",
            "image": "a:1",
            "env": [{"name": "X", "value": "1"}],
            "ports": [{"containerPort": 80}],
            "volumeMounts": [{"name": "d", "mountPath": "/d"}],
        },
        {"name": "side", "image": "b:1"},
    ],
    "volumes": [{"name": "d", "emptyDir": {}}],
    "tolerations": [{"key": "k"}],
}


def test_strategic_merge_patch_interleaves_patch_and_server_items_as_kube_does() -> None:
    # checked against kube-apiserver 1.34: patch items in patch order, server-only items in server
    # order, merged by position in the server's list
    current = {"containers": [{"name": "main"}, {"name": "sidecar"}]}
    patch = {"containers": [{"name": "main", "image": "x"}, {"name": "third"}]}
    merged = strategic_merge_patch(current, patch)
    assert [c["name"] for c in merged["containers"]] == ["main", "third", "sidecar"]
    env = strategic_merge_patch(
        {"env": [{"name": "A"}, {"name": "C"}]}, {"env": [{"name": "B"}, {"name": "C"}]}
    )
    assert [e["name"] for e in env["env"]] == ["B", "A", "C"]


@pytest.mark.parametrize(
    ("patch", "check"),
    [
        (
            {"containers": [{"name": "main", "image": "a:2"}]},
            lambda r: [c["image"] for c in r["containers"]] == ["a:2", "b:1"] and r["containers"][0]["env"],
        ),
        (
            {"containers": [{"name": "new", "image": "c"}]},
            # kube's order: a new item goes before the server's items the patch does not name
            lambda r: [c["name"] for c in r["containers"]] == ["new", "main", "side"],
        ),
        (
            {"containers": [{"name": "side", "$patch": "delete"}]},
            lambda r: [c["name"] for c in r["containers"]] == ["main"],
        ),
        (
            {"containers": [{"name": "main", "env": [{"name": "Y", "value": "2"}]}]},
            lambda r: [e["name"] for e in r["containers"][0]["env"]] == ["Y", "X"],
        ),
        (
            {"containers": [{"name": "main", "ports": [{"containerPort": 80, "name": "http"}]}]},
            lambda r: r["containers"][0]["ports"] == [{"containerPort": 80, "name": "http"}],
        ),
        (
            {"volumes": [{"name": "e", "emptyDir": {}}]},
            lambda r: [v["name"] for v in r["volumes"]] == ["e", "d"],
        ),
        ({"tolerations": [{"key": "other"}]}, lambda r: r["tolerations"] == [{"key": "other"}]),
        (
            {"volumes": [{"$patch": "replace"}, {"name": "only"}]},
            lambda r: r["volumes"] == [{"name": "only"}],
        ),
        ({"volumes": None}, lambda r: "volumes" not in r),
    ],
)
def test_strategic_merge_patch_merges_keyed_lists(patch: dict[str, Any], check: Any) -> None:
    before = copy.deepcopy(POD_SPEC)
    assert check(strategic_merge_patch(POD_SPEC, patch))
    assert before == POD_SPEC


def test_strategic_merge_patch_unions_finalizers_and_merges_service_ports_by_port() -> None:
    assert strategic_merge_patch({"finalizers": ["a"]}, {"finalizers": ["b", "a"]}) == {
        "finalizers": ["a", "b"]
    }
    svc = {"ports": [{"port": 80, "targetPort": 8080}]}
    assert strategic_merge_patch(svc, {"ports": [{"port": 80, "name": "http"}]}) == {
        "ports": [{"port": 80, "targetPort": 8080, "name": "http"}]
    }
