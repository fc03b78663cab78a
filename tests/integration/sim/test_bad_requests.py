"""Bad requests get the codes and Status reasons kube-apiserver gives, never a 500 or a hang."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client, dynamic
from kubernetes.client.rest import ApiException

from drsyncer.sim import SimCluster
from tests.integration.sim.conftest import auth_headers


def _call(
    api: client.ApiClient,
    method: str,
    path: str,
    body: str | None = None,
    content_type: str = "application/json",
) -> tuple[int, dict[str, Any]]:
    """Send raw bytes through the client's own connection pool (its models would fix a broken body)."""
    headers = {"Content-Type": content_type, **auth_headers(api)}
    response = api.rest_client.pool_manager.request(
        method,
        f"{api.configuration.host}{path}",
        body=body.encode() if body is not None else None,
        headers=headers,
        timeout=5,
    )
    if response.headers.get("Content-Type", "").startswith("text/plain"):
        return response.status, {"text": response.data.decode()}
    return response.status, json.loads(response.data)


@pytest.mark.parametrize(
    ("method", "path", "code", "reason"),
    [
        ("GET", "/api/v1/namespaces/default/widgets", 404, "NotFound"),
        ("GET", "/api/v2", 404, "NotFound"),
        ("GET", "/api/v1/configmaps/x", 404, "NotFound"),
        ("GET", "/api/v1/namespaces/default/configmaps/x/status", 404, "NotFound"),
        ("POST", "/api/v1/namespaces/default/configmaps/x", 405, "MethodNotAllowed"),
        ("PUT", "/api/v1/namespaces/default/configmaps", 405, "MethodNotAllowed"),
        ("POST", "/version", 405, "MethodNotAllowed"),
    ],
)
def test_unknown_paths_and_methods(
    api: client.ApiClient, method: str, path: str, code: int, reason: str
) -> None:
    status, body = _call(api, method, path, body="{}" if method in ("POST", "PUT") else None)
    assert (status, body["kind"], body["reason"], body["code"]) == (code, "Status", reason, code)


@pytest.mark.parametrize("path", ["/apis/example.com/v1/widgets", "/apis/example.com", "/nothing"])
def test_paths_outside_every_api_are_a_plain_page_not_found(api: client.ApiClient, path: str) -> None:
    # kube-aggregator owns /apis/<group>; for a group nobody serves the mux answers, not an API
    assert _call(api, "GET", path) == (404, {"text": "404 page not found\n"})


def test_malformed_json_is_bad_request(api: client.ApiClient) -> None:
    status, body = _call(api, "POST", "/api/v1/namespaces/default/configmaps", body='{"metadata": ')
    assert (status, body["reason"]) == (400, "BadRequest")


def test_wrong_content_type_is_unsupported_media_type(api: client.ApiClient) -> None:
    status, body = _call(
        api, "POST", "/api/v1/namespaces/default/configmaps", body="name: x", content_type="text/plain"
    )
    assert (status, body["reason"]) == (415, "UnsupportedMediaType")
    status, body = _call(
        api, "PATCH", "/api/v1/namespaces/default/configmaps/x", body="{}", content_type="application/json"
    )
    assert (status, body["reason"]) == (415, "UnsupportedMediaType")


def test_yaml_body_is_accepted_on_create(api: client.ApiClient) -> None:
    status, body = _call(
        api,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        body="metadata:\n  name: from-yaml\ndata:\n  a: b\n",
        content_type="application/yaml",
    )
    assert status == 201 and body["data"] == {"a": "b"}


def test_namespace_in_body_must_match_url(core: client.CoreV1Api, ns: str) -> None:
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map(ns, {"metadata": {"name": "a", "namespace": "default"}})
    assert err.value.status == 400


