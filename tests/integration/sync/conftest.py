"""One source and two destination clusters, drsyncer clients for syncing, stock clients for the rest.

The stock `kubernetes` client seeds the source and inspects the destinations, so what the tests see
is what any other Kubernetes tool would see.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

from drsyncer.kube import ClusterClient, RetryPolicy, client_from_kubeconfig
from drsyncer.sim import SimCluster, SimFleet
from drsyncer.sync.namespace_sync import Destination, sync_namespace
from drsyncer.sync.result import TargetResult
from drsyncer.sync.rules import Rules

SOURCE_NS = "shop"
REPLICATION = "dr-system/shop"
# quick retries: a destination that is down is recognised in well under a second
FAST_RETRY = RetryPolicy(max_attempts=4, base_delay_s=0.02, max_delay_s=0.1)

Obj = dict[str, Any]

WIDGET_CRD: Obj = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
        "versions": [{
            "name": "v1", "served": True, "storage": True,
            "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
        }],
    },
}

DEFAULT_SPEC: Obj = {
    "resourceTypes": ["configmaps", "secrets", "deployments", "services", "ingresses",
                      "persistentvolumeclaims", "statefulsets", "widgets.example.com"],
    "syncCRDs": True,
    "pvcConfig": {
        "storageClassMappings": [{"from": "fast", "to": "standard"}],
        "accessModeMappings": [{"from": "ReadWriteOnce", "to": "ReadWriteMany"}],
    },
}


def rules(**spec: Any) -> Rules:
    return Rules.from_spec({**DEFAULT_SPEC, **spec}, replication=REPLICATION, source_cluster="source")


@dataclass
class World:
    """The clusters, a drsyncer client per cluster, and a stock ApiClient per cluster."""

    fleet: SimFleet
    clients: dict[str, ClusterClient]
    stock: dict[str, k8s.ApiClient]

    def sim(self, name: str) -> SimCluster:
        return self.fleet[name]

    def sync(self, sync_rules: Rules, *, destinations: tuple[str, ...] = ("dr1", "dr2"),
             dest_ns: str = SOURCE_NS, **options: Any) -> list[TargetResult]:
        targets = [Destination(self.clients[d], dest_ns) for d in destinations]
        return sync_namespace(self.clients["source"], targets, sync_rules, source_namespace=SOURCE_NS,
                              **options)

    def writes(self, *names: str) -> int:
        return sum(self.fleet[n].writes() for n in names or ("dr1", "dr2"))

    def reset_counters(self) -> None:
        for cluster in self.fleet:
            cluster.reset_counters()

    # -- stock-client access ----------------------------------------------------------------------

    def call(self, cluster: str, method: str, path: str, body: Obj | None = None) -> Obj | None:
        """One request through the stock client's REST layer, answered as raw JSON; None on 404.
        (The simulated clusters serve without authentication.)"""
        api = self.stock[cluster]
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        try:
            response = api.call_api(method, api.configuration.host + path, header_params=headers, body=body)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        data = response.read()
        if response.status == 404:
            return None
        if response.status >= 400:
            raise ApiException(status=response.status, reason=data.decode())
        parsed: Obj = json.loads(data)
        return parsed

    def get(self, cluster: str, path: str) -> Obj | None:
        return self.call(cluster, "GET", path)

    def core(self, cluster: str) -> k8s.CoreV1Api:
        return k8s.CoreV1Api(self.stock[cluster])

    def apps(self, cluster: str) -> k8s.AppsV1Api:
        return k8s.AppsV1Api(self.stock[cluster])

    def custom(self, cluster: str) -> k8s.CustomObjectsApi:
        return k8s.CustomObjectsApi(self.stock[cluster])


@pytest.fixture
def world(sim_fleet: Any) -> Iterator[World]:
    fleet: SimFleet = sim_fleet(["source", "dr1", "dr2"])
    clients = {c.name: client_from_kubeconfig(c.kubeconfig_dict(), name=c.name, retry=FAST_RETRY)
               for c in fleet}
    stock = {c.name: c.api_client() for c in fleet}
    yield World(fleet, clients, stock)
    for c in clients.values():
        c.close()
    for s in stock.values():
        s.close()


# -- the source namespace ---------------------------------------------------------------------------

def pod_template(app: str) -> Obj:
    return {"metadata": {"labels": {"app": app}},
            "spec": {"containers": [{"name": "main", "image": "nginx:1.25"}]}}


def source_objects() -> list[Obj]:
    """A namespace with every default kind, a StatefulSet and a custom resource (the CRD is separate)."""
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "labels": {"app": "web"}},
         "data": {"mode": "dr", "level": "3"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"}, "type": "Opaque",
         "data": {"password": "czNjcjN0"}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"app": "web"}},
         "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                  "template": pod_template("web")}},
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
         "spec": {"replicas": 2, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                  "template": pod_template("db"),
                  "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                      "accessModes": ["ReadWriteOnce"], "storageClassName": "fast",
                      "resources": {"requests": {"storage": "1Gi"}}}}]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
         "spec": {"clusterIP": "10.96.77.7", "selector": {"app": "web"},
                  "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db"},
         "spec": {"clusterIP": "None", "selector": {"app": "db"}, "ports": [{"port": 5432}]}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web"},
         "spec": {"rules": [{"host": "shop.example.com", "http": {"paths": [{
             "path": "/", "pathType": "Prefix",
             "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "uploads"},
         "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "fast", "volumeName": "pv-123",
                  "resources": {"requests": {"storage": "5Gi"}}}},
        {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "blue"},
         "spec": {"color": "blue", "size": 3}},
    ]


def seed(world: World, objects: list[Obj] | None = None, namespace: str = SOURCE_NS) -> None:
    """Create the namespace, the Widget CRD and the objects in the source with the stock client."""
    api = world.stock["source"]
    core = k8s.CoreV1Api(api)
    if world.get("source", f"/api/v1/namespaces/{namespace}") is None:
        core.create_namespace({"metadata": {"name": namespace}})
    if read(world, "source", WIDGET_CRD) is None:
        k8s.ApiextensionsV1Api(api).create_custom_resource_definition(copy.deepcopy(WIDGET_CRD))
    for obj in objects if objects is not None else source_objects():
        create(world, "source", obj, namespace)


def path_of(obj: Obj, namespace: str | None, name: str | None = None) -> str:
    """The REST path of an object's collection (or of the object, with `name`)."""
    plural = {"ConfigMap": "configmaps", "Secret": "secrets", "Deployment": "deployments",
              "StatefulSet": "statefulsets", "Service": "services", "Ingress": "ingresses",
              "PersistentVolumeClaim": "persistentvolumeclaims", "Widget": "widgets",
              "CustomResourceDefinition": "customresourcedefinitions"}[obj["kind"]]
    api_version = obj["apiVersion"]
    base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    where = f"{base}/namespaces/{namespace}/{plural}" if namespace else f"{base}/{plural}"
    return f"{where}/{name}" if name else where


