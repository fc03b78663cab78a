"""Merge, JSON and strategic merge patches, and server-side apply, through the stock client."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from kubernetes import client, dynamic
from kubernetes.client.rest import ApiException

from tests.integration.sim.conftest import auth_headers, deployment, status_of


@pytest.fixture
def deployments(dyn: dynamic.DynamicClient) -> Any:
    return dyn.resources.get(api_version="apps/v1", kind="Deployment")


def test_merge_patch_sets_and_removes_keys(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}, "data": {"keep": "1", "drop": "2"}})
    dyn = dynamic.DynamicClient(core.api_client)
    cms = dyn.resources.get(api_version="v1", kind="ConfigMap")
    patched = cms.patch(
        name="a",
        namespace=ns,
        body={"data": {"drop": None, "new": "3"}},
        content_type="application/merge-patch+json",
    )
    assert patched.data.to_dict() == {"keep": "1", "new": "3"}


def test_json_patch_operations_and_failed_test_is_invalid(
    dyn: dynamic.DynamicClient, core: client.CoreV1Api, ns: str
) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}, "data": {"x": "1"}})
    cms = dyn.resources.get(api_version="v1", kind="ConfigMap")
    ops = [
        {"op": "add", "path": "/data/y", "value": "2"},
        {"op": "replace", "path": "/data/x", "value": "9"},
        {"op": "remove", "path": "/data/y"},
    ]
    out = cms.patch(name="a", namespace=ns, body=ops, content_type="application/json-patch+json")
    assert out.data.to_dict() == {"x": "9"}
    with pytest.raises(ApiException) as err:
        cms.patch(
            name="a",
            namespace=ns,
            body=[{"op": "test", "path": "/data/x", "value": "0"}],
            content_type="application/json-patch+json",
        )
    assert (err.value.status, status_of(err.value)["reason"]) == (422, "Invalid")


def test_strategic_merge_patch_merges_containers_env_ports_and_volumes_by_key(
    apps: client.AppsV1Api, ns: str
) -> None:
    body = deployment("web")
    spec = body["spec"]["template"]["spec"]
    spec["containers"].append({"name": "sidecar", "image": "busybox"})
    spec["containers"][0]["ports"] = [{"containerPort": 80, "name": "http"}]
    spec["volumes"] = [{"name": "data", "emptyDir": {}}]
    apps.create_namespaced_deployment(ns, body)
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "main",
                            "image": "nginx:2",
                            "env": [{"name": "B", "value": "2"}],
                            "ports": [{"containerPort": 443, "name": "https"}],
                        }
                    ],
                    "volumes": [{"name": "cache", "emptyDir": {}}],
                }
            }
        }
    }
    out = apps.patch_namespaced_deployment("web", ns, patch)
    containers = {c.name: c for c in out.spec.template.spec.containers}
    assert set(containers) == {"main", "sidecar"}
    assert containers["main"].image == "nginx:2"
    # kube-apiserver's order: the patch's new items before the server's untouched ones
    assert [e.name for e in containers["main"].env] == ["B", "A"]
    assert [p.container_port for p in containers["main"].ports] == [443, 80]
    assert [v.name for v in out.spec.template.spec.volumes] == ["cache", "data"]
    deleted = apps.patch_namespaced_deployment(
        "web", ns, {"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}}}
    )
    assert [c.name for c in deleted.spec.template.spec.containers] == ["main"]


def _apply(res: Any, ns: str, body: dict[str, Any], manager: str, force: bool = False) -> Any:
    return res.server_side_apply(body=body, namespace=ns, field_manager=manager, force_conflicts=force)


def test_server_side_apply_creates_then_reapplying_is_a_no_op(deployments: Any, ns: str) -> None:
    created = _apply(deployments, ns, deployment("web"), "drsyncer")
    assert created.metadata.generation == 1
    again = _apply(deployments, ns, deployment("web"), "drsyncer")
    assert again.metadata.resourceVersion == created.metadata.resourceVersion
    entries = again.metadata.managedFields
    assert [(e.manager, e.operation) for e in entries] == [("drsyncer", "Apply")]
    assert "f:spec" in entries[0].fieldsV1.to_dict()


def test_server_side_apply_conflict_then_force_takes_ownership(deployments: Any, ns: str) -> None:
    _apply(deployments, ns, deployment("web", replicas=2), "owner")
    with pytest.raises(ApiException) as err:
        _apply(deployments, ns, deployment("web", replicas=5), "intruder")
    body = status_of(err.value)
    assert (err.value.status, body["reason"]) == (409, "Conflict")
    assert any(c["field"] == ".spec.replicas" for c in body["details"]["causes"])
    forced = _apply(deployments, ns, deployment("web", replicas=5), "intruder", force=True)
    assert forced.spec.replicas == 5
    owners = {e.manager: e.fieldsV1.to_dict() for e in forced.metadata.managedFields}
    assert "f:replicas" in owners["intruder"]["f:spec"]
    assert "f:replicas" not in owners["owner"]["f:spec"]


def test_server_side_apply_with_the_same_value_shares_ownership_without_conflict(
    deployments: Any, ns: str
) -> None:
    _apply(deployments, ns, deployment("web"), "one")
    shared = _apply(deployments, ns, deployment("web"), "two")
    assert sorted(e.manager for e in shared.metadata.managedFields) == ["one", "two"]


def test_server_side_apply_removes_fields_dropped_from_the_config(deployments: Any, ns: str) -> None:
    with_label = deployment("web")
    with_label["metadata"]["labels"]["extra"] = "yes"
    _apply(deployments, ns, with_label, "drsyncer")
    out = _apply(deployments, ns, deployment("web"), "drsyncer")
    assert "extra" not in out.metadata.labels


def test_apply_without_field_manager_is_invalid(api: client.ApiClient, ns: str) -> None:
    response = api.call_api(
        "PATCH",
        f"{api.configuration.host}/api/v1/namespaces/{ns}/configmaps/a",
        header_params={"Content-Type": "application/apply-patch+yaml", **auth_headers(api)},
        body=yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}),
    )
    response.read()
    assert response.status == 422


def test_update_records_the_field_manager(core: client.CoreV1Api, ns: str) -> None:
    cm = core.create_namespaced_config_map(
        ns, {"metadata": {"name": "a"}, "data": {"k": "v"}}, field_manager="seeder"
    )
    assert [(e.manager, e.operation) for e in cm.metadata.managed_fields] == [("seeder", "Update")]
