"""Transforms of docs/sync-semantics.md: what a source object becomes in the destination."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import pytest

from drsyncer.api import keys
from drsyncer.sync.transform import for_destination, scale_for, transform
from tests.unit.sync.factories import (
    DEST_NS,
    configmap,
    deployment,
    job,
    obj,
    pvc,
    rules,
    secret,
    service,
    statefulset,
)


def _dest(source: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return for_destination(source, rules(**spec), destination_namespace=DEST_NS)


# ---------------------------------------------------------------- metadata


def test_server_owned_metadata_and_status_are_stripped() -> None:
    source = configmap(
        annotations={keys.ANNOTATION_LAST_APPLIED: "{}", "team": "payments"},
        labels={"app": "shop"},
    )
    source["metadata"].update(
        selfLink="/api/v1/x",
        ownerReferences=[{"kind": "Thing", "name": "t", "uid": "u"}],
        finalizers=["example.com/keep"],
        deletionGracePeriodSeconds=30,
    )
    source["status"] = {"anything": True}
    meta = _dest(source)["metadata"]
    assert meta == {
        "name": "settings",
        "namespace": DEST_NS,
        "labels": {"app": "shop"},
        "annotations": {"team": "payments"},
    }
    assert "status" not in _dest(source)


def test_transform_never_modifies_the_source_object() -> None:
    for source in (deployment(), service(), pvc(), job(), statefulset(), secret()):
        before = copy.deepcopy(source)
        _dest(source, pvcConfig={"storageClassMappings": [{"from": "fast", "to": "slow"}]})
        assert source == before


def test_cluster_scoped_objects_get_no_namespace() -> None:
    crd = obj(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        "widgets.example.com",
        namespace=None,
        spec={"group": "example.com"},
        status={"conditions": []},
    )
    out = _dest(crd)
    assert "namespace" not in out["metadata"]
    assert "status" not in out


@pytest.mark.parametrize("make", [configmap, secret])
def test_configmaps_and_secrets_are_copied_as_is(make: Any) -> None:
    source = make(immutable=True)
    out = _dest(source)
    assert {k: v for k, v in out.items() if k != "metadata"} == {
        k: v for k, v in source.items() if k != "metadata"
    }


# ---------------------------------------------------------------- replicas

OVERRIDE = keys.LABEL_SCALE_OVERRIDE
SCALE_CASES = [
    # (case, kind factory, source replicas, labels, scaleToZero, expected replicas, warns)
    ("scale to zero by default", deployment, 3, None, None, 0, False),
    ("scaleToZero false keeps the count", deployment, 3, None, False, 3, False),
    ("integer override wins over scaleToZero", deployment, 3, {OVERRIDE: "1"}, True, 1, False),
    ("integer override wins with scaleToZero off", deployment, 3, {OVERRIDE: "5"}, False, 5, False),
    ("override of zero", deployment, 3, {OVERRIDE: "0"}, False, 0, False),
    ("non-integer override ignored, scaleToZero applies", deployment, 3, {OVERRIDE: "true"}, True, 0, True),
    ("non-integer override ignored, source count applies", deployment, 3, {OVERRIDE: "true"}, False, 3, True),
    ("negative override ignored", deployment, 3, {OVERRIDE: "-1"}, True, 0, True),
    ("fractional override ignored", deployment, 3, {OVERRIDE: "1.5"}, True, 0, True),
    ("empty override ignored", deployment, 3, {OVERRIDE: ""}, True, 0, True),
    ("StatefulSets scale to zero too", statefulset, 2, None, None, 0, False),
    ("StatefulSet integer override", statefulset, 2, {OVERRIDE: "1"}, True, 1, False),
]


@pytest.mark.parametrize(
    ("make", "replicas", "labels", "scale_to_zero", "expected", "warns"),
    [c[1:] for c in SCALE_CASES],
    ids=[c[0] for c in SCALE_CASES],
)
def test_replicas_in_the_destination(
    make: Any,
    replicas: int,
    labels: dict[str, str] | None,
    scale_to_zero: bool | None,
    expected: int,
    warns: bool,
) -> None:
    spec = {} if scale_to_zero is None else {"scaleToZero": scale_to_zero}
    result = transform(make(replicas=replicas, labels=labels), rules(**spec), destination_namespace=DEST_NS)
    assert result.body["spec"]["replicas"] == expected
    assert result.body["metadata"]["annotations"][keys.ANNOTATION_ORIGINAL_REPLICAS] == str(replicas)
    assert result.scale is not None and result.scale.original == replicas
    assert bool(result.warnings) == warns


def test_non_integer_override_warning_names_the_label_and_the_value() -> None:
    scale = scale_for(deployment(labels={OVERRIDE: "true"}), rules())
    assert scale.warning is not None
    assert keys.LABEL_SCALE_OVERRIDE in scale.warning and "'true'" in scale.warning


def test_unset_replicas_count_as_one_like_kubernetes() -> None:
    out = _dest(deployment(replicas=None), scaleToZero=False)
    assert out["spec"]["replicas"] == 1
    assert out["metadata"]["annotations"][keys.ANNOTATION_ORIGINAL_REPLICAS] == "1"


def test_daemonsets_keep_their_spec_without_scale_to_zero() -> None:
    ds = obj("apps/v1", "DaemonSet", "agent", spec={"selector": {"matchLabels": {"a": "b"}}})
    assert _dest(ds, scaleToZero=False)["spec"] == ds["spec"]


# ---------------------------------------------------------------- services

SERVICE_CASES = [
    ("clusterIP and clusterIPs cleared", {}, {}, {"type": "ClusterIP", "ipFamilyPolicy": "SingleStack"}),
    (
        "headless stays headless",
        {"clusterIP": "None", "clusterIPs": ["None"]},
        {},
        {"type": "ClusterIP", "clusterIP": "None", "clusterIPs": ["None"], "ipFamilyPolicy": "SingleStack"},
    ),
    (
        "headless with only clusterIP set gets clusterIPs None too",
        {"clusterIP": "None", "clusterIPs": None},
        {},
        {"type": "ClusterIP", "clusterIP": "None", "clusterIPs": ["None"], "ipFamilyPolicy": "SingleStack"},
    ),
]


@pytest.mark.parametrize(
    ("source_spec", "spec", "expected"), [c[1:] for c in SERVICE_CASES], ids=[c[0] for c in SERVICE_CASES]
)
def test_service_addresses(
    source_spec: dict[str, Any], spec: dict[str, Any], expected: dict[str, Any]
) -> None:
    src = service(spec={k: v for k, v in source_spec.items() if v is not None})
    if source_spec.get("clusterIPs", "") is None:
        del src["spec"]["clusterIPs"]
    out = _dest(src, **spec)["spec"]
    assert {k: v for k, v in out.items() if k not in ("ports", "selector")} == expected


def test_service_ip_families_are_left_to_the_destination() -> None:
    out = _dest(service(spec={"ipFamilies": ["IPv4", "IPv6"], "ipFamilyPolicy": "PreferDualStack"}))["spec"]
    assert "ipFamilies" not in out
    assert out["ipFamilyPolicy"] == "PreferDualStack"


NODE_PORT_SPEC = {
    "type": "LoadBalancer",
    "externalTrafficPolicy": "Local",
    "healthCheckNodePort": 32000,
    "ports": [{"name": "http", "port": 80, "nodePort": 30080, "protocol": "TCP"}],
}


@pytest.mark.parametrize(
    ("keep", "node_port", "health"),
    [(False, None, None), (True, 30080, 32000)],
    ids=["node ports dropped by default", "node ports kept when the rules say so"],
)
def test_node_ports(keep: bool, node_port: int | None, health: int | None) -> None:
    r = rules()
    if keep:
        r = replace(r, keep_node_ports=True)
    out = for_destination(service(spec=NODE_PORT_SPEC), r, destination_namespace=DEST_NS)["spec"]
    assert out["ports"][0].get("nodePort") == node_port
    assert out.get("healthCheckNodePort") == health
    assert out["ports"][0]["port"] == 80 and out["type"] == "LoadBalancer"


# ---------------------------------------------------------------- PVCs

LOCAL = {keys.LABEL_STORAGE_CLASS: "local"}
PVC_MAPPINGS = {
    "storageClassMappings": [
        {"from": "fast", "to": "dr-fast"},
        {"from": "fast", "to": "never-used"},
        {"from": "slow", "to": "dr-slow"},
    ],
    "accessModeMappings": [
        {"from": "ReadWriteOnce", "to": "ReadWriteMany"},
        {"from": "ReadOnlyMany", "to": "X"},
    ],
}

PVC_CASES = [
    # (case, source spec, labels, pvcConfig, expected storageClassName, expected accessModes)
    ("first storage class mapping wins", {}, None, PVC_MAPPINGS, "dr-fast", ["ReadWriteMany"]),
    ("unmapped class kept", {"storageClassName": "gold"}, None, PVC_MAPPINGS, "gold", ["ReadWriteMany"]),
    ("label overrides the mapping", {}, LOCAL, PVC_MAPPINGS, "local", ["ReadWriteMany"]),
    ("label works without any mapping", {}, LOCAL, {}, "local", ["ReadWriteOnce"]),
    ("no class stays default", {"storageClassName": None}, None, PVC_MAPPINGS, None, ["ReadWriteMany"]),
    (
        "every access mode element mapped",
        {"accessModes": ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteOncePod"]},
        None,
        PVC_MAPPINGS,
        "dr-fast",
        ["ReadWriteMany", "X", "ReadWriteOncePod"],
    ),
    (
        "mapped access modes deduplicated",
        {"accessModes": ["ReadWriteOnce", "ReadWriteMany"]},
        None,
        PVC_MAPPINGS,
        "dr-fast",
        ["ReadWriteMany"],
    ),
    ("no mappings copies as is", {}, None, {}, "fast", ["ReadWriteOnce"]),
]


@pytest.mark.parametrize(
    ("source_spec", "labels", "pvc_config", "klass", "modes"),
    [c[1:] for c in PVC_CASES],
    ids=[c[0] for c in PVC_CASES],
)
def test_pvc_class_and_access_modes(
    source_spec: dict[str, Any],
    labels: dict[str, str] | None,
    pvc_config: dict[str, Any],
    klass: str | None,
    modes: list[str],
) -> None:
    src = pvc(spec=source_spec, labels=labels)
    if source_spec.get("storageClassName", "") is None:
        del src["spec"]["storageClassName"]
    out = _dest(src, pvcConfig=pvc_config)["spec"]
    assert out.get("storageClassName") == klass
    assert out["accessModes"] == modes


def test_beta_storage_class_annotation_is_mapped_too() -> None:
    src = pvc(annotations={keys.ANNOTATION_BETA_STORAGE_CLASS: "fast"})
    out = _dest(src, pvcConfig=PVC_MAPPINGS)
    assert out["metadata"]["annotations"][keys.ANNOTATION_BETA_STORAGE_CLASS] == "dr-fast"


ATTRS = {
    "selector": {"matchLabels": {"a": "b"}},
    "dataSource": {"kind": "VolumeSnapshot", "name": "s"},
    "dataSourceRef": {"kind": "VolumeSnapshot", "name": "s"},
}

PVC_BINDING_CASES = [
    # (case, pvcConfig, volumeName kept, attributes kept)
    ("binding and attributes cleared by default", {}, False, False),
    (
        "preserveVolumeAttributes keeps attributes, not the binding",
        {"preserveVolumeAttributes": True},
        False,
        True,
    ),
    ("syncPersistentVolumes keeps volumeName and attributes", {"syncPersistentVolumes": True}, True, True),
]


@pytest.mark.parametrize(
    ("pvc_config", "volume_kept", "attrs_kept"),
    [c[1:] for c in PVC_BINDING_CASES],
    ids=[c[0] for c in PVC_BINDING_CASES],
)
def test_pvc_binding_fields(pvc_config: dict[str, Any], volume_kept: bool, attrs_kept: bool) -> None:
    src = pvc(spec=ATTRS)
    src["metadata"]["annotations"]["team"] = "storage"
    out = _dest(src, pvcConfig=pvc_config)
    assert ("volumeName" in out["spec"]) == volume_kept
    assert out["spec"]["volumeMode"] == "Filesystem"  # the kind of volume, never a tie: always kept
    for attr, value in ATTRS.items():
        assert out["spec"].get(attr) == (value if attrs_kept else None), attr
    assert out["metadata"]["annotations"] == {"team": "storage"}  # binding annotations always dropped
    assert out["spec"]["resources"] == {"requests": {"storage": "10Gi"}}
    assert "status" not in out


def test_statefulset_claim_templates_follow_the_pvc_mappings() -> None:
    src = statefulset()
    src["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"] = "fast"
    out = _dest(src, pvcConfig=PVC_MAPPINGS)
    claim = out["spec"]["volumeClaimTemplates"][0]["spec"]
    assert claim["storageClassName"] == "dr-fast"
    assert claim["accessModes"] == ["ReadWriteMany"]
    assert src["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"] == "fast"


# ---------------------------------------------------------------- jobs


def test_job_loses_the_selector_and_labels_its_controller_generated() -> None:
    out = _dest(job())
    assert "selector" not in out["spec"]
    assert out["spec"]["template"]["metadata"]["labels"] == {"app": "migrate"}
    assert out["metadata"]["labels"] == {}


@pytest.mark.parametrize(
    ("scale_to_zero", "source_suspend", "copy_suspend", "recorded"),
    [
        (True, None, True, "false"),
        (True, False, True, "false"),
        (True, True, True, "true"),
        (False, None, None, None),
        (False, False, False, None),
    ],
)
def test_cronjobs_are_suspended_in_the_copy_when_scaling_to_zero(
    scale_to_zero: bool, source_suspend: bool | None, copy_suspend: bool | None, recorded: str | None
) -> None:
    spec: dict[str, Any] = {"schedule": "0 * * * *", "jobTemplate": {"spec": {}}}
    if source_suspend is not None:
        spec["suspend"] = source_suspend
    src = obj("batch/v1", "CronJob", "report", spec=spec)
    out = _dest(src, scaleToZero=scale_to_zero)
    assert out["spec"].get("suspend") == copy_suspend
    assert out["metadata"]["annotations"].get(keys.ANNOTATION_ORIGINAL_SUSPEND) == recorded
    assert src["spec"].get("suspend") == source_suspend


def test_job_with_manual_selector_keeps_it() -> None:
    src = job()
    src["spec"]["manualSelector"] = True
    src["spec"]["selector"] = {"matchLabels": {"app": "migrate"}}
    out = _dest(src)
    assert out["spec"]["selector"] == {"matchLabels": {"app": "migrate"}}
    assert out["spec"]["template"]["metadata"]["labels"]["app"] == "migrate"


def test_ingress_is_copied_verbatim() -> None:
    spec = {"rules": [{"host": "shop.example.com"}], "tls": [{"secretName": "tls"}]}
    ing = obj("networking.k8s.io/v1", "Ingress", "shop", spec=spec, status={"loadBalancer": {}})
    assert _dest(ing)["spec"] == spec


def test_pod_copies_leave_what_the_source_cluster_assigned_to_the_destination() -> None:
    pod = obj(
        "v1",
        "Pod",
        "runner",
        spec={
            "containers": [{"name": "r", "image": "registry.example/runner:1"}],
            "priorityClassName": "batch-high",
            "nodeName": "src-node-1",
            "priority": 1000,
            "preemptionPolicy": "PreemptLowerPriority",
            "ephemeralContainers": [{"name": "debugger", "image": "busybox"}],
        },
    )
    before = copy.deepcopy(pod)
    spec = _dest(pod)["spec"]
    assert spec == {
        "containers": [{"name": "r", "image": "registry.example/runner:1"}],
        "priorityClassName": "batch-high",
    }
    assert pod == before
