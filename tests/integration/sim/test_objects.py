"""Object semantics through the stock client: identity, resourceVersion, generation, errors."""

from __future__ import annotations

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from drsyncer.sim import SimCluster
from tests.fixtures.polling import eventually
from tests.integration.sim.conftest import deployment, status_of


def test_create_sets_uid_timestamp_generation_and_increasing_resource_version(
    core: client.CoreV1Api, ns: str
) -> None:
    a = core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}, "data": {"k": "v"}})
    b = core.create_namespaced_config_map(ns, {"metadata": {"name": "b"}})
    assert a.metadata.uid and a.metadata.uid != b.metadata.uid
    assert a.metadata.creation_timestamp is not None
    assert a.metadata.generation == 1
    assert int(b.metadata.resource_version) > int(a.metadata.resource_version)
    got = core.read_namespaced_config_map("a", ns)
    assert got.data == {"k": "v"} and got.metadata.resource_version == a.metadata.resource_version


def test_create_twice_is_already_exists(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    body = status_of(err.value)
    assert (err.value.status, body["reason"]) == (409, "AlreadyExists")
    assert body["details"] == {"name": "a", "kind": "configmaps"}
    assert body["message"] == 'configmaps "a" already exists'


def test_get_missing_object_is_not_found_with_group_in_details(apps: client.AppsV1Api, ns: str) -> None:
    with pytest.raises(ApiException) as err:
        apps.read_namespaced_deployment("nope", ns)
    body = status_of(err.value)
    assert (err.value.status, body["reason"]) == (404, "NotFound")
    assert body["details"] == {"name": "nope", "group": "apps", "kind": "deployments"}
    assert body["message"] == 'deployments.apps "nope" not found'


def test_create_in_missing_namespace_is_namespace_not_found(core: client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map("missing", {"metadata": {"name": "a"}})
    body = status_of(err.value)
    assert (err.value.status, body["reason"]) == (404, "NotFound")
    assert body["message"] == 'namespaces "missing" not found'


@pytest.mark.parametrize("name", ["Bad_Name", "-leading", "a" * 254, "with space"])
def test_invalid_names_are_rejected_as_invalid(core: client.CoreV1Api, ns: str, name: str) -> None:
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map(ns, {"metadata": {"name": name}})
    body = status_of(err.value)
    assert (err.value.status, body["reason"]) == (422, "Invalid")
    assert body["details"]["kind"] == "ConfigMap"
    assert body["details"]["causes"][0]["field"] == "metadata.name"


def test_missing_name_and_generate_name_is_invalid(core: client.CoreV1Api, ns: str) -> None:
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map(ns, {"metadata": {}})
    assert status_of(err.value)["reason"] == "Invalid"


def test_generate_name_appends_a_random_suffix(core: client.CoreV1Api, ns: str) -> None:
    a = core.create_namespaced_config_map(ns, {"metadata": {"generateName": "job-"}})
    b = core.create_namespaced_config_map(ns, {"metadata": {"generateName": "job-"}})
    assert a.metadata.name.startswith("job-") and len(a.metadata.name) == len("job-") + 5
    assert a.metadata.name != b.metadata.name


def test_update_with_stale_resource_version_is_conflict(core: client.CoreV1Api, ns: str) -> None:
    cm = core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}, "data": {"k": "1"}})
    stale_rv = cm.metadata.resource_version
    cm.data = {"k": "2"}
    core.replace_namespaced_config_map("a", ns, cm)
    cm.data = {"k": "3"}
    cm.metadata.resource_version = stale_rv
    with pytest.raises(ApiException) as err:
        core.replace_namespaced_config_map("a", ns, cm)
    body = status_of(err.value)
    assert (err.value.status, body["reason"]) == (409, "Conflict")
    assert "the object has been modified" in body["message"]


