"""Store semantics without HTTP: the rules a write follows, and the event history watches replay."""

from __future__ import annotations

from typing import Any

import pytest

from drsyncer.sim.errors import ApiError
from drsyncer.sim.resources import ResourceType
from drsyncer.sim.store import MERGE_PATCH, Store
from tests.fixtures.crds import widget_crd


@pytest.fixture
def store() -> Store:
    s = Store(crd_established_delay_s=0)
    s.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns"}})
    return s


def _rt(store: Store, group: str, plural: str, version: str = "v1") -> ResourceType:
    rt = store.registry.lookup(group, version, plural)
    assert rt is not None
    return rt


def _cm(name: str, **data: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "data": data}


def test_the_usual_namespaces_exist_from_the_start() -> None:
    names = [o["metadata"]["name"] for o in Store().list(_rt(Store(), "", "namespaces"), None).items]
    assert names == ["default", "kube-node-lease", "kube-public", "kube-system"]


def test_every_write_gets_a_higher_resource_version_and_an_event(store: Store) -> None:
    cms = _rt(store, "", "configmaps")
    start = store.resource_version
    a = store.create(cms, "ns", _cm("a"))
    b = store.patch(cms, "ns", "a", MERGE_PATCH, {"data": {"k": "v"}})
    store.delete(cms, "ns", "a")
    events = store.events_since(cms.key, start)
    assert [e.type for e in events] == ["ADDED", "MODIFIED", "DELETED"]
    assert [e.rv for e in events] == [start + 1, start + 2, start + 3]
    assert int(a["metadata"]["resourceVersion"]) < int(b["metadata"]["resourceVersion"])


def test_compaction_makes_older_resource_versions_gone(store: Store) -> None:
    cms = _rt(store, "", "configmaps")
    start = store.resource_version
    store.create(cms, "ns", _cm("a"))
    store.compact()
    with pytest.raises(ApiError) as err:
        store.events_since(cms.key, start)
    assert (err.value.code, err.value.reason) == (410, "Expired")
    assert store.events_since(cms.key, store.resource_version) == []


def test_stored_objects_are_never_edited_in_place(store: Store) -> None:
    cms = _rt(store, "", "configmaps")
    first = store.create(cms, "ns", _cm("a", k="1"))
    store.patch(cms, "ns", "a", MERGE_PATCH, {"data": {"k": "2"}})
    assert first["data"] == {"k": "1"}


@pytest.mark.parametrize(
    ("plural", "group", "name", "ok"),
    [
        ("configmaps", "", "a.b-c", True),
        ("configmaps", "", "A", False),
        ("services", "", "1abc", False),
        ("services", "", "abc-1", True),
        ("namespaces", "", "a.b", False),
        ("clusterroles", "rbac.authorization.k8s.io", "system:controller:x", True),
        ("clusterroles", "rbac.authorization.k8s.io", "a/b", False),
    ],
)
def test_name_rules_follow_the_kind(store: Store, plural: str, group: str, name: str, ok: bool) -> None:
    rt = _rt(store, group, plural)
    body: dict[str, Any] = {"metadata": {"name": name}}
    if plural == "services":
        body["spec"] = {"ports": [{"port": 80}]}
    namespace = "ns" if rt.namespaced else None
    if ok:
        assert store.create(rt, namespace, body)["metadata"]["name"] == name
    else:
        with pytest.raises(ApiError) as err:
            store.create(rt, namespace, body)
        assert err.value.code == 422


