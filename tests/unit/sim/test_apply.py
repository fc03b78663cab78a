"""Field ownership and server-side apply over plain dicts."""

from __future__ import annotations

from typing import Any

import pytest

from drsyncer.sim.apply import (
    field_set,
    from_fields_v1,
    record_update,
    server_side_apply,
    to_fields_v1,
    value_at,
    without_path,
)
from drsyncer.sim.errors import ApiError

NOW = "2026-01-01T00:00:00Z"


def _cm(data: dict[str, str], labels: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "a", "namespace": "ns"}
    if labels is not None:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


def _apply(live: dict[str, Any] | None, applied: dict[str, Any], manager: str, force: bool = False) -> Any:
    return server_side_apply(live, applied, manager, force, "v1", NOW, True, ("configmaps", "", "a"))


def test_field_set_walks_keyed_lists_and_skips_server_metadata() -> None:
    obj = {
        "metadata": {"name": "x", "uid": "u", "labels": {"a": "b"}, "finalizers": ["f"]},
        "spec": {"containers": [{"name": "c", "image": "i"}], "args": ["x", "y"]},
    }
    paths = field_set(obj)
    assert ("f:metadata", "f:labels", "f:a") in paths
    assert ("f:metadata", "f:finalizers", 'v:"f"') in paths
    assert ("f:spec", "f:containers", 'k:{"name":"c"}', "f:image") in paths
    assert ("f:spec", "f:args") in paths
    assert not any("f:uid" in p or "f:name" in p[:2] for p in paths)


def test_fields_v1_round_trips_and_paths_resolve() -> None:
    obj = {"spec": {"containers": [{"name": "c", "image": "i"}]}}
    paths = field_set(obj)
    assert from_fields_v1(to_fields_v1(paths)) == paths
    assert value_at(obj, ("f:spec", "f:containers", 'k:{"name":"c"}', "f:image")) == "i"
    assert without_path(obj, ("f:spec", "f:containers", 'k:{"name":"c"}', ".")) == {
        "spec": {"containers": []}
    }


def test_apply_twice_is_unchanged_apart_from_time() -> None:
    first = _apply(None, _cm({"k": "v"}), "m")
    second = server_side_apply(
        first, _cm({"k": "v"}), "m", False, "v1", "2026-01-02T00:00:00Z", True, ("configmaps", "", "a")
    )
    assert {k: v for k, v in second.items() if k != "metadata"} == {
        k: v for k, v in first.items() if k != "metadata"
    }
    assert [e["manager"] for e in second["metadata"]["managedFields"]] == ["m"]


@pytest.mark.parametrize(("force", "raises"), [(False, True), (True, False)])
def test_apply_of_a_field_owned_by_another_manager(force: bool, raises: bool) -> None:
    live = _apply(None, _cm({"k": "v"}), "one")
    if raises:
        with pytest.raises(ApiError) as err:
            _apply(live, _cm({"k": "other"}), "two", force)
        assert err.value.code == 409 and err.value.details
        assert err.value.details["causes"][0]["field"] == ".data.k"
        return
    out = _apply(live, _cm({"k": "other"}), "two", force)
    assert out["data"] == {"k": "other"}
    owners = {e["manager"]: e["fieldsV1"] for e in out["metadata"]["managedFields"]}
    assert "one" not in owners and owners["two"]["f:data"] == {"f:k": {}}


def test_apply_removes_only_fields_nobody_else_owns() -> None:
    live = _apply(None, _cm({"mine": "1", "shared": "2"}), "a")
    live = _apply(live, _cm({"shared": "2"}), "b")
    out = _apply(live, _cm({}), "a")
    assert out["data"] == {"shared": "2"}


def test_update_takes_ownership_of_what_it_changed() -> None:
    live = _apply(None, _cm({"k": "v", "j": "w"}), "applier")
    changed = {**live, "data": {"k": "edited", "j": "w"}}
    entries = record_update(live, changed, "editor", "v1", NOW, True)
    owners = {e["manager"]: from_fields_v1(e["fieldsV1"]) for e in entries}
    assert owners["editor"] == {("f:data", "f:k")}
    assert ("f:data", "f:k") not in owners["applier"] and ("f:data", "f:j") in owners["applier"]
