"""A simulated controller cluster holding RemoteClusters and Replications, a source and a DR cluster,
and a kubeconfig file for them: what the operator commands are pointed at."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from drsyncer.api.crds import all_crds
from drsyncer.demo.sample import single_context_kubeconfig
from drsyncer.errors import CategorisedError
from drsyncer.kube import ClusterClient, client_from_kubeconfig_file
from drsyncer.kube.discovery import ResourceRef
from drsyncer.sim import SimFleet
from tests.fixtures.polling import builtin_ref, eventually
from tests.fixtures.remote_clusters import remote_cluster

NS = "dr-system"


NAMESPACES = builtin_ref("namespaces")
SECRETS = builtin_ref("secrets")
CRDS = builtin_ref("customresourcedefinitions")
CONFIGMAPS = builtin_ref("configmaps")
DEPLOYMENTS = builtin_ref("deployments")


def replication(name: str, **spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "sourceCluster": "source",
        "destinationCluster": "dr1",
        "sourceNamespace": "shop",
        "schedule": "*/5 * * * *",
    }
    base.update(spec)
    return {
        "apiVersion": "dr-syncer.io/v1alpha1",
        "kind": "Replication",
        "metadata": {"name": name, "namespace": NS},
        "spec": base,
    }


@dataclass
class Controller:
    fleet: SimFleet
    kubeconfig: Path
    clients: dict[str, ClusterClient]

    @property
    def flags(self) -> list[str]:
        return ["--kubeconfig", str(self.kubeconfig), "--context", "controller", "-n", NS]

    def client(self, name: str = "controller") -> ClusterClient:
        return self.clients[name]

    @property
    def replications(self) -> ResourceRef:
        return self.clients["controller"].resolve("replications.dr-syncer.io")

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        client = self.clients["controller"]
        return client.create(client.ref_for(obj), obj["metadata"].get("namespace"), obj)

    def get(self, name: str) -> dict[str, Any] | None:
        return self.clients["controller"].get(self.replications, NS, name)

    def write_status(self, name: str, status: dict[str, Any]) -> None:
        self.clients["controller"].patch(
            self.replications, NS, name, {"status": status}, subresource="status"
        )


@pytest.fixture(autouse=True)
def _no_controller_settings_from_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    # the commands default to these; a developer's shell must not change what a test reads
    for name in ("DRSYNCER_KUBECONFIG", "DRSYNCER_KUBE_CONTEXT", "DRSYNCER_WATCH_NAMESPACE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def controller(sim_fleet: Callable[..., SimFleet], tmp_path: Path) -> Iterator[Controller]:
    fleet = sim_fleet(["controller", "source", "dr1"])
    kubeconfig = fleet.write_kubeconfig(tmp_path / "kubeconfig")
    clients = {
        name: client_from_kubeconfig_file(kubeconfig, context=name, name=name)
        for name in ("controller", "source", "dr1")
    }
    ctl = clients["controller"]
    for crd in all_crds():
        ctl.create(CRDS, None, crd)
    ctl.create(NAMESPACES, None, {"metadata": {"name": NS}})
    # every CRD is served a moment after its create (as on kube-apiserver), each on its own
    served = [c["metadata"]["name"] for c in all_crds()]
    eventually(
        lambda: [ctl.discovery.invalidate(), *map(ctl.resolve, served)],
        what="the dr-syncer.io CRDs to be served",
        tolerate=(AssertionError, CategorisedError),
    )
    merged = yaml.safe_load(kubeconfig.read_text())
    for name in ("source", "dr1"):
        text = yaml.safe_dump(single_context_kubeconfig(merged, name)).encode()
        ctl.create(
            SECRETS,
            NS,
            {
                "metadata": {"name": f"{name}-kubeconfig"},
                "data": {"kubeconfig": base64.b64encode(text).decode()},
            },
        )
        ctl.create(ctl.resolve("remoteclusters.dr-syncer.io"), NS, remote_cluster(name, NS))
    source = clients["source"]
    source.create(NAMESPACES, None, {"metadata": {"name": "shop"}})
    for i in range(3):
        source.create(CONFIGMAPS, "shop", {"metadata": {"name": f"settings-{i}"}, "data": {"i": str(i)}})
    source.create(
        DEPLOYMENTS,
        "shop",
        {
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": "nginx"}]},
                },
            },
        },
    )
    yield Controller(fleet, kubeconfig, clients)
    for client in clients.values():
        client.close()
