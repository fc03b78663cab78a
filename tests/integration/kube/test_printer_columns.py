"""`kubectl get replications` as a real API server renders the CRD's printer columns (and the
simulator, which must agree): ages for past times, no future `date` column (kubectl prints those as
`<invalid>`), the destinations of a fan-out Replication as one readable cell, and a short reason."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

from drsyncer.api.crds import replication_crd
from tests.fixtures.polling import eventually

GROUP, VERSION, PLURAL = "dr-syncer.io", "v1alpha1", "replications"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"


def _rfc3339(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _install_crd(api: k8s.ApiClient) -> None:
    crds = k8s.ApiextensionsV1Api(api)
    try:
        crds.create_custom_resource_definition(replication_crd())
    except ApiException as exc:
        if exc.status != 409:
            raise

    def served() -> bool:
        try:
            k8s.CustomObjectsApi(api).list_cluster_custom_object(GROUP, VERSION, PLURAL)
        except ApiException:
            return False
        return True

    eventually(served, timeout_s=30, what="the Replication CRD to be served")


def _table(api: k8s.ApiClient, path: str) -> dict[str, Any]:
    """The list at `path` as the server renders it for kubectl (a meta.k8s.io Table)."""
    method, url, headers, body, post = api.param_serialize(
        "GET",
        path,
        header_params={"Accept": TABLE},
        auth_settings=["BearerToken"],
    )
    response = api.call_api(method, url, headers, body, post)
    response.read()
    table: dict[str, Any] = json.loads(response.data)
    return table


def test_replication_columns_show_ages_readable_destinations_and_a_reason(kube: Any) -> None:
    world = kube(["controller"])
    api = world.api("controller")
    _install_crd(api)
    namespace = f"columns-{uuid.uuid4().hex[:6]}"
    k8s.CoreV1Api(api).create_namespace({"metadata": {"name": namespace}})
    custom = k8s.CustomObjectsApi(api)
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Replication",
        "metadata": {"name": "fanout", "namespace": namespace},
        "spec": {"sourceCluster": "prod", "destinationClusters": ["dr1", "dr2"], "sourceNamespace": "shop"},
    }
    eventually(
        lambda: custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body),
        timeout_s=30,
        what="the Replication to be created",
        tolerate=(ApiException,),
    )
    now = datetime.now(UTC).replace(microsecond=0)
    status = {
        "phase": "Failed",
        "destinations": "dr1,dr2",
        "lastSyncTime": _rfc3339(now - timedelta(minutes=3)),
        "nextSyncTime": _rfc3339(now + timedelta(minutes=12)),
        "syncStats": {"synced": 0, "failed": 4},
        "conditions": [
            {
                "type": "Ready",
                "status": "False",
                "reason": "SyncFailed",
                "message": "destination cluster dr2: cannot connect",
                "lastTransitionTime": _rfc3339(now),
            }
        ],
    }
    custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, PLURAL, "fanout", {"status": status}
    )

    table = _table(api, f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}")
    columns = [c["name"] for c in table["columnDefinitions"]]
    assert columns[:10] == [
        "Name",
        "Source",
        "Destinations",
        "Mode",
        "Phase",
        "Reason",
        "Last Sync",
        "Synced",
        "Failed",
        "Source Namespace",
    ]
    types = {c["name"]: c["type"] for c in table["columnDefinitions"]}
    assert types["Next Sync"] == "string", "a future time in a date column prints as <invalid>"
    (row,) = table["rows"]
    cells = dict(zip(columns, row["cells"], strict=True))
    assert cells["Destinations"] == "dr1,dr2"
    assert cells["Reason"] == "SyncFailed"
    assert cells["Message"] == "destination cluster dr2: cannot connect"
    assert cells["Next Sync"] == status["nextSyncTime"]
    assert cells["Failed"] == 4

    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed; the Table response was checked")
    out = subprocess.run(
        [
            "kubectl",
            "--kubeconfig",
            str(world.kubeconfig),
            "--context",
            "controller",
            "get",
            "repl",
            "-n",
            namespace,
            "-o",
            "wide",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    header, line = out.splitlines()
    assert "<invalid>" not in out
    assert header.split()[:6] == ["NAME", "SOURCE", "DESTINATIONS", "MODE", "PHASE", "REASON"]
    assert line.split()[:6] == ["fanout", "prod", "dr1,dr2", "Scheduled", "Failed", "SyncFailed"]
    assert re.fullmatch(r"3m(\d+s)?", line.split()[6]), line  # LAST SYNC is an age (kubectl: 3m or 3m1s)


def test_event_columns_are_what_kubectl_get_events_prints(kube: Any) -> None:
    # drsyncer reports on its resources through Events: `kubectl get events` must show them readably
    world = kube(["controller"])
    api = world.api("controller")
    namespace = f"events-{uuid.uuid4().hex[:6]}"
    core = k8s.CoreV1Api(api)
    core.create_namespace({"metadata": {"name": namespace}})
    # 20 minutes ago: between 10 minutes and 3 hours an age prints as whole minutes (apimachinery's
    # HumanDuration), so a second passing before the server answers changes nothing ("2m" became "2m1s")
    seen = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
    core.create_namespaced_event(
        namespace,
        {
            "metadata": {"name": "shop.1", "namespace": namespace},
            "involvedObject": {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": "Replication",
                "namespace": namespace,
                "name": "shop",
            },
            "type": "Warning",
            "reason": "SyncFailed",
            "message": "destination cluster dr1: cannot connect",
            "source": {"component": "drsyncer-worker"},
            "firstTimestamp": _rfc3339(seen - timedelta(minutes=5)),
            "lastTimestamp": _rfc3339(seen),
            "count": 3,
        },
    )

    table = _table(api, f"/api/v1/namespaces/{namespace}/events")
    shown = [c["name"] for c in table["columnDefinitions"] if c["priority"] == 0]
    assert shown == ["Last Seen", "Type", "Reason", "Object", "Message"]
    columns = [c["name"] for c in table["columnDefinitions"]]
    (row,) = table["rows"]
    cells = dict(zip(columns, row["cells"], strict=True))
    assert cells["Last Seen"] == "20m"
    assert (cells["Type"], cells["Reason"]) == ("Warning", "SyncFailed")
    assert cells["Object"] == "replication/shop"
    assert cells["Message"] == "destination cluster dr1: cannot connect"
    assert cells["Count"] == 3
    assert cells["Source"] == "drsyncer-worker"
