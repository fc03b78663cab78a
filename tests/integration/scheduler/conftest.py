"""A controller and a source cluster (simulated), a private Redis, and a watcher running in a thread."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
import yaml
from celery import Celery
from redbeat import RedBeatSchedulerEntry

from drsyncer.api.crds import all_crds
from drsyncer.config import Settings, load_settings
from drsyncer.errors import CategorisedError
from drsyncer.kube import ClusterClient, client_from_kubeconfig
from drsyncer.kube.discovery import ResourceRef
from drsyncer.sim import SimFleet
from drsyncer.task_contract import SYNC_QUEUE
from scheduler.celery_app import make_app
from scheduler.service import WatcherService
from scheduler.store import ScheduleStore
from tests.fixtures.polling import builtin_ref, eventually
from tests.fixtures.remote_clusters import remote_cluster

NS = "dr-system"


NAMESPACES = builtin_ref("namespaces")
SECRETS = builtin_ref("secrets")
CRDS = builtin_ref("customresourcedefinitions")
SERVED = [c["metadata"]["name"] for c in all_crds()]  # plural.group, what the CRDs serve
LEASES = builtin_ref("leases")
CONFIGMAPS = builtin_ref("configmaps")
EVENTS = builtin_ref("events")
REPLICASETS = builtin_ref("replicasets")


def replication(name: str, **spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "sourceCluster": "source",
        "destinationCluster": "dr1",
        "sourceNamespace": "web",
        "schedule": "@every 10s",
    }
    base.update(spec)
    return {
        "apiVersion": "dr-syncer.io/v1alpha1",
        "kind": "Replication",
        "metadata": {"name": name, "namespace": NS},
        "spec": {k: v for k, v in base.items() if v is not None},
    }


@dataclass
class World:
    fleet: SimFleet
    controller: ClusterClient
    source: ClusterClient
    redis_url: str
    app: Celery
    store: ScheduleStore

    @property
    def replications(self) -> ResourceRef:
        return self.controller.resolve("replications.dr-syncer.io")

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        return self.controller.create(self.controller.ref_for(obj), NS, obj)

    def get(self, name: str) -> dict[str, Any] | None:
        return self.controller.get(self.replications, NS, name)

    def patch(self, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        return self.controller.patch(self.replications, NS, name, patch)

    def delete(self, name: str) -> None:
        self.controller.delete(self.replications, NS, name)

    def entries(self) -> set[str]:
        return self.store.names()

    def entry(self, name: str) -> RedBeatSchedulerEntry:
        """The entry exactly as beat loads it."""
        return RedBeatSchedulerEntry.from_key(self.store.key(name), app=self.app)

    def queued(self, queue: str = SYNC_QUEUE) -> list[dict[str, Any]]:
        """Task messages waiting in a Celery queue: task name and keyword arguments."""
        client = redis.Redis.from_url(self.redis_url)
        out = []
        for raw in client.lrange(queue, 0, -1):
            message = json.loads(raw)
            _args, kwargs, _embed = json.loads(base64.b64decode(message["body"]))
            out.append({"task": message["headers"]["task"], "kwargs": kwargs})
        return out

    def settings(self, **overrides: str) -> Settings:
        flags = {
            "redis_url": self.redis_url,
            "watch_namespace": NS,
            "lease_duration": "3",
            "resync_interval": "5",
            "health_check_interval": "1h",
            "identity": "watcher-a",
            **overrides,
        }
        return load_settings({}, flags, in_cluster_namespace=lambda: None)

    def client(self, name: str = "controller") -> ClusterClient:
        return client_from_kubeconfig(self.fleet["controller"].kubeconfig_dict(), name=name)


@pytest.fixture
def world(sim_fleet: Callable[..., SimFleet], redis_url: str) -> Iterator[World]:
    fleet = sim_fleet(["controller", "source"])
    controller = client_from_kubeconfig(fleet["controller"].kubeconfig_dict(), name="controller")
    source = client_from_kubeconfig(fleet["source"].kubeconfig_dict(), name="source")
    controller.create(NAMESPACES, None, {"metadata": {"name": NS}})
    for crd in all_crds():
        controller.create(CRDS, None, crd)
    kubeconfig = yaml.safe_dump(fleet["source"].kubeconfig_dict()).encode()
    controller.create(
        SECRETS,
        NS,
        {
            "metadata": {"name": "source-kubeconfig"},
            "data": {"kubeconfig": base64.b64encode(kubeconfig).decode()},
        },
    )
    # a CRD is served a moment after its create, as on kube-apiserver
    eventually(
        lambda: [controller.discovery.invalidate(), *map(controller.resolve, SERVED)],
        what="the CRDs to be served",
        tolerate=(AssertionError, CategorisedError),
    )
    for name in ("source", "dr1"):  # dr1: the destination `replication` names; only named, never reached
        controller.create(controller.resolve("remoteclusters.dr-syncer.io"), NS, remote_cluster(name, NS))
    for name, labels in (("web", {"team": "a"}), ("shop", {"team": "a"}), ("ops", {"team": "b"})):
        source.create(NAMESPACES, None, {"metadata": {"name": name, "labels": labels}})
    app = make_app(redis_url)
    yield World(fleet, controller, source, redis_url, app, ScheduleStore(app, NS))
    controller.close()
    source.close()


@dataclass
class RunningWatcher:
    """A watcher replica in a thread of this process."""

    service: WatcherService
    stop_event: threading.Event
    thread: threading.Thread

    def stop(self) -> None:
        """Shut down as on SIGTERM: the watcher stops and the Lease is released."""
        self.stop_event.set()
        self.thread.join(15)
        assert not self.thread.is_alive(), "a watcher did not stop"


@pytest.fixture
def start_watcher(world: World) -> Iterator[Callable[..., RunningWatcher]]:
    """Start a watcher replica in a thread; every one is stopped (Lease released) after the test."""
    running: list[RunningWatcher] = []

    def start(**overrides: str) -> RunningWatcher:
        settings = world.settings(**overrides)
        service = WatcherService(
            settings, world.client(settings.identity), world.app, watch_timeout_s=1, debounce_s=1.0
        )
        stop = threading.Event()
        thread = threading.Thread(
            target=service.run, args=(stop,), name=f"service-{settings.identity}", daemon=True
        )
        thread.start()
        running.append(RunningWatcher(service, stop, thread))
        return running[-1]

    yield start
    for item in running:
        item.stop_event.set()
    for item in running:
        item.stop()
    # informers end with their current watch request (watch_timeout_s); nothing may outlive the test
    eventually(
        lambda: not [t for t in threading.enumerate() if t.name.startswith("informer-")],
        timeout_s=10,
        what="the informer threads to end",
    )
    for item in running:
        item.service.controller.close()
