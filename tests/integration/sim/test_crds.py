"""CustomResourceDefinitions start and stop serving their resources."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client, dynamic
from kubernetes.client.rest import ApiException

WIDGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                },
                "subresources": {
                    "status": {},
                    "scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"},
                },
                "additionalPrinterColumns": [{"name": "Color", "type": "string", "jsonPath": ".spec.color"}],
            }
        ],
    },
}
GADGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "gadgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Cluster",
        "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
        "versions": [
            {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {"type": "object"}}}
        ],
    },
}


@pytest.fixture
def crds(api: client.ApiClient) -> client.ApiextensionsV1Api:
    return client.ApiextensionsV1Api(api)


def _widget(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name}, "spec": spec}


def test_created_crd_is_established_and_discoverable(
    crds: client.ApiextensionsV1Api, dyn: dynamic.DynamicClient
) -> None:
    crd = crds.create_custom_resource_definition(WIDGET_CRD)
    conditions = {c.type: c.status for c in crd.status.conditions}
    assert conditions["Established"] == "True" and conditions["NamesAccepted"] == "True"
    dyn.resources.invalidate_cache()
    widgets = dyn.resources.get(api_version="example.com/v1", kind="Widget")
    assert widgets.namespaced and widgets.short_names == ["wd"]


def test_custom_objects_crud_with_status_and_scale(
    crds: client.ApiextensionsV1Api, api: client.ApiClient, ns: str
) -> None:
    crds.create_custom_resource_definition(WIDGET_CRD)
    custom = client.CustomObjectsApi(api)
    body = _widget("w1", color="blue", replicas=1)
    body["status"] = {"ready": True}
    created = custom.create_namespaced_custom_object("example.com", "v1", ns, "widgets", body)
    assert "status" not in created and created["metadata"]["generation"] == 1
    status = custom.patch_namespaced_custom_object_status(
        "example.com", "v1", ns, "widgets", "w1", {"status": {"ready": True}}
    )
    assert status["status"] == {"ready": True} and status["metadata"]["generation"] == 1
    scaled = custom.patch_namespaced_custom_object_scale(
        "example.com", "v1", ns, "widgets", "w1", {"spec": {"replicas": 4}}
    )
    assert scaled["kind"] == "Scale" and scaled["spec"]["replicas"] == 4
    got = custom.get_namespaced_custom_object("example.com", "v1", ns, "widgets", "w1")
    assert got["spec"]["replicas"] == 4 and got["metadata"]["generation"] == 2
    listed = custom.list_namespaced_custom_object("example.com", "v1", ns, "widgets")
    assert listed["kind"] == "WidgetList" and [i["kind"] for i in listed["items"]] == ["Widget"]


def test_cluster_scoped_crd_serves_cluster_scoped_objects(
    crds: client.ApiextensionsV1Api, api: client.ApiClient
) -> None:
    crds.create_custom_resource_definition(GADGET_CRD)
    custom = client.CustomObjectsApi(api)
    custom.create_cluster_custom_object(
        "example.com",
        "v1",
        "gadgets",
        {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}},
    )
    assert (
        custom.get_cluster_custom_object("example.com", "v1", "gadgets", "g")["metadata"].get("namespace")
        is None
    )


def test_deleting_a_crd_stops_serving_and_removes_its_objects(
    crds: client.ApiextensionsV1Api, api: client.ApiClient, ns: str
) -> None:
    crds.create_custom_resource_definition(WIDGET_CRD)
    custom = client.CustomObjectsApi(api)
    custom.create_namespaced_custom_object("example.com", "v1", ns, "widgets", _widget("w1"))
    crds.delete_custom_resource_definition("widgets.example.com")
    with pytest.raises(ApiException) as err:
        custom.list_namespaced_custom_object("example.com", "v1", ns, "widgets")
    assert err.value.status == 404
    crds.create_custom_resource_definition(WIDGET_CRD)
    assert custom.list_namespaced_custom_object("example.com", "v1", ns, "widgets")["items"] == []


def test_crd_name_must_be_plural_dot_group(crds: client.ApiextensionsV1Api) -> None:
    bad = {**WIDGET_CRD, "metadata": {"name": "widget.example.com"}}
    with pytest.raises(ApiException) as err:
        crds.create_custom_resource_definition(bad)
    assert err.value.status == 422


def test_table_output_uses_the_printer_columns(
    crds: client.ApiextensionsV1Api, api: client.ApiClient, ns: str
) -> None:
    crds.create_custom_resource_definition(WIDGET_CRD)
    client.CustomObjectsApi(api).create_namespaced_custom_object(
        "example.com", "v1", ns, "widgets", _widget("w1", color="red")
    )
    response = api.call_api(
        "GET",
        f"{api.configuration.host}/apis/example.com/v1/namespaces/{ns}/widgets",
        header_params={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"},
    )
    response.read()
    import json

    table = json.loads(response.data)
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Color"]
    assert table["rows"][0]["cells"] == ["w1", "red"]
    assert table["rows"][0]["object"]["metadata"]["name"] == "w1"
