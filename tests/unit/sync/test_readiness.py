"""What a failover now would lack: objects a copy's pods need, storage classes its claims ask for."""

from __future__ import annotations

from typing import Any

from drsyncer.sync.readiness import Gap, gaps, references, storage_classes
from tests.unit.sync.factories import deployment, obj, pvc, statefulset

POD: dict[str, Any] = {
    "serviceAccountName": "runner",
    "imagePullSecrets": [{"name": "registry"}],
    "volumes": [
        {"name": "a", "configMap": {"name": "settings"}},
        {"name": "b", "secret": {"secretName": "tls", "optional": True}},
        {"name": "c", "persistentVolumeClaim": {"claimName": "data"}},
        {"name": "d", "projected": {"sources": [{"secret": {"name": "token"}}]}},
    ],
    "containers": [
        {
            "name": "c",
            "image": "i",
            "envFrom": [{"secretRef": {"name": "db-creds"}}],
            "env": [
                {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "flags", "key": "x"}}},
                {"name": "Y", "valueFrom": {"secretKeyRef": {"name": "opt", "key": "y", "optional": True}}},
            ],
        }
    ],
}


def test_pod_needs_every_required_reference_and_no_optional_one() -> None:
    assert references(POD) == {
        ("ServiceAccount", "runner"),
        ("Secret", "registry"),
        ("ConfigMap", "settings"),
        ("PersistentVolumeClaim", "data"),
        ("Secret", "token"),
        ("Secret", "db-creds"),
        ("ConfigMap", "flags"),
    }


def test_default_service_account_is_not_needed_from_the_copies() -> None:
    assert references({"serviceAccountName": "default", "containers": []}) == set()


def test_missing_secret_of_a_copy_is_named_with_the_copy() -> None:
    web = deployment("web")
    web["metadata"]["namespace"] = "shop"
    web["spec"]["template"]["spec"] = {
        "containers": [{"name": "c", "envFrom": [{"secretRef": {"name": "db"}}]}]
    }
    assert gaps([web], set(), None, cluster="dr1") == [
        Gap("shop", "Deployment", "web", "needs Secret db, not in dr1")
    ]
    assert gaps([web], {("Secret", "shop", "db")}, None, cluster="dr1") == []


def test_cronjob_pods_are_read_through_the_job_template() -> None:
    job = obj(
        "batch/v1",
        "CronJob",
        "report",
        spec={
            "jobTemplate": {
                "spec": {
                    "template": {
                        "spec": {
                            "containers": [{"name": "c", "envFrom": [{"configMapRef": {"name": "cfg"}}]}]
                        }
                    }
                }
            }
        },
    )
    assert [g.message for g in gaps([job], set(), None, cluster="dr1")] == ["needs ConfigMap cfg, not in dr1"]


def test_claims_and_claim_templates_need_their_storage_class() -> None:
    claim = pvc(spec={"storageClassName": "fast", "accessModes": ["ReadWriteOnce"]})
    db = statefulset()
    db["spec"]["volumeClaimTemplates"] = [{"metadata": {"name": "d"}, "spec": {"storageClassName": "slow"}}]
    assert storage_classes(claim) == {"fast"} and storage_classes(db) == {"slow"}
    found = gaps([claim, db], set(), {"slow"}, cluster="dr1")
    assert [(g.kind, g.message) for g in found] == [
        ("PersistentVolumeClaim", "asks for storage class fast, which dr1 does not have")
    ]
    assert gaps([claim], set(), None, cluster="dr1") == []  # classes unknown: not checked