def test_custom_resource_generation_ignores_status_only_with_a_status_subresource(store: Store) -> None:
    crds = _rt(store, "apiextensions.k8s.io", "customresourcedefinitions")
    for plural, kind, sub in (("withs", "With", {"status": {}}), ("withouts", "Without", {})):
        store.create(
            crds,
            None,
            {
                "metadata": {"name": f"{plural}.example.com"},
                "spec": {
                    "group": "example.com",
                    "scope": "Namespaced",
                    "names": {"plural": plural, "kind": kind},
                    "versions": [{"name": "v1", "served": True, "storage": True, "subresources": sub}],
                },
            },
        )
    with_sub, without_sub = _rt(store, "example.com", "withs"), _rt(store, "example.com", "withouts")
    store.create(with_sub, "ns", {"metadata": {"name": "x"}, "spec": {"a": 1}})
    store.create(without_sub, "ns", {"metadata": {"name": "x"}, "spec": {"a": 1}})
    out = store.patch(with_sub, "ns", "x", MERGE_PATCH, {"status": {"ok": True}}, subresource="status")
    assert out["metadata"]["generation"] == 1
    out = store.patch(without_sub, "ns", "x", MERGE_PATCH, {"status": {"ok": True}})
    assert out["metadata"]["generation"] == 2


def test_namespace_with_a_held_object_stays_terminating_until_it_is_released(store: Store) -> None:
    cms, namespaces = _rt(store, "", "configmaps"), _rt(store, "", "namespaces")
    store.create(cms, "ns", {"metadata": {"name": "held", "finalizers": ["x/y"]}})
    store.create(cms, "ns", _cm("free"))
    _, gone = store.delete(namespaces, None, "ns")
    assert not gone
    assert store.get(namespaces, None, "ns")["status"]["phase"] == "Terminating"
    assert store.find(cms, "ns", "free") is None
    with pytest.raises(ApiError) as err:
        store.create(cms, "ns", _cm("late"))
    assert err.value.code == 403
    store.patch(cms, "ns", "held", MERGE_PATCH, {"metadata": {"finalizers": None}})
    assert store.find(namespaces, None, "ns") is None


def test_put_seeds_missing_namespaces_and_replaces_existing_objects(store: Store) -> None:
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "a", "namespace": "fresh"},
        "data": {},
    }
    store.put(cm)
    replaced = store.put({**cm, "data": {"k": "v"}})
    assert replaced["data"] == {"k": "v"}
    assert store.find(_rt(store, "", "namespaces"), None, "fresh") is not None


def test_namespace_defaults_add_the_default_service_account_and_root_ca() -> None:
    store = Store(namespace_defaults=True)
    store.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})
    assert store.find(_rt(store, "", "serviceaccounts"), "team", "default") is not None
    assert store.find(_rt(store, "", "configmaps"), "team", "kube-root-ca.crt") is not None
    assert store.find(_rt(store, "", "configmaps"), "ns", "kube-root-ca.crt") is None


WIDGETS: dict[str, Any] = widget_crd(short_names=())


def test_a_created_crd_is_served_only_once_established() -> None:
    store = Store(crd_established_delay_s=60)  # established by hand below, not by the timer
    crds = _rt(store, "apiextensions.k8s.io", "customresourcedefinitions")
    created = store.create(crds, None, WIDGETS)
    assert created["status"]["conditions"] == [] and created["spec"]["names"]["singular"] == "widget"
    assert store.registry.lookup("example.com", "v1", "widgets") is None
    done = store.establish_crd("widgets.example.com", created["metadata"]["uid"])
    assert done is not None
    assert {c["type"]: c["status"] for c in done["status"]["conditions"]} == {
        "NamesAccepted": "True",
        "Established": "True",
    }
    assert done["status"]["acceptedNames"]["listKind"] == "WidgetList"
    assert int(done["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    assert store.registry.lookup("example.com", "v1", "widgets") is not None


def test_establishing_a_crd_recreated_meanwhile_waits_for_its_own_turn() -> None:
    store = Store(crd_established_delay_s=60)
    crds = _rt(store, "apiextensions.k8s.io", "customresourcedefinitions")
    first = store.create(crds, None, WIDGETS)
    store.delete(crds, None, "widgets.example.com")
    store.create(crds, None, WIDGETS)
    assert store.establish_crd("widgets.example.com", first["metadata"]["uid"]) is None
    assert store.registry.lookup("example.com", "v1", "widgets") is None


def test_seeding_a_crd_from_python_serves_it_at_once() -> None:
    store = Store(crd_established_delay_s=60)
    store.put(WIDGETS)
    assert store.registry.lookup("example.com", "v1", "widgets") is not None
