"""`drsyncer failover` and `failback` against the simulator and a real API server: the copies a sync
left in standby come up, a repeat writes nothing, failback restores exactly what the sync wrote (the
next sync finds nothing to do)."""

from __future__ import annotations

import pytest
from kubernetes import client as k8s

from drsyncer.api import keys
from drsyncer.cli import main
from tests.integration.cases.sync_driver import drsyncer_sync, writes_nothing
from tests.integration.sync.test_standby_and_references import (
    KINDS,
    WORKLOAD_TYPES,
    _create,
    _running,
    _workloads,
)


def test_failover_brings_a_synced_standby_up_and_failback_puts_it_back(
    kube, capsys: pytest.CaptureFixture[str]
) -> None:
    world = kube(["src", "dst"])
    namespace = "failover-kube"
    _create(world, namespace, _workloads())
    sync = ("--namespace", namespace, "--types", WORKLOAD_TYPES)
    drsyncer_sync(world, *sync)
    assert _running(world, namespace) == dict.fromkeys(KINDS, False)
    command = ["--kubeconfig", str(world.kubeconfig), "-n", namespace]

    # no kubelet or workload controllers here: --wait says what never became ready, and fails
    assert main(["failover", "--to", "dst", *command, "--wait", "--timeout", "1"]) == 1
    out = capsys.readouterr().out
    assert f"Deployment {namespace}/web" in out.split("still starting after 1s:")[1]
    row = next(line.split() for line in out.splitlines() if line.split()[:1] == [namespace])
    assert row == [namespace, "4", "4", "0", "0", "0"]
    assert _running(world, namespace) == dict.fromkeys(KINDS, True)
    deployment = k8s.AppsV1Api(world.api("dst")).read_namespaced_deployment("web", namespace)
    assert deployment.spec.replicas == 2
    daemonset = k8s.AppsV1Api(world.api("dst")).read_namespaced_daemon_set("agent", namespace)
    assert daemonset.spec.template.spec.node_selector == {"disk": "ssd"}

    with writes_nothing(world, namespace):
        assert main(["failover", "--to", "dst", *command]) == 0
    assert "nothing changed, all 4 standby workloads already up" in capsys.readouterr().out

    assert main(["failback", "--from", "dst", *command]) == 0
    assert _running(world, namespace) == dict.fromkeys(KINDS, False)
    daemonset = k8s.AppsV1Api(world.api("dst")).read_namespaced_daemon_set("agent", namespace)
    assert keys.ANNOTATION_FAILOVER_STANDBY not in (daemonset.metadata.annotations or {})
    with writes_nothing(world, namespace):  # the copies are again exactly what the sync wrote
        drsyncer_sync(world, *sync)