def test_update_without_resource_version_is_unconditional(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}, "data": {"k": "1"}})
    out = core.replace_namespaced_config_map("a", ns, {"metadata": {"name": "a"}, "data": {"k": "2"}})
    assert out.data == {"k": "2"}


def test_update_of_missing_object_is_not_found(core: client.CoreV1Api, ns: str) -> None:
    with pytest.raises(ApiException) as err:
        core.replace_namespaced_config_map("a", ns, {"metadata": {"name": "a"}})
    assert err.value.status == 404


def test_update_that_changes_nothing_keeps_resource_version(core: client.CoreV1Api, ns: str) -> None:
    cm = core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}, "data": {"k": "1"}})
    again = core.replace_namespaced_config_map("a", ns, cm)
    assert again.metadata.resource_version == cm.metadata.resource_version


def test_generation_moves_on_spec_change_only(apps: client.AppsV1Api, ns: str) -> None:
    created = apps.create_namespaced_deployment(ns, deployment("web"))
    assert created.metadata.generation == 1
    labelled = apps.patch_namespaced_deployment("web", ns, {"metadata": {"labels": {"tier": "front"}}})
    assert labelled.metadata.generation == 1
    assert int(labelled.metadata.resource_version) > int(created.metadata.resource_version)
    scaled = apps.patch_namespaced_deployment("web", ns, {"spec": {"replicas": 3}})
    assert scaled.metadata.generation == 2


def test_generation_of_a_kind_without_spec_moves_on_data_change(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}, "data": {"k": "1"}})
    assert (
        core.patch_namespaced_config_map("a", ns, {"metadata": {"labels": {"x": "y"}}}).metadata.generation
        == 1
    )
    assert core.patch_namespaced_config_map("a", ns, {"data": {"k": "2"}}).metadata.generation == 2


def test_status_is_ignored_on_main_resource_and_only_status_changes_on_status(
    apps: client.AppsV1Api, ns: str
) -> None:
    body = deployment("web")
    body["status"] = {"replicas": 9}
    created = apps.create_namespaced_deployment(ns, body)
    assert created.status is None or not created.status.replicas
    apps.patch_namespaced_deployment("web", ns, {"status": {"replicas": 5}})
    assert not (apps.read_namespaced_deployment("web", ns).status or client.V1DeploymentStatus()).replicas
    out = apps.patch_namespaced_deployment_status(
        "web", ns, {"status": {"replicas": 5}, "spec": {"replicas": 7}}
    )
    assert out.status.replicas == 5 and out.spec.replicas == 2
    assert out.metadata.generation == 1


