"""The audit log: a sync records exactly one line per write it makes, with who and what, and never a
Secret's data or a cluster's token."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from drsyncer.kube import ClusterClient, audit, client_from_kubeconfig
from drsyncer.kube.client import NAMESPACES
from drsyncer.sim import SimCluster, SimFleet
from drsyncer.sync.namespace_sync import Destination, sync_namespace
from tests.integration.sync.conftest import FAST_RETRY, rules

SOURCE_NS = "shop"
SECRET_VALUE = "s3cr3t-audit-value"
ACTOR = audit.Actor(replication="Replication dr-system/shop", run="run-42", task="task-7", component="worker")


@dataclass
class World:
    """Simulated clusters behind tokens, a drsyncer client and a stock client for each."""

    fleet: SimFleet
    clients: dict[str, ClusterClient]
    stock: dict[str, Any]

    def sim(self, name: str) -> SimCluster:
        return self.fleet[name]


@pytest.fixture
def world(sim_fleet: Any) -> Iterator[World]:
    """The sync tests' clusters, each behind a bearer token (so a leaked token could be seen)."""
    fleet: SimFleet = sim_fleet(["source", "dr1", "dr2"], token=True)
    clients = {
        c.name: client_from_kubeconfig(c.kubeconfig_dict(), name=c.name, retry=FAST_RETRY) for c in fleet
    }
    stock = {c.name: c.api_client() for c in fleet}
    yield World(fleet, clients, stock)
    for c in clients.values():
        c.close()
    for s in stock.values():
        s.close()


def _objects() -> list[dict[str, Any]]:
    encoded = base64.b64encode(SECRET_VALUE.encode()).decode()
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"mode": "dr"}},
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "creds"},
            "type": "Opaque",
            "data": {"password": encoded},
        },
    ]


def _seed(world: World) -> None:
    source = world.clients["source"]
    source.create(NAMESPACES, None, {"metadata": {"name": SOURCE_NS}})
    for obj in _objects():
        source.create(source.ref_for(obj), SOURCE_NS, obj)


def _audit_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == audit.AUDIT_LOGGER]


def _sync(world: World, *, prune: bool = False) -> None:
    with audit.acting_for(ACTOR):
        destinations = [Destination(world.clients[d], SOURCE_NS) for d in ("dr1", "dr2")]
        sync_namespace(
            world.clients["source"],
            destinations,
            rules(resourceTypes=["configmaps", "secrets"], syncCRDs=False, pruneDeleted=prune),
            source_namespace=SOURCE_NS,
        )


def _what(lines: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    return {(x["cluster"], x["verb"], x["kind"], x["namespace"], x["name"], x["outcome"]) for x in lines}


def _assert_no_secrets(world: World, caplog: pytest.LogCaptureFixture) -> None:
    text = "\n".join(r.getMessage() for r in caplog.records if r.name == audit.AUDIT_LOGGER)
    encoded = base64.b64encode(SECRET_VALUE.encode()).decode()
    for secret in (SECRET_VALUE, encoded, *(c.token for c in world.fleet if c.token)):
        assert secret not in text


def test_a_sync_records_one_audit_line_per_write_with_who_and_what(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    _seed(world)
    caplog.set_level("INFO", logger=audit.AUDIT_LOGGER)
    _sync(world)
    lines = _audit_lines(caplog)
    expected = {
        (cluster, "create", kind, namespace, name, "success")
        for cluster in ("dr1", "dr2")
        for kind, namespace, name in (
            ("Namespace", None, SOURCE_NS),
            ("Secret", SOURCE_NS, "creds"),
            ("ConfigMap", SOURCE_NS, "settings"),
        )
    }
    assert len(lines) == len(expected) and _what(lines) == expected
    assert all(
        x["actor"]
        == {
            "replication": "Replication dr-system/shop",
            "run": "run-42",
            "task": "task-7",
            "component": "worker",
        }
        for x in lines
    )
    assert all(x["code"] == 201 and x["dryRun"] is False for x in lines)
    _assert_no_secrets(world, caplog)

    caplog.clear()
    _sync(world)
    assert _audit_lines(caplog) == [], "a resync of an unchanged namespace writes, and records, nothing"


def test_updates_prunes_and_failed_writes_are_recorded_with_their_outcome(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    _seed(world)
    _sync(world, prune=True)
    source = world.clients["source"]
    configmaps = source.resolve("configmaps")
    source.patch(configmaps, SOURCE_NS, "settings", {"data": {"mode": "changed"}})
    source.delete(source.resolve("secrets"), SOURCE_NS, "creds")
    world.sim("dr2").faults.set(error_rates={"update": {500: 1.0}, "patch": {500: 1.0}})
    caplog.set_level("INFO", logger=audit.AUDIT_LOGGER)
    try:
        _sync(world, prune=True)
    finally:
        world.sim("dr2").faults.clear()
    lines = _audit_lines(caplog)
    what = _what(lines)
    assert ("dr1", "delete", "Secret", SOURCE_NS, "creds", "success") in what
    assert ("dr2", "delete", "Secret", SOURCE_NS, "creds", "success") in what
    dr1_update = [x for x in lines if x["cluster"] == "dr1" and x["name"] == "settings"]
    assert [(x["verb"], x["outcome"]) for x in dr1_update] in (
        [("update", "success")],
        [("patch", "success")],
    )
    # retried (500 is retryable) and failed every time: one line
    dr2_update = [x for x in lines if x["cluster"] == "dr2" and x["name"] == "settings"]
    assert len(dr2_update) == 1 and all(x["outcome"] == "error" and x["code"] == 500 for x in dr2_update)
    assert len(lines) == len(what), "a write is recorded once, however often it was retried"
    _assert_no_secrets(world, caplog)
