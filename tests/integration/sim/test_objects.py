"""Object semantics through the stock client: identity, resourceVersion, generation, errors."""

from __future__ import annotations

import base64
import secrets
from typing import Any

import pytest
from kubernetes import client, dynamic
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
    assert a.metadata.generation is None  # ConfigMaps have none; see the generation test below
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


def test_quantities_of_pod_templates_and_claims_are_stored_in_canonical_form(
    apps: client.AppsV1Api, core: client.CoreV1Api, ns: str
) -> None:
    container = {
        "name": "main",
        "image": "nginx",
        # a ResourceList's values are also rounded up to a thousandth
        "resources": {
            "requests": {"cpu": "0.5", "memory": "1024Mi"},
            "limits": {"cpu": "1000m", "ephemeral-storage": "1n"},
        },
    }
    template = {
        "metadata": {"labels": {"app": "db"}},
        "spec": {"containers": [container], "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "0.5Gi"}}]},
    }
    claim = {"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}
    claim["spec"]["resources"] = {"requests": {"storage": "1024Mi"}}
    sts = {
        "metadata": {"name": "db"},
        "spec": {
            "serviceName": "db",
            "selector": {"matchLabels": {"app": "db"}},
            "template": template,
            "volumeClaimTemplates": [claim],
        },
    }

    created = apps.create_namespaced_stateful_set(ns, sts)
    stored = core.create_namespaced_persistent_volume_claim(ns, claim)

    pod = created.spec.template.spec
    assert pod.containers[0].resources.requests == {"cpu": "500m", "memory": "1Gi"}
    assert pod.containers[0].resources.limits == {"cpu": "1", "ephemeral-storage": "1m"}
    assert pod.volumes[0].empty_dir.size_limit == "512Mi"
    assert created.spec.volume_claim_templates[0].spec.resources.requests == {"storage": "1Gi"}
    assert stored.spec.resources.requests == {"storage": "1Gi"}
    # the same quantities in another form are no change of the spec (nor of an immutable field); the
    # text is stored as kube-apiserver writes it
    created.spec.volume_claim_templates[0].spec.resources.requests = {"storage": "1073741824"}
    pod.containers[0].resources.limits = {"cpu": "1", "ephemeral-storage": "0.0001"}
    again = apps.replace_namespaced_stateful_set("db", ns, created)
    assert again.metadata.generation == created.metadata.generation == 1
    assert again.spec.volume_claim_templates[0].spec.resources.requests == {"storage": "1073741824"}
    assert again.spec.template.spec.containers[0].resources.limits == {"cpu": "1", "ephemeral-storage": "1m"}


def test_generation_moves_on_spec_change_only(apps: client.AppsV1Api, ns: str) -> None:
    created = apps.create_namespaced_deployment(ns, deployment("web"))
    assert created.metadata.generation == 1
    labelled = apps.patch_namespaced_deployment("web", ns, {"metadata": {"labels": {"tier": "front"}}})
    assert labelled.metadata.generation == 1
    assert int(labelled.metadata.resource_version) > int(created.metadata.resource_version)
    scaled = apps.patch_namespaced_deployment("web", ns, {"spec": {"replicas": 3}})
    assert scaled.metadata.generation == 2


@pytest.mark.parametrize(
    ("api_version", "plural", "body", "change", "generation"),
    [
        ("v1", "configmaps", {"data": {"k": "1"}}, {"data": {"k": "2"}}, None),
        ("v1", "services", {"spec": {"ports": [{"port": 80}]}}, {"spec": {"ports": [{"port": 81}]}}, None),
        (
            "rbac.authorization.k8s.io/v1",
            "roles",
            {"rules": []},
            {"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]},
            None,
        ),
        (
            "networking.k8s.io/v1",
            "networkpolicies",
            {"spec": {"podSelector": {}}},
            {"spec": {"podSelector": {"matchLabels": {"a": "b"}}}},
            2,
        ),
        (
            "policy/v1",
            "poddisruptionbudgets",
            {"spec": {"minAvailable": 1}},
            {"spec": {"minAvailable": 2}},
            2,
        ),
        (
            "batch/v1",
            "cronjobs",
            {
                "spec": {
                    "schedule": "* * * * *",
                    "jobTemplate": {
                        "spec": {
                            "template": {
                                "spec": {
                                    "restartPolicy": "Never",
                                    "containers": [{"name": "c", "image": "x"}],
                                }
                            }
                        }
                    },
                }
            },
            {"spec": {"schedule": "*/2 * * * *"}},
            2,
        ),
    ],
)
def test_only_kinds_whose_registry_keeps_a_generation_have_one(
    dyn: dynamic.DynamicClient,
    ns: str,
    api_version: str,
    plural: str,
    body: dict[str, Any],
    change: dict[str, Any],
    generation: int | None,
) -> None:
    resource = dyn.resources.get(api_version=api_version, name=plural)
    created = resource.create(namespace=ns, body={"metadata": {"name": "a"}, **body})
    assert created.metadata.generation == (1 if generation else None)
    labelled = resource.patch(
        name="a",
        namespace=ns,
        body={"metadata": {"labels": {"x": "y"}}},
        content_type="application/merge-patch+json",
    )
    assert labelled.metadata.generation == created.metadata.generation
    changed = resource.patch(name="a", namespace=ns, body=change, content_type="application/merge-patch+json")
    assert changed.metadata.generation == generation


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
    result = core.delete_namespaced_config_map("a", ns, propagation_policy="Background")
    assert result["status"] == "Success" and result["details"]["name"] == "a"
    with pytest.raises(ApiException) as err:
        core.delete_namespaced_config_map("a", ns)
    assert err.value.status == 404


POD: dict[str, Any] = {"spec": {"containers": [{"name": "c", "image": "x"}]}}


@pytest.mark.parametrize(
    ("api_version", "plural", "body", "answer"),
    [
        ("v1", "configmaps", {}, "Status"),
        ("v1", "secrets", {}, "Status"),
        ("apps/v1", "deployments", {"spec": deployment("d")["spec"]}, "Status"),
        ("rbac.authorization.k8s.io/v1", "roles", {"rules": []}, "Status"),
        ("v1", "services", {"spec": {"ports": [{"port": 80}]}}, "Service"),
        ("v1", "serviceaccounts", {}, "ServiceAccount"),
        ("v1", "pods", POD, "Pod"),
        (
            "v1",
            "persistentvolumeclaims",
            {"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}},
            "PersistentVolumeClaim",
        ),
    ],
)
def test_delete_answers_as_each_kind_registry_does(
    dyn: dynamic.DynamicClient, ns: str, api_version: str, plural: str, body: dict[str, Any], answer: str
) -> None:
    resource = dyn.resources.get(api_version=api_version, name=plural)
    resource.create(namespace=ns, body={"metadata": {"name": "a"}, **body})
    result = resource.delete(name="a", namespace=ns).to_dict()
    assert result["kind"] == answer
    if answer == "Status":
        assert result["status"] == "Success" and result["details"]["name"] == "a"
    else:
        assert result["metadata"]["name"] == "a"


def test_a_claim_is_protected_by_a_finalizer_released_once_no_pod_uses_it(
    core: client.CoreV1Api, ns: str
) -> None:
    claim = {
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    created = core.create_namespaced_persistent_volume_claim(ns, claim)
    assert created.metadata.finalizers == ["kubernetes.io/pvc-protection"]
    assert created.status.phase == "Pending"
    answer = core.delete_namespaced_persistent_volume_claim("data", ns)
    assert answer.metadata.deletion_timestamp is not None

    def gone() -> bool:
        try:
            core.read_namespaced_persistent_volume_claim("data", ns)
        except ApiException as exc:
            return exc.status == 404
        return False

    eventually(gone, timeout_s=30, what="the unused claim to be deleted")


def test_orphan_and_foreground_deletion_answer_the_owner_held_by_the_collector(
    core: client.CoreV1Api, ns: str
) -> None:
    for policy, finalizer in (("Orphan", "orphan"), ("Foreground", "foregroundDeletion")):
        owner = core.create_namespaced_config_map(ns, {"metadata": {"name": f"owner-{finalizer.lower()}"}})
        ref = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "name": owner.metadata.name,
            "uid": owner.metadata.uid,
        }
        core.create_namespaced_config_map(
            ns, {"metadata": {"name": f"dep-{finalizer.lower()}", "ownerReferences": [ref]}}
        )
        answer = core.delete_namespaced_config_map(owner.metadata.name, ns, propagation_policy=policy)
        assert answer["kind"] == "ConfigMap" and answer["metadata"]["finalizers"] == [finalizer]

    def dependents() -> tuple[bool, bool] | None:
        names = {c.metadata.name: c for c in core.list_namespaced_config_map(ns).items}
        if "owner-orphan" in names or "owner-foregrounddeletion" in names:
            return None  # the collector has not finished
        orphaned = names.get("dep-orphan")
        return (
            orphaned is not None and not orphaned.metadata.owner_references,
            "dep-foregrounddeletion" not in names,
        )

    # a dependent without blockOwnerDeletion may outlive its foreground-deleted owner for a moment
    # (kube-controller-manager's collector removes the owner first): wait for the collector's end state
    eventually(
        lambda: dependents() == (True, True),
        timeout_s=30,
        what="the collector to orphan one dependent and delete the other",
    )


def test_background_deletion_removes_dependents(core: client.CoreV1Api, ns: str) -> None:
    owner = core.create_namespaced_config_map(ns, {"metadata": {"name": "owner"}})
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner.metadata.uid}
    core.create_namespaced_secret(ns, {"metadata": {"name": "dep", "ownerReferences": [ref]}})
    core.delete_namespaced_config_map("owner", ns)

    def collected() -> bool:
        return "dep" not in {s.metadata.name for s in core.list_namespaced_secret(ns).items}

    eventually(collected, timeout_s=30, what="the dependent Secret to be collected")


def test_eviction_deletes_a_pod_unless_a_disruption_budget_forbids(
    core: client.CoreV1Api, api: client.ApiClient, ns: str
) -> None:
    labels = {"app": "web"}
    for name in ("p1", "p2"):
        core.create_namespaced_pod(ns, {"metadata": {"name": name, "labels": labels}, **POD})
    client.PolicyV1Api(api).create_namespaced_pod_disruption_budget(
        ns, {"metadata": {"name": "web"}, "spec": {"minAvailable": 2, "selector": {"matchLabels": labels}}}
    )
    eviction = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "p1", "namespace": ns}}
    # a Pending Pod (nothing schedules one here) may always go
    core.create_namespaced_pod_eviction("p1", ns, eviction)
    with pytest.raises(ApiException) as err:
        core.read_namespaced_pod("p1", ns)
    assert err.value.status == 404
    # a Ready Pod under a budget that needs it stays
    ready = {"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}
    core.patch_namespaced_pod_status("p2", ns, ready)
    refused = {**eviction, "metadata": {"name": "p2", "namespace": ns}}

    def refused_by_budget() -> bool:
        try:
            core.create_namespaced_pod_eviction("p2", ns, refused)
        except ApiException as exc:
            body = status_of(exc)
            assert exc.status == 429 and body["reason"] == "TooManyRequests", body
            return True
        return False

    # the disruption controller takes a moment to count the Pod as healthy on a real cluster
    assert eventually(refused_by_budget, timeout_s=30, what="the budget to refuse the eviction")
    assert core.read_namespaced_pod("p2", ns).metadata.deletion_timestamp is None


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


def test_a_service_switched_to_external_name_drops_its_cluster_ip_and_frees_it(
    core: client.CoreV1Api, ns: str
) -> None:
    """kube-apiserver drops the address fields of a Service an update makes ExternalName
    (dropTypeDependentFields; internalTrafficPolicy on read) and gives its cluster IP back."""
    svc = core.create_namespaced_service(ns, {"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}})
    ip = svc.spec.cluster_ip
    assert svc.spec.ip_families == ["IPv4"] and svc.spec.internal_traffic_policy == "Cluster"
    external = {"type": "ExternalName", "externalName": "web.example.com"}
    switched = core.replace_namespaced_service("web", ns, {"metadata": {"name": "web"}, "spec": external})
    for got in (switched, core.read_namespaced_service("web", ns)):
        assert (got.spec.type, got.spec.external_name) == ("ExternalName", "web.example.com")
        assert (got.spec.cluster_ip, got.spec.cluster_ips) == (None, None)
        assert (got.spec.ip_families, got.spec.ip_family_policy) == (None, None)
        assert got.spec.internal_traffic_policy is None
    # the address is free: a new Service may ask for it
    taken = core.create_namespaced_service(
        ns, {"metadata": {"name": "db"}, "spec": {"clusterIP": ip, "ports": [{"port": 5432}]}}
    )
    assert taken.spec.cluster_ip == ip


def test_deleting_an_external_name_service_showing_another_services_address_frees_nothing(
    core: client.CoreV1Api, ns: str
) -> None:
    """A lone `clusterIP` on an update to ExternalName is stored as stated, not allocated: deleting
    that Service leaves the address to the Service that holds it."""
    held = core.create_namespaced_service(
        ns, {"metadata": {"name": "db"}, "spec": {"ports": [{"port": 5432}]}}
    )
    ip = held.spec.cluster_ip
    core.create_namespaced_service(ns, {"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}})
    external = {"type": "ExternalName", "externalName": "web.example.com", "clusterIP": ip}
    shown = core.replace_namespaced_service("web", ns, {"metadata": {"name": "web"}, "spec": external})
    assert shown.spec.cluster_ip == ip
    core.delete_namespaced_service("web", ns)
    eventually(lambda: not [s for s in core.list_namespaced_service(ns).items if s.metadata.name == "web"])
    with pytest.raises(ApiException) as err:
        core.create_namespaced_service(
            ns, {"metadata": {"name": "api"}, "spec": {"clusterIP": ip, "ports": [{"port": 80}]}}
        )
    assert err.value.status == 422 and "already allocated" in status_of(err.value)["message"]


def test_a_switch_to_external_name_drops_the_old_address_it_states_and_refuses_another(
    core: client.CoreV1Api, ns: str
) -> None:
    """An update to ExternalName that states the Service's own address fields (as a copy read back
    would) has them dropped; one that states another address or family is 422 Forbidden."""
    old = core.create_namespaced_service(
        ns, {"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}}
    ).spec
    external = {"type": "ExternalName", "externalName": "web.example.com"}
    other = {"clusterIP": "10.96.0.2", "clusterIPs": ["10.96.0.2"], "ipFamilies": ["IPv6"]}
    with pytest.raises(ApiException) as err:
        core.replace_namespaced_service(
            "web", ns, {"metadata": {"name": "web"}, "spec": {**external, **other}}
        )
    body = status_of(err.value)
    assert (err.value.status, body["reason"]) == (422, "Invalid")
    assert [(c["field"], c["message"]) for c in body["details"]["causes"]] == [
        ("spec.clusterIPs", "Forbidden: may not be set for ExternalName services"),
        ("spec.ipFamilies", "Forbidden: may not be set for ExternalName services"),
    ]
    assert core.read_namespaced_service("web", ns).spec.cluster_ip == old.cluster_ip
    stated = {
        "clusterIP": old.cluster_ip,
        "clusterIPs": old.cluster_ips,
        "ipFamilies": old.ip_families,
        "ipFamilyPolicy": old.ip_family_policy,
        "internalTrafficPolicy": old.internal_traffic_policy,
    }
    switched = core.replace_namespaced_service(
        "web", ns, {"metadata": {"name": "web"}, "spec": {**external, **stated}}
    )
    assert (switched.spec.cluster_ip, switched.spec.cluster_ips, switched.spec.ip_families) == (
        None,
        None,
        None,
    )
    assert (switched.spec.ip_family_policy, switched.spec.internal_traffic_policy) == (None, None)
    taken = core.create_namespaced_service(
        ns, {"metadata": {"name": "db"}, "spec": {"clusterIP": old.cluster_ip, "ports": [{"port": 5432}]}}
    )
    assert taken.spec.cluster_ip == old.cluster_ip


def test_headless_service_keeps_none(core: client.CoreV1Api, ns: str) -> None:
    svc = core.create_namespaced_service(
        ns, {"metadata": {"name": "db"}, "spec": {"clusterIP": "None", "ports": [{"port": 5432}]}}
    )
    assert svc.spec.cluster_ip == "None"


def test_the_server_fills_in_client_ip_affinity_timeout_volume_modes_and_reclaim_policy(
    core: client.CoreV1Api, ns: str
) -> None:
    """kube-apiserver's defaults (pkg/apis/core/v1/defaults.go: SetDefaults_Service,
    SetDefaults_PersistentVolumeClaimSpec, SetDefaults_PersistentVolume): a copy that leaves them out
    reads back with them, and a sync comparing the two must not see a change there."""
    sticky = core.create_namespaced_service(
        ns, {"metadata": {"name": "sticky"}, "spec": {"sessionAffinity": "ClientIP", "ports": [{"port": 80}]}}
    )
    assert sticky.spec.session_affinity_config.client_ip.timeout_seconds == 10800
    plain = core.create_namespaced_service(
        ns, {"metadata": {"name": "plain"}, "spec": {"ports": [{"port": 80}]}}
    )
    assert plain.spec.session_affinity == "None" and plain.spec.session_affinity_config is None
    claim = core.create_namespaced_persistent_volume_claim(
        ns,
        {
            "metadata": {"name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
        },
    )
    assert claim.spec.volume_mode == "Filesystem"
    name = f"{ns}-pv"  # cluster-scoped: named after the test's namespace, deleted after
    volume = core.create_persistent_volume(
        {
            "metadata": {"name": name},
            "spec": {
                "capacity": {"storage": "1Gi"},
                "accessModes": ["ReadWriteOnce"],
                "hostPath": {"path": "/tmp/drsyncer-pv"},
            },
        }
    )
    try:
        assert volume.spec.volume_mode == "Filesystem"
        assert volume.spec.persistent_volume_reclaim_policy == "Retain"
    finally:
        core.delete_persistent_volume(name)


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
    name = f"reader-{secrets.token_hex(3)}"
    role = rbac.create_cluster_role({"metadata": {"name": name}, "rules": []})
    assert role.metadata.namespace is None
    listed = {r.metadata.name: r for r in rbac.list_cluster_role().items}
    assert listed[name].metadata.namespace is None


def test_configmaps_and_secrets_hold_at_most_one_mebibyte(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "fits"}, "data": {"k": "x" * 1_000_000}})
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map(ns, {"metadata": {"name": "big"}, "data": {"k": "x" * 1_100_000}})
    assert (err.value.status, status_of(err.value)["reason"]) == (422, "Invalid")
    with pytest.raises(ApiException) as too_big:
        core.create_namespaced_secret(ns, {"metadata": {"name": "big"}, "stringData": {"k": "x" * 1_100_000}})
    assert too_big.value.status == 422


def test_the_mebibyte_counts_the_values_bytes_not_the_keys(core: client.CoreV1Api, ns: str) -> None:
    mib = 1024 * 1024
    # "é" is two bytes of UTF-8; long keys do not count
    half = "é" * 1000 + "x" * (mib // 2 - 2000)
    core.create_namespaced_config_map(
        ns, {"metadata": {"name": "exact"}, "data": {"k" * 250: half, "j" * 250: half}}
    )
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map(
            ns, {"metadata": {"name": "over"}, "data": {"a": half, "b": half + "x"}}
        )
    assert status_of(err.value)["message"] == (
        'ConfigMap "over" is invalid: []: Too long: may not be more than 1048576 bytes'
    )
    binary = base64.b64encode(b"\0" * (mib // 2)).decode()
    core.create_namespaced_config_map(
        ns, {"metadata": {"name": "mixed"}, "data": {"t": "x" * (mib // 2)}, "binaryData": {"b": binary}}
    )
    secret = base64.b64encode(b"\1" * (mib // 2)).decode()
    core.create_namespaced_secret(
        ns, {"metadata": {"name": "exact"}, "data": {"k" * 250: secret, "j" * 250: secret}}
    )
    with pytest.raises(ApiException) as err:
        core.create_namespaced_secret(
            ns,
            {
                "metadata": {"name": "over"},
                "data": {"a": secret, "b": base64.b64encode(b"\1" * (mib // 2 + 1)).decode()},
            },
        )
    assert (
        status_of(err.value)["message"]
        == 'Secret "over" is invalid: data: Too long: may not be more than 1048576 bytes'
    )


def test_request_bodies_over_three_mebibytes_are_refused(core: client.CoreV1Api, ns: str) -> None:
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map(ns, {"metadata": {"name": "huge"}, "data": {"k": "x" * 4_000_000}})
    assert err.value.status == 413
    assert status_of(err.value)["message"] == "Request entity too large: limit is 3145728"


def _node_port_service(name: str, node_port: int) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": node_port}]},
    }


def test_a_node_port_another_service_holds_is_refused(core: client.CoreV1Api, ns: str) -> None:
    first = core.create_namespaced_service(
        ns, {"metadata": {"name": "a"}, "spec": {"type": "NodePort", "ports": [{"port": 80}]}}
    )
    held = first.spec.ports[0].node_port
    assert 30000 <= held <= 32767 and first.spec.external_traffic_policy == "Cluster"
    with pytest.raises(ApiException) as err:
        core.create_namespaced_service(ns, _node_port_service("b", held))
    body = status_of(err.value)
    assert (err.value.status, body["reason"]) == (422, "Invalid")
    assert body["details"]["causes"][0]["field"] == "spec.ports[0].nodePort"
    assert "provided port is already allocated" in body["message"]
    # a Service that gives its node port up releases it
    core.patch_namespaced_service("a", ns, {"spec": {"type": "ClusterIP"}})
    assert core.read_namespaced_service("a", ns).spec.ports[0].node_port is None
    taken = core.create_namespaced_service(ns, _node_port_service("b", held))
    assert taken.spec.ports[0].node_port == held
    core.delete_namespaced_service("b", ns)
    again = core.create_namespaced_service(ns, _node_port_service("c", held))
    assert again.spec.ports[0].node_port == held


def test_a_create_of_a_taken_name_asking_for_a_held_node_port_is_refused_for_the_port_first(
    core: client.CoreV1Api, ns: str
) -> None:
    # kube-apiserver 1.34 allocates (dry-run allocators for a dry run) before it finds the name
    # taken: 422 "provided port is already allocated", not 409, also for a dry-run create
    squatter = core.create_namespaced_service(ns, _node_port_service("squatter", 30080))
    assert squatter.spec.ports[0].node_port == 30080
    core.create_namespaced_service(
        ns, {"metadata": {"name": "api"}, "spec": {"type": "NodePort", "ports": [{"port": 80}]}}
    )
    for dry_run in ("All", None):
        with pytest.raises(ApiException) as err:
            core.create_namespaced_service(ns, _node_port_service("api", 30080), dry_run=dry_run)
        assert (
            err.value.status == 422
            and "provided port is already allocated" in status_of(err.value)["message"]
        )
    # nothing was allocated by the refused requests: the name taken is still refused with 409
    with pytest.raises(ApiException) as taken:
        core.create_namespaced_service(
            ns, {"metadata": {"name": "api"}, "spec": {"type": "NodePort", "ports": [{"port": 80}]}}
        )
    assert taken.value.status == 409


def test_a_local_load_balancer_gets_a_health_check_node_port_of_its_own(
    core: client.CoreV1Api, ns: str
) -> None:
    spec = {"type": "LoadBalancer", "externalTrafficPolicy": "Local", "ports": [{"port": 80}]}
    lb = core.create_namespaced_service(ns, {"metadata": {"name": "lb"}, "spec": spec})
    health = lb.spec.health_check_node_port
    assert health and health != lb.spec.ports[0].node_port
    assert lb.spec.allocate_load_balancer_node_ports is True
    with pytest.raises(ApiException) as err:
        core.create_namespaced_service(
            ns, {"metadata": {"name": "lb2"}, "spec": {**spec, "healthCheckNodePort": health}}
        )
    assert err.value.status == 500
    assert "provided port is already allocated" in status_of(err.value)["message"]


def test_a_dry_run_holds_no_node_port(core: client.CoreV1Api, ns: str) -> None:
    body = _node_port_service("a", 31999)
    core.create_namespaced_service(ns, body, dry_run="All")
    assert core.create_namespaced_service(ns, body).spec.ports[0].node_port == 31999