def test_name_in_body_must_match_url(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    with pytest.raises(ApiException) as err:
        core.replace_namespaced_config_map("a", ns, {"metadata": {"name": "b"}})
    assert err.value.status == 400


def test_wrong_kind_in_body_is_bad_request(api: client.ApiClient) -> None:
    status, body = _call(
        api,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        body=json.dumps({"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "x"}}),
    )
    assert (status, body["reason"]) == (400, "BadRequest")


def test_malformed_patch_and_bad_dry_run_value(api: client.ApiClient, core: client.CoreV1Api) -> None:
    core.create_namespaced_config_map("default", {"metadata": {"name": "p"}})
    status, body = _call(
        api,
        "PATCH",
        "/api/v1/namespaces/default/configmaps/p",
        body="{nope",
        content_type="application/merge-patch+json",
    )
    assert (status, body["reason"]) == (400, "BadRequest")
    status, body = _call(
        api,
        "POST",
        "/api/v1/namespaces/default/configmaps?dryRun=Some",
        body=json.dumps({"metadata": {"name": "q"}}),
    )
    assert (status, body["reason"]) == (422, "Invalid")


def test_strategic_merge_patch_on_a_custom_resource_is_unsupported(
    api: client.ApiClient, dyn: dynamic.DynamicClient
) -> None:
    from tests.integration.sim.test_crds import WIDGET_CRD, await_established

    dyn.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition").create(
        body=WIDGET_CRD
    )
    await_established(api, WIDGET_CRD["metadata"]["name"])
    dyn.resources.invalidate_cache()
    widgets = dyn.resources.get(api_version="example.com/v1", kind="Widget")
    widgets.create(
        namespace="default",
        body={"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}},
    )
    status, body = _call(
        api,
        "PATCH",
        "/apis/example.com/v1/namespaces/default/widgets/w",
        body="{}",
        content_type="application/strategic-merge-patch+json",
    )
    assert (status, body["reason"]) == (415, "UnsupportedMediaType")


def test_token_is_required_when_configured(sim_cluster_factory: Any) -> None:
    cluster: SimCluster = sim_cluster_factory("locked", token="s3cret")
    anonymous = client.ApiClient(client.Configuration(host=cluster.url))
    with pytest.raises(ApiException) as err:
        client.CoreV1Api(anonymous).list_namespace()
    assert (err.value.status, json.loads(err.value.body)["reason"]) == (401, "Unauthorized")
    with cluster.api_client() as api:
        assert client.CoreV1Api(api).list_namespace().items


MALFORMED_BODIES: list[Any] = [
    [],
    "x",
    1,
    None,
    {"metadata": "x"},
    {"metadata": {"name": 5}},
    {"metadata": {"name": None}},
    {"metadata": {"name": "a", "labels": ["x"]}},
    {"metadata": {"name": "a", "labels": {"a": 1}}},
    {"metadata": {"name": "a", "annotations": {"a": 1}}},
    {"metadata": {"name": "a", "finalizers": "x"}},
    {"metadata": {"name": "a", "generateName": 3}},
    {"metadata": {"name": "a", "namespace": 7}},
    {"metadata": {"name": "a", "ownerReferences": [1]}},
    {"metadata": {"name": "a", "resourceVersion": 5}},
    {"apiVersion": 5, "kind": []},
]
# Bodies malformed for one kind only (elsewhere these are unknown fields, which a server drops).
MALFORMED_FOR: dict[str, list[Any]] = {
    "configmaps": [{"metadata": {"name": "a"}, "data": {"k": 1}}, {"metadata": {"name": "a"}, "data": []}],
    "secrets": [
        {"metadata": {"name": "a"}, "data": []},
        {"metadata": {"name": "a"}, "stringData": {"k": 1}},
        {"metadata": {"name": "a"}, "data": {"k": 1}},
    ],
}


@pytest.mark.parametrize(
    "collection",
    [
        "/api/v1/namespaces/default/configmaps",
        "/api/v1/namespaces/default/secrets",
        "/api/v1/namespaces",
        "/apis/apps/v1/namespaces/default/deployments",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
    ],
)
def test_malformed_bodies_are_client_errors_never_server_errors(
    api: client.ApiClient, collection: str
) -> None:
    for body in MALFORMED_BODIES + MALFORMED_FOR.get(collection.rsplit("/", 1)[-1], []):
        status, answer = _call(api, "POST", collection, body=json.dumps(body))
        assert 400 <= status < 500, (body, status, answer)
        _call(api, "DELETE", f"{collection}/a")


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/merge-patch+json",
        "application/strategic-merge-patch+json",
        "application/json-patch+json",
        "application/apply-patch+yaml",
    ],
)
def test_malformed_updates_and_patches_are_client_errors(
    api: client.ApiClient, core: client.CoreV1Api, ns: str, content_type: str
) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "x"}})
    method = "PUT" if content_type == "application/json" else "PATCH"
    for body in MALFORMED_BODIES:
        status, answer = _call(
            api,
            method,
            f"/api/v1/namespaces/{ns}/configmaps/x?fieldManager=m",
            body=json.dumps(body),
            content_type=content_type,
        )
        assert status < 500, (body, status, answer)


@pytest.mark.parametrize(
    "query",
    [
        "limit=x",
        "continue=abc",
        "resourceVersion=abc",
        "watch=1&timeoutSeconds=x",
        "labelSelector=%21%21",
        "fieldSelector=x",
    ],
)
def test_malformed_query_parameters_are_bad_requests(api: client.ApiClient, query: str) -> None:
    status, answer = _call(api, "GET", f"/api/v1/namespaces/default/configmaps?{query}")
    assert (status, answer["reason"]) == (400, "BadRequest")


def test_watch_from_a_malformed_resource_version_is_an_internal_error(api: client.ApiClient) -> None:
    # kube-apiserver 1.34 answers this one with a 500 and a Status without a reason
    status, answer = _call(api, "GET", "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=x")
    assert (status, answer["code"], answer.get("reason")) == (500, 500, None)
    assert answer["message"].startswith('resourceVersion: Invalid value: "x"')
