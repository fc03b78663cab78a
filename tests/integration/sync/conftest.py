"""One source and two destination clusters, drsyncer clients for syncing, stock clients for the rest.

Each test runs on the simulator and on real control planes (the `kube` fixture). The stock
`kubernetes` client seeds the source and inspects the destinations, so what the tests see is what
any other Kubernetes tool would see. Writes are counted on drsyncer's own clients (every POST, PUT,
PATCH and DELETE they send), which holds on both backends; real clusters are shared by the session,
so each test works in a namespace of its own (`world.ns`).
"""

from __future__ import annotations

import copy
import json
import random
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

from drsyncer.api import keys
from drsyncer.kube import ClusterClient, RetryPolicy, client_from_kubeconfig
from drsyncer.sim import SimCluster
from drsyncer.sync.namespace_sync import Destination, sync_namespace
from drsyncer.sync.result import TargetResult
from drsyncer.sync.rules import Rules
from tests.fixtures.backends import World as Clusters
from tests.fixtures.crds import widget_crd
from tests.fixtures.polling import eventually

REPLICATION = "dr-system/shop"
# quick retries: a destination that is down is recognised in well under a second
FAST_RETRY = RetryPolicy(max_attempts=4, base_delay_s=0.02, max_delay_s=0.1)
ROOT_CA = keys.ROOT_CA_CONFIGMAP
WRITE_VERBS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

Obj = dict[str, Any]

WIDGET_CRD: Obj = widget_crd()

