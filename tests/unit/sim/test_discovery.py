"""Discovery and OpenAPI documents, as kubectl and the DynamicClient read them."""

from __future__ import annotations

from drsyncer.sim import discovery, openapi
from drsyncer.sim.resources import Registry

CRD = {
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Cluster",
        "names": {"plural": "widgets", "kind": "Widget", "shortNames": ["wd"]},
        "versions": [
            {"name": "v1beta1", "served": True, "storage": False},
            {"name": "v1", "served": True, "storage": True, "subresources": {"status": {}}},
            {"name": "v0", "served": False, "storage": False},
        ],
    },
}


def test_every_resource_lists_short_names_and_its_subresources() -> None:
    apps = discovery.resource_list(Registry(), "apps", "v1")
    assert apps is not None
    by_name = {r["name"]: r for r in apps["resources"]}
    assert by_name["deployments"]["shortNames"] == ["deploy"]
    assert by_name["deployments/scale"]["group"] == "autoscaling"
    assert "deployments/status" in by_name
    core = discovery.resource_list(Registry(), "", "v1")
    assert core is not None and all("shortNames" in r for r in core["resources"] if "/" not in r["name"])


def test_a_crd_adds_its_group_with_ga_versions_preferred() -> None:
    registry = Registry()
    registry.serve_crd(CRD)
    group = discovery.group(registry, "example.com")
    assert group is not None
    assert [v["version"] for v in group["versions"]] == ["v1", "v1beta1"]
    assert group["preferredVersion"]["version"] == "v1"
    widgets = discovery.resource_list(registry, "example.com", "v1")
    assert widgets is not None and [r["name"] for r in widgets["resources"]] == ["widgets", "widgets/status"]
    assert widgets["resources"][0]["namespaced"] is False
    assert discovery.resource_list(registry, "example.com", "v0") is None
    registry.forget_crd("widgets.example.com")
    assert discovery.group(registry, "example.com") is None


def test_openapi_declares_field_validation_on_every_patch() -> None:
    registry = Registry()
    registry.serve_crd(CRD)
    index = openapi.index(registry)
    assert "apis/example.com/v1" in index["paths"] and "api/v1" in index["paths"]
    for gv in ("api/v1", "apis/apps/v1", "apis/example.com/v1"):
        group, version = ("", "v1") if gv == "api/v1" else tuple(gv.split("/")[1:])
        doc = openapi.group_version(registry, group, version)
        assert doc is not None
        patches = [p["patch"] for p in doc["paths"].values() if "patch" in p]
        assert patches
        for op in patches:
            assert any(p["name"] == "fieldValidation" and p["in"] == "query" for p in op["parameters"])
            assert set(op["x-kubernetes-group-version-kind"]) == {"group", "version", "kind"}
            assert "application/strategic-merge-patch+json" not in op["requestBody"]["content"]


def test_aggregated_discovery_is_answered_to_an_accept_asking_for_v2_only() -> None:
    kubectl = (
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
        "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
    )
    assert discovery.wants_aggregated(kubectl)
    assert not discovery.wants_aggregated(
        "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
    )
    assert not discovery.wants_aggregated("application/json")


def test_aggregated_discovery_lists_each_group_preferred_version_first_with_scope_and_subresources() -> None:
    registry = Registry()
    registry.serve_crd(CRD)
    groups = {g["metadata"]["name"]: g for g in discovery.aggregated(registry, core=False)["items"]}
    assert [v["version"] for v in groups["example.com"]["versions"]] == ["v1", "v1beta1"]
    widgets = groups["example.com"]["versions"][0]["resources"][0]
    assert (widgets["resource"], widgets["scope"], widgets["shortNames"]) == ("widgets", "Cluster", ["wd"])
    assert [s["subresource"] for s in widgets.get("subresources", [])] == ["status"]
    apps = {r["resource"]: r for r in groups["apps"]["versions"][0]["resources"]}
    scale = next(s for s in apps["deployments"]["subresources"] if s["subresource"] == "scale")
    assert scale["responseKind"] == {"group": "autoscaling", "version": "v1", "kind": "Scale"}
    core = discovery.aggregated(registry, core=True)
    assert core["items"][0]["metadata"]["name"] == "" and core["apiVersion"] == "apidiscovery.k8s.io/v2"
