"""CustomResourceDefinitions start and stop serving their resources."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client, dynamic
from kubernetes.client.rest import ApiException

from tests.fixtures.crds import gadget_crd, widget_crd
from tests.fixtures.polling import eventually
from tests.integration.sim.conftest import auth_headers

WIDGET_CRD: dict[str, Any] = widget_crd(
    subresources={
        "status": {},
        "scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"},
    },
    additionalPrinterColumns=[{"name": "Color", "type": "string", "jsonPath": ".spec.color"}],
)
GADGET_CRD: dict[str, Any] = gadget_crd(keep_unknown_fields=False)


@pytest.fixture
def crds(api: client.ApiClient) -> client.ApiextensionsV1Api:
    return client.ApiextensionsV1Api(api)


def await_established(api: client.ApiClient, name: str) -> dict[str, Any]:
    """Wait until CRD `name` is Established and its resources answer a list (kube-apiserver serves a
    new group a moment after Established); returns the CRD."""
    ext, custom = client.ApiextensionsV1Api(api), client.CustomObjectsApi(api)

    def served() -> dict[str, Any] | None:
        crd = ext.read_custom_resource_definition(name).to_dict()
        if not any(
            c["type"] == "Established" and c["status"] == "True"
            for c in (crd["status"] or {}).get("conditions") or []
        ):
            return None
        spec = crd["spec"]
        version = next(v["name"] for v in spec["versions"] if v["served"])
        try:
            custom.list_cluster_custom_object(spec["group"], version, spec["names"]["plural"], limit=1)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return crd

    return eventually(served, timeout_s=30, what=f"CRD {name} to be Established and served")


def create_crd(api: client.ApiClient, crd: dict[str, Any]) -> dict[str, Any]:
    client.ApiextensionsV1Api(api).create_custom_resource_definition(crd)
    return await_established(api, crd["metadata"]["name"])


def _widget(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name}, "spec": spec}


def test_created_crd_is_established_and_discoverable_a_moment_later(
    crds: client.ApiextensionsV1Api, api: client.ApiClient, dyn: dynamic.DynamicClient
) -> None:
    created = crds.create_custom_resource_definition(WIDGET_CRD)
    # the create is answered before the names are accepted: a client must wait for Established
    assert not created.status.conditions
    assert (created.spec.names.singular, created.spec.names.list_kind) == ("widget", "WidgetList")
    crd = await_established(api, "widgets.example.com")
    conditions = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
    assert conditions["Established"] == "True" and conditions["NamesAccepted"] == "True"
    assert crd["status"]["accepted_names"]["list_kind"] == "WidgetList"
    dyn.resources.invalidate_cache()
    widgets = dyn.resources.get(api_version="example.com/v1", kind="Widget")
    assert widgets.namespaced and widgets.short_names == ["wd"]


def test_custom_objects_crud_with_status_and_scale(
    crds: client.ApiextensionsV1Api, api: client.ApiClient, ns: str
) -> None:
    create_crd(api, WIDGET_CRD)
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
    create_crd(api, GADGET_CRD)
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
    create_crd(api, WIDGET_CRD)
    custom = client.CustomObjectsApi(api)
    custom.create_namespaced_custom_object("example.com", "v1", ns, "widgets", _widget("w1"))
    deleting = crds.delete_custom_resource_definition("widgets.example.com")
    # the answer is the CRD being deleted: its objects go first, then the CRD and its serving
    assert deleting["kind"] == "CustomResourceDefinition" and deleting["metadata"]["deletionTimestamp"]

    def stopped() -> bool:
        try:
            custom.list_namespaced_custom_object("example.com", "v1", ns, "widgets")
        except ApiException as exc:
            return exc.status == 404
        return False

    eventually(stopped, what="widgets to stop being served")
    eventually(lambda: _gone(crds, "widgets.example.com"), what="the CRD to be gone")
    create_crd(api, WIDGET_CRD)
    assert custom.list_namespaced_custom_object("example.com", "v1", ns, "widgets")["items"] == []


def _gone(crds: client.ApiextensionsV1Api, name: str) -> bool:
    try:
        crds.read_custom_resource_definition(name)
    except ApiException as exc:
        return exc.status == 404
    return False


def test_crd_name_must_be_plural_dot_group(crds: client.ApiextensionsV1Api) -> None:
    bad = {**WIDGET_CRD, "metadata": {"name": "widget.example.com"}}
    with pytest.raises(ApiException) as err:
        crds.create_custom_resource_definition(bad)
    assert err.value.status == 422


def test_table_output_uses_the_printer_columns(
    crds: client.ApiextensionsV1Api, api: client.ApiClient, ns: str
) -> None:
    create_crd(api, WIDGET_CRD)
    client.CustomObjectsApi(api).create_namespaced_custom_object(
        "example.com", "v1", ns, "widgets", _widget("w1", color="red")
    )
    response = api.call_api(
        "GET",
        f"{api.configuration.host}/apis/example.com/v1/namespaces/{ns}/widgets",
        header_params={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io", **auth_headers(api)},
    )
    response.read()
    import json

    table = json.loads(response.data)
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Color"]
    assert table["rows"][0]["cells"] == ["w1", "red"]
    assert table["rows"][0]["object"]["metadata"]["name"] == "w1"