DEFAULT_SPEC: Obj = {
    "resourceTypes": [
        "configmaps",
        "secrets",
        "deployments",
        "services",
        "ingresses",
        "persistentvolumeclaims",
        "statefulsets",
        "widgets.example.com",
    ],
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
    """The clusters of one backend, a drsyncer client per cluster, a stock ApiClient per cluster, and
    the writes drsyncer's clients sent, by cluster and verb."""

    clusters: Clusters
    clients: dict[str, ClusterClient]
    stock: dict[str, k8s.ApiClient]
    ns: str  # the source namespace, and the destination namespace unless a test maps it
    _writes: Counter[tuple[str, str]] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def backend(self) -> str:
        return self.clusters.backend

    def sim(self, name: str) -> SimCluster:
        assert self.backend == "sim", "mark the test sim_only"
        cluster: SimCluster = self.clusters[name]
        return cluster

    def client(self, name: str, retry: RetryPolicy = FAST_RETRY) -> ClusterClient:
        """(Re)build drsyncer's client of cluster `name`, its writes counted."""
        old = self.clients.pop(name, None)
        if old is not None:
            old.close()
        client = client_from_kubeconfig(self.clusters[name].kubeconfig_dict(), name=name, retry=retry)
        client.counters.observers.append(self._observe)
        self.clients[name] = client
        return client

    def _observe(self, cluster: str, verb: str, status: int) -> None:
        if verb in WRITE_VERBS:
            with self._lock:
                self._writes[(cluster, verb)] += 1
                if status == 409:
                    self._writes[(cluster, "409")] += 1

    def sync(
        self,
        sync_rules: Rules,
        *,
        destinations: tuple[str, ...] = ("dr1", "dr2"),
        dest_ns: str | None = None,
        **options: Any,
    ) -> list[TargetResult]:
        targets = [Destination(self.clients[d], dest_ns or self.ns) for d in destinations]
        return sync_namespace(
            self.clients["source"], targets, sync_rules, source_namespace=self.ns, **options
        )

    def writes(self, *names: str) -> int:
        """Write requests (answered or not) drsyncer's clients sent to `names` (default dr1 and dr2)."""
        clusters = names or ("dr1", "dr2")
        with self._lock:
            return sum(
                n
                for (cluster, verb), n in self._writes.items()
                if cluster in clusters and verb in WRITE_VERBS
            )

    def verbs(self, name: str) -> dict[str, int]:
        """drsyncer's write requests to cluster `name` by verb, e.g. {"PUT": 1}."""
        with self._lock:
            return {
                verb: n
                for (cluster, verb), n in self._writes.items()
                if cluster == name and verb in WRITE_VERBS and n
            }

    def conflicts(self, name: str) -> int:
        """Writes to cluster `name` answered 409 Conflict."""
        with self._lock:
            return self._writes[(name, "409")]

    def reset_counters(self) -> None:
        with self._lock:
            self._writes.clear()
        if self.backend == "sim":
            for name in self.clients:
                self.sim(name).reset_counters()

    # -- stock-client access ----------------------------------------------------------------------

    def call(self, cluster: str, method: str, path: str, body: Obj | None = None) -> Obj | None:
        """One request through the stock client's REST layer, answered as raw JSON; None on 404."""
        api = self.stock[cluster]
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        method, url, headers, body, _ = api.param_serialize(
            method, path, header_params=headers, body=body, auth_settings=["BearerToken"]
        )
        try:
            response = api.call_api(method, url, header_params=headers, body=body)
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
def world(kube: Callable[..., Clusters]) -> Iterator[World]:
    clusters = kube(["source", "dr1", "dr2"])
    w = World(
        clusters, {}, {name: clusters.api(name) for name in clusters.clusters}, f"shop-{uuid.uuid4().hex[:8]}"
    )
    for name in clusters.clusters:
        w.client(name)
    yield w
    for c in w.clients.values():
        c.close()


# -- the source namespace ---------------------------------------------------------------------------


def pod_template(app: str) -> Obj:
    return {
        "metadata": {"labels": {"app": app}},
        "spec": {"containers": [{"name": "main", "image": "nginx:1.25"}]},
    }


def source_objects() -> list[Obj]:
    """A namespace with every default kind, a StatefulSet and a custom resource (the CRD is separate).
    The Service `web` asks for a cluster IP of its own, drawn at random: real source clusters live for
    the session, and each IP can be held by one Service only."""
    cluster_ip = f"10.96.{random.randint(128, 254)}.{random.randint(1, 254)}"
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "settings", "labels": {"app": "web"}},
            "data": {"mode": "dr", "level": "3"},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "creds"},
            "type": "Opaque",
            "data": {"password": "czNjcjN0"},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "web"}},
                "template": pod_template("web"),
            },
        },
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": "db"},
            "spec": {
                "replicas": 2,
                "serviceName": "db",
                "selector": {"matchLabels": {"app": "db"}},
                "template": pod_template("db"),
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "data"},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "storageClassName": "fast",
                            "resources": {"requests": {"storage": "1Gi"}},
                        },
                    }
                ],
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web"},
            "spec": {
                "clusterIP": cluster_ip,
                "selector": {"app": "web"},
                "ports": [{"name": "http", "port": 80, "targetPort": 8080}],
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "db"},
            "spec": {"clusterIP": "None", "selector": {"app": "db"}, "ports": [{"port": 5432}]},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": "web"},
            "spec": {
                "rules": [
                    {
                        "host": "shop.example.com",
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {"service": {"name": "web", "port": {"number": 80}}},
                                }
                            ]
                        },
                    }
                ]
            },
        },
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "uploads"},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": "fast",
                "volumeName": "pv-123",
                "resources": {"requests": {"storage": "5Gi"}},
            },
        },
        {
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "metadata": {"name": "blue"},
            "spec": {"color": "blue", "size": 3},
        },
    ]


def seed(world: World, objects: list[Obj] | None = None, namespace: str | None = None) -> None:
    """Create the namespace (default `world.ns`), the Widget CRD and the objects in the source with the
    stock client."""
    namespace = namespace or world.ns
    api = world.stock["source"]
    core = k8s.CoreV1Api(api)
    if world.get("source", f"/api/v1/namespaces/{namespace}") is None:
        core.create_namespace({"metadata": {"name": namespace}})
        # every namespace of a real cluster gets it (kube-controller-manager's root-ca publisher), and
        # drsyncer skips it; waiting makes the skipped count certain
        eventually(
            lambda: world.get("source", f"/api/v1/namespaces/{namespace}/configmaps/{ROOT_CA}"),
            timeout_s=30,
            what=f"{ROOT_CA} in namespace {namespace}",
        )
    if read(world, "source", WIDGET_CRD) is None:
        k8s.ApiextensionsV1Api(api).create_custom_resource_definition(copy.deepcopy(WIDGET_CRD))
        await_established(world, "source", WIDGET_CRD["metadata"]["name"])
    for obj in objects if objects is not None else source_objects():
        create(world, "source", obj, namespace)


