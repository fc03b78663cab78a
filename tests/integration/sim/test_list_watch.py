"""Selectors, paging and watch streams through the stock client."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from drsyncer.sim import SimCluster
from tests.integration.sim.conftest import ROOT_CA, names, status_of


@pytest.fixture
def labelled(core: client.CoreV1Api, ns: str) -> str:
    for name, labels in [
        ("a", {"env": "prod", "tier": "web"}),
        ("b", {"env": "dev", "tier": "web"}),
        ("c", {"env": "prod"}),
        ("d", {}),
    ]:
        core.create_namespaced_config_map(ns, {"metadata": {"name": name, "labels": labels}})
    return ns


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("env=prod", ["a", "c"]),
        ("env==prod", ["a", "c"]),
        ("env!=prod", ["b", "d"]),
        ("env in (dev,qa)", ["b"]),
        ("env notin (dev)", ["a", "c", "d"]),
        ("tier", ["a", "b"]),
        ("!tier", ["c", "d"]),
        ("env=prod,tier=web", ["a"]),
    ],
)
def test_label_selectors_pick_the_same_objects_as_kube(
    core: client.CoreV1Api, labelled: str, selector: str, expected: list[str]
) -> None:
    assert names(core.list_namespaced_config_map(labelled, label_selector=selector).items) == expected


def test_malformed_label_selector_is_bad_request(core: client.CoreV1Api, labelled: str) -> None:
    with pytest.raises(ApiException) as err:
        core.list_namespaced_config_map(labelled, label_selector="env in prod")
    assert (err.value.status, status_of(err.value)["reason"]) == (400, "BadRequest")


def test_field_selectors_on_name_and_namespace(core: client.CoreV1Api, labelled: str) -> None:
    other = f"{labelled}-other"
    core.create_namespace({"metadata": {"name": other}})
    core.create_namespaced_config_map(other, {"metadata": {"name": "a"}})
    by_name = core.list_config_map_for_all_namespaces(field_selector="metadata.name=a").items
    assert {labelled, other} <= {i.metadata.namespace for i in by_name}
    assert {i.metadata.name for i in by_name} == {"a"}
    by_ns = core.list_config_map_for_all_namespaces(field_selector=f"metadata.namespace={other}").items
    assert names(by_ns) == ["a"]
    not_a = core.list_namespaced_config_map(labelled, field_selector="metadata.name!=a").items
    assert names(not_a) == ["b", "c", "d"]
    with pytest.raises(ApiException) as err:
        core.list_namespaced_config_map(labelled, field_selector="spec.foo=bar")
    assert err.value.status == 400


def test_limit_and_continue_page_through_everything_once(core: client.CoreV1Api, ns: str) -> None:
    for n in range(7):
        core.create_namespaced_config_map(ns, {"metadata": {"name": f"cm-{n}"}})
    seen: list[str] = []
    token = None
    pages = 0
    # the namespace also holds kube-root-ca.crt, which sorts last: 8 objects, 3 pages
    while True:
        page = core.list_namespaced_config_map(ns, limit=3, _continue=token)
        pages += 1
        seen += [i.metadata.name for i in page.items]
        token = page.metadata._continue
        if not token:
            break
        assert page.metadata.remaining_item_count == 8 - len(seen)
    assert pages == 3 and seen == [*(f"cm-{n}" for n in range(7)), ROOT_CA]


def _raw_get(api: client.ApiClient, path: str, accept: str) -> dict[str, Any]:
    """GET `path` with this Accept header through the stock client's REST layer; the parsed answer."""
    method, url, headers, body, _ = api.param_serialize(
        "GET", path, header_params={"Accept": accept}, auth_settings=["BearerToken"]
    )
    response = api.call_api(method, url, header_params=headers, body=body)
    parsed: dict[str, Any] = json.loads(response.read())
    return parsed


METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"