def test_finalizers_delay_deletion_until_removed(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a", "finalizers": ["example.com/hold"]}})
    core.delete_namespaced_config_map("a", ns)
    held = core.read_namespaced_config_map("a", ns)
    assert held.metadata.deletion_timestamp is not None
    with pytest.raises(ApiException) as err:
        core.patch_namespaced_config_map("a", ns, {"metadata": {"finalizers": ["example.com/hold", "more"]}})
    assert err.value.status == 422
    core.patch_namespaced_config_map("a", ns, {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as gone:
        core.read_namespaced_config_map("a", ns)
    assert gone.value.status == 404


def test_delete_returns_success_status_and_accepts_propagation_policy(
    core: client.CoreV1Api, ns: str
) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    result = core.delete_namespaced_config_map("a", ns, propagation_policy="Foreground")
    assert result["status"] == "Success" and result["details"]["name"] == "a"
    with pytest.raises(ApiException) as err:
        core.delete_namespaced_config_map("a", ns)
    assert err.value.status == 404


def test_namespace_deletion_removes_its_objects(
    core: client.CoreV1Api, apps: client.AppsV1Api, ns: str
) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    apps.create_namespaced_deployment(ns, deployment("web"))
    core.delete_namespace(ns)

    def gone() -> bool:
        try:
            core.read_namespace(ns)
        except ApiException as exc:
            return exc.status == 404
        return False

    # kube-apiserver marks the namespace Terminating; its controller empties and removes it
    eventually(gone, timeout_s=60, what=f"namespace {ns} to be deleted")
    assert core.list_namespaced_config_map(ns).items == []
    assert apps.list_namespaced_deployment(ns).items == []


def test_service_gets_a_cluster_ip_that_cannot_change(core: client.CoreV1Api, ns: str) -> None:
    svc = core.create_namespaced_service(ns, {"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}})
    ip = svc.spec.cluster_ip
    assert ip and ip.startswith("10.") and svc.spec.cluster_ips == [ip]
    assert svc.spec.ports[0].target_port == 80 and svc.spec.ports[0].protocol == "TCP"
    kept = core.replace_namespaced_service(
        "web", ns, {"metadata": {"name": "web"}, "spec": {"ports": [{"port": 81}]}}
    )
    assert kept.spec.cluster_ip == ip
    with pytest.raises(ApiException) as err:
        core.patch_namespaced_service("web", ns, {"spec": {"clusterIP": "10.96.99.99", "clusterIPs": None}})
    assert status_of(err.value)["reason"] == "Invalid"


def test_headless_service_keeps_none(core: client.CoreV1Api, ns: str) -> None:
    svc = core.create_namespaced_service(
        ns, {"metadata": {"name": "db"}, "spec": {"clusterIP": "None", "ports": [{"port": 5432}]}}
    )
    assert svc.spec.cluster_ip == "None"


def test_secret_data_must_be_base64_and_string_data_is_encoded(core: client.CoreV1Api, ns: str) -> None:
    with pytest.raises(ApiException) as err:
        core.create_namespaced_secret(ns, {"metadata": {"name": "s"}, "data": {"k": "not base64!"}})
    assert (err.value.status, status_of(err.value)["reason"]) == (400, "BadRequest")
    secret = core.create_namespaced_secret(ns, {"metadata": {"name": "s"}, "stringData": {"k": "hi"}})
    assert secret.data == {"k": "aGk="} and secret.type == "Opaque" and secret.string_data is None


def test_dry_run_writes_nothing(core: client.CoreV1Api, ns: str, sim_cluster: SimCluster) -> None:
    before = sim_cluster.store.resource_version
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}}, dry_run="All")
    with pytest.raises(ApiException):
        core.read_namespaced_config_map("a", ns)
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}, "data": {"k": "1"}})
    out = core.patch_namespaced_config_map("a", ns, {"data": {"k": "2"}}, dry_run="All")
    assert out.data == {"k": "2"}
    core.delete_namespaced_config_map("a", ns, dry_run="All")
    assert core.read_namespaced_config_map("a", ns).data == {"k": "1"}
    assert sim_cluster.store.resource_version == before + 1


def test_cluster_scoped_objects_have_no_namespace(api: client.ApiClient) -> None:
    rbac = client.RbacAuthorizationV1Api(api)
    role = rbac.create_cluster_role({"metadata": {"name": "system:reader"}, "rules": []})
    assert role.metadata.namespace is None
    assert [r.metadata.name for r in rbac.list_cluster_role().items] == ["system:reader"]


def test_configmaps_and_secrets_hold_at_most_one_mebibyte(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "fits"}, "data": {"k": "x" * 1_000_000}})
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map(ns, {"metadata": {"name": "big"}, "data": {"k": "x" * 1_100_000}})
    assert (err.value.status, status_of(err.value)["reason"]) == (422, "Invalid")
    with pytest.raises(ApiException) as too_big:
        core.create_namespaced_secret(ns, {"metadata": {"name": "big"}, "stringData": {"k": "x" * 1_100_000}})
    assert too_big.value.status == 422


def test_request_bodies_over_three_mebibytes_are_refused(core: client.CoreV1Api, ns: str) -> None:
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map(ns, {"metadata": {"name": "huge"}, "data": {"k": "x" * 4_000_000}})
    assert err.value.status == 413