def await_established(world: World, cluster: str, crd: str) -> None:
    """Wait until the API server serves the CRD's kind (a real one takes a moment)."""

    def established() -> bool:
        found = world.get(cluster, f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{crd}")
        conditions = ((found or {}).get("status") or {}).get("conditions") or ()
        return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)

    eventually(established, timeout_s=30, what=f"CRD {crd} Established in {cluster}")


def path_of(obj: Obj, namespace: str | None, name: str | None = None) -> str:
    """The REST path of an object's collection (or of the object, with `name`); namespace "" or None
    for a cluster-scoped one."""
    plural = {
        "ConfigMap": "configmaps",
        "Secret": "secrets",
        "Deployment": "deployments",
        "StatefulSet": "statefulsets",
        "Service": "services",
        "Ingress": "ingresses",
        "PersistentVolumeClaim": "persistentvolumeclaims",
        "Widget": "widgets",
        "Gadget": "gadgets",  # cluster-scoped
        "Endpoints": "endpoints",
        "EndpointSlice": "endpointslices",
        "Pod": "pods",
        "Job": "jobs",
        "ServiceAccount": "serviceaccounts",
        "CustomResourceDefinition": "customresourcedefinitions",
    }[obj["kind"]]
    api_version = obj["apiVersion"]
    base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    where = f"{base}/namespaces/{namespace}/{plural}" if namespace else f"{base}/{plural}"
    return f"{where}/{name}" if name else where


def _ns(world: World, obj: Obj, namespace: str | None) -> str:
    """The namespace an object helper works in: `world.ns` unless given; none for a CRD or a Gadget."""
    if obj["kind"] in ("CustomResourceDefinition", "Gadget"):
        return ""
    return world.ns if namespace is None else namespace


def create(world: World, cluster: str, obj: Obj, namespace: str | None = None) -> Obj:
    """POST an object with the stock client."""
    ns = _ns(world, obj, namespace)
    body = copy.deepcopy(obj)
    if ns:
        body["metadata"]["namespace"] = ns
    created = world.call(cluster, "POST", path_of(obj, ns), body)
    assert created is not None
    return created


def replace(world: World, cluster: str, obj: Obj) -> Obj:
    meta = obj["metadata"]
    replaced = world.call(cluster, "PUT", path_of(obj, meta.get("namespace"), meta["name"]), obj)
    assert replaced is not None
    return replaced


def delete(world: World, cluster: str, obj: Obj, namespace: str | None = None) -> None:
    world.call(cluster, "DELETE", path_of(obj, _ns(world, obj, namespace), obj["metadata"]["name"]))


def read(world: World, cluster: str, obj: Obj, namespace: str | None = None) -> Obj | None:
    return world.get(cluster, path_of(obj, _ns(world, obj, namespace), obj["metadata"]["name"]))


def modify(world: World, cluster: str, template: Obj, change: Any, namespace: str | None = None) -> Obj:
    """Read the object, let `change(obj)` edit it in place, write it back."""
    current = read(world, cluster, template, namespace)
    assert current is not None
    change(current)
    return replace(world, cluster, current)


def recreate(world: World, cluster: str, template: Obj, change: Any, namespace: str | None = None) -> Obj:
    """Change a field the API server keeps immutable, as a user must: read the object, delete it, and
    create it again with `change(obj)` applied."""
    current = read(world, cluster, template, namespace)
    assert current is not None
    delete(world, cluster, template, namespace)
    eventually(
        lambda: read(world, cluster, template, namespace) is None,
        timeout_s=30,
        what=f"{template['kind']} {template['metadata']['name']} deleted in {cluster}",
    )
    server_owned = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields")
    for field_name in server_owned:
        current["metadata"].pop(field_name, None)
    current.pop("status", None)
    change(current)
    return create(world, cluster, current, namespace)


def counts_of(result: TargetResult) -> dict[str, int]:
    """Totals by outcome, zeros left out."""
    return {k: v for k, v in result.totals.to_dict().items() if v}