def test_a_list_as_partial_object_metadata_carries_metadata_only_and_pages(
    api: client.ApiClient, core: client.CoreV1Api, ns: str
) -> None:
    for n in range(3):
        core.create_namespaced_config_map(
            ns, {"metadata": {"name": f"cm-{n}", "labels": {"n": str(n)}}, "data": {"big": "x" * 1000}}
        )
    path = f"/api/v1/namespaces/{ns}/configmaps?limit=2"
    first = _raw_get(api, path, f"{METADATA_LIST},application/json")
    assert (first["kind"], first["apiVersion"]) == ("PartialObjectMetadataList", "meta.k8s.io/v1")
    item = first["items"][0]
    assert set(item) == {"kind", "apiVersion", "metadata"}
    assert (item["kind"], item["apiVersion"]) == ("PartialObjectMetadata", "meta.k8s.io/v1")
    assert item["metadata"]["name"] == "cm-0" and item["metadata"]["labels"] == {"n": "0"}
    assert item["metadata"]["uid"] and item["metadata"]["resourceVersion"]
    token = first["metadata"]["continue"]
    rest = _raw_get(api, f"{path}&continue={token}", METADATA_LIST)
    # kube-root-ca.crt sorts last
    assert [i["metadata"]["name"] for i in rest["items"]] == ["cm-2", ROOT_CA]
    single = _raw_get(
        api,
        f"/api/v1/namespaces/{ns}/configmaps/cm-1",
        "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
    )
    assert single["kind"] == "PartialObjectMetadata" and "data" not in single


def test_continue_token_from_before_compaction_is_gone(
    core: client.CoreV1Api, ns: str, sim_cluster: SimCluster
) -> None:
    for n in range(3):
        core.create_namespaced_config_map(ns, {"metadata": {"name": f"cm-{n}"}})
    token = core.list_namespaced_config_map(ns, limit=1).metadata._continue
    core.create_namespaced_config_map(ns, {"metadata": {"name": "later"}})
    sim_cluster.store.compact()
    with pytest.raises(ApiException) as err:
        core.list_namespaced_config_map(ns, limit=1, _continue=token)
    assert (err.value.status, status_of(err.value)["reason"]) == (410, "Expired")


def _collect(stream: Any, count: int) -> list[tuple[str, str]]:
    events = []
    for event in stream:
        obj = event["object"]
        name = obj["metadata"]["name"] if isinstance(obj, dict) else obj.metadata.name
        events.append((event["type"], name))
        if len(events) == count:
            break
    return events


def test_watch_from_a_resource_version_streams_later_changes_in_order(
    core: client.CoreV1Api, ns: str
) -> None:
    rv = core.list_namespaced_config_map(ns).metadata.resource_version
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    core.patch_namespaced_config_map("a", ns, {"data": {"k": "v"}})
    core.delete_namespaced_config_map("a", ns)
    w = watch.Watch()
    events = _collect(
        w.stream(core.list_namespaced_config_map, ns, resource_version=rv, timeout_seconds=5), 3
    )
    w.stop()
    assert events == [("ADDED", "a"), ("MODIFIED", "a"), ("DELETED", "a")]


def test_watch_without_resource_version_starts_with_current_objects_then_follows(
    core: client.CoreV1Api, ns: str
) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "old", "labels": {"t": "w"}}})
    w = watch.Watch()
    stream = w.stream(core.list_namespaced_config_map, ns, label_selector="t", timeout_seconds=5)
    first = next(stream)
    assert (first["type"], first["object"].metadata.name) == ("ADDED", "old")
    core.create_namespaced_config_map(ns, {"metadata": {"name": "new", "labels": {"t": "w"}}})
    assert _collect(stream, 1) == [("ADDED", "new")]
    w.stop()


def test_watch_with_selector_sees_objects_enter_and_leave(core: client.CoreV1Api, ns: str) -> None:
    rv = core.list_namespaced_config_map(ns).metadata.resource_version
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    core.patch_namespaced_config_map("a", ns, {"metadata": {"labels": {"sync": "yes"}}})
    core.patch_namespaced_config_map("a", ns, {"metadata": {"labels": {"sync": "no"}}})
    w = watch.Watch()
    events = _collect(
        w.stream(
            core.list_namespaced_config_map,
            ns,
            label_selector="sync=yes",
            resource_version=rv,
            timeout_seconds=5,
        ),
        2,
    )
    w.stop()
    assert events == [("ADDED", "a"), ("DELETED", "a")]