def create(world: World, cluster: str, obj: Obj, namespace: str = SOURCE_NS) -> Obj:
    """POST an object with the stock client."""
    body = copy.deepcopy(obj)
    body["metadata"]["namespace"] = namespace
    created = world.call(cluster, "POST", path_of(obj, namespace), body)
    assert created is not None
    return created


def replace(world: World, cluster: str, obj: Obj) -> Obj:
    meta = obj["metadata"]
    replaced = world.call(cluster, "PUT", path_of(obj, meta.get("namespace"), meta["name"]), obj)
    assert replaced is not None
    return replaced


def delete(world: World, cluster: str, obj: Obj, namespace: str = SOURCE_NS) -> None:
    world.call(cluster, "DELETE", path_of(obj, namespace, obj["metadata"]["name"]))


def read(world: World, cluster: str, obj: Obj, namespace: str | None = SOURCE_NS) -> Obj | None:
    ns = namespace if obj["kind"] != "CustomResourceDefinition" else None
    return world.get(cluster, path_of(obj, ns, obj["metadata"]["name"]))


def modify(world: World, cluster: str, template: Obj, change: Any, namespace: str = SOURCE_NS) -> Obj:
    """Read the object, let `change(obj)` edit it in place, write it back."""
    current = read(world, cluster, template, namespace)
    assert current is not None
    change(current)
    return replace(world, cluster, current)


def recreate(world: World, cluster: str, template: Obj, change: Any, namespace: str = SOURCE_NS) -> Obj:
    """Read the object, let `change(obj)` edit it, then delete it and create it again: how an owner
    changes a field the API server keeps fixed (it refuses the change in place)."""
    current = read(world, cluster, template, namespace)
    assert current is not None
    change(current)
    current.pop("status", None)
    current["metadata"] = {k: v for k, v in current["metadata"].items()
                           if k not in ("uid", "resourceVersion", "creationTimestamp", "generation",
                                        "managedFields")}
    delete(world, cluster, template, namespace)
    return create(world, cluster, current, namespace)


def counts_of(result: TargetResult) -> dict[str, int]:
    """Totals by outcome, zeros left out."""
    return {k: v for k, v in result.totals.to_dict().items() if v}