def test_watch_ends_after_timeout_seconds(core: client.CoreV1Api, ns: str) -> None:
    started = time.monotonic()
    events = list(
        watch.Watch().stream(
            core.list_namespaced_config_map,
            ns,
            timeout_seconds=1,
            resource_version=core.list_namespaced_config_map(ns).metadata.resource_version,
        )
    )
    assert events == []
    assert 0.9 < time.monotonic() - started < 5


def test_watch_from_a_compacted_resource_version_is_gone(
    core: client.CoreV1Api, ns: str, sim_cluster: SimCluster
) -> None:
    rv = core.list_namespaced_config_map(ns).metadata.resource_version
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    sim_cluster.store.compact()
    raw = core.list_namespaced_config_map(ns, watch=True, resource_version=rv, _preload_content=False)
    lines = [json.loads(line) for line in raw.data.decode().splitlines()]
    assert lines[0]["type"] == "ERROR"
    assert (lines[0]["object"]["code"], lines[0]["object"]["reason"]) == (410, "Expired")
    with pytest.raises(ApiException) as err:
        list(
            watch.Watch().stream(core.list_namespaced_config_map, ns, resource_version=rv, timeout_seconds=2)
        )
    assert err.value.status == 410


def test_watch_sends_bookmarks_when_asked(sim_cluster_factory: Any) -> None:
    cluster = sim_cluster_factory("bm", bookmark_interval_s=0.2)
    with cluster.api_client() as api:
        core = client.CoreV1Api(api)
        rv = core.list_namespaced_config_map("default").metadata.resource_version
        raw = core.list_namespaced_config_map(
            "default",
            watch=True,
            resource_version=rv,
            allow_watch_bookmarks=True,
            timeout_seconds=1,
            _preload_content=False,
        )
        events = [json.loads(line) for line in raw.data.decode().splitlines()]
    assert len(events) >= 2 and {e["type"] for e in events} == {"BOOKMARK"}
    assert events[-1]["object"]["metadata"]["resourceVersion"] == rv


def test_watch_list_sends_initial_events_then_the_end_bookmark(
    core: client.CoreV1Api, api: client.ApiClient, ns: str
) -> None:
    for name in ("a", "b"):
        core.create_namespaced_config_map(ns, {"metadata": {"name": name, "labels": {"t": "w"}}})
    raw = core.list_namespaced_config_map(
        ns,
        label_selector="t",
        watch=True,
        send_initial_events=True,
        allow_watch_bookmarks=True,
        resource_version_match="NotOlderThan",
        timeout_seconds=1,
        _preload_content=False,
    )
    events = [json.loads(line) for line in raw.data.decode().splitlines()]
    assert [(e["type"], e["object"]["metadata"].get("name")) for e in events[:2]] == [
        ("ADDED", "a"),
        ("ADDED", "b"),
    ]
    end = events[2]
    assert end["type"] == "BOOKMARK"
    assert end["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


def test_watch_sees_writes_made_from_python(core: client.CoreV1Api, ns: str, sim_cluster: SimCluster) -> None:
    rv = core.list_namespaced_config_map(ns).metadata.resource_version
    w = watch.Watch()
    stream = w.stream(core.list_namespaced_config_map, ns, resource_version=rv, timeout_seconds=5)
    timer = threading.Timer(
        0.2,
        lambda: sim_cluster.store.put(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "seeded", "namespace": ns}}
        ),
    )
    timer.start()
    assert _collect(stream, 1) == [("ADDED", "seeded")]
    w.stop()
    timer.join()


def test_deletecollection_removes_only_selected_objects(core: client.CoreV1Api, labelled: str) -> None:
    core.delete_collection_namespaced_config_map(labelled, label_selector="env=prod")
    assert names(core.list_namespaced_config_map(labelled).items) == ["b", "d"]
