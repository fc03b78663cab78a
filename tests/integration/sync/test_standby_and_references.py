"""`drsyncer sync` on the simulator and a real control plane: standby copies of every workload kind
start nothing and come up with `--no-scale-to-zero`; namespace references follow a namespace mapping.
"""

from __future__ import annotations

import json
from typing import Any

from kubernetes import client as k8s
from kubernetes import utils

from drsyncer.api import keys
from tests.fixtures.backends import World
from tests.integration.cases.sync_driver import drsyncer_sync, writes_nothing

POD = {"containers": [{"name": "c", "image": "registry.example/app:1"}]}
WORKLOAD_TYPES = "daemonsets,jobs,cronjobs,deployments"
KINDS = ("DaemonSet", "Job", "CronJob", "Deployment")


def _create(world: World, namespace: str, docs: list[dict[str, Any]]) -> None:
    k8s.CoreV1Api(world.api("src")).create_namespace({"metadata": {"name": namespace}})
    placed = [{**d, "metadata": {**d["metadata"], "namespace": namespace}} for d in docs]
    utils.create_from_yaml(world.api("src"), yaml_objects=placed)


def _workloads() -> list[dict[str, Any]]:
    labels = {"app": "agent"}
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": "agent"},
            "spec": {
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {**POD, "nodeSelector": {"disk": "ssd"}},
                },
            },
        },
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "migrate"},
            "spec": {"template": {"spec": {**POD, "restartPolicy": "Never"}}},
        },
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": "report"},
            "spec": {
                "schedule": "0 * * * *",
                "jobTemplate": {"spec": {"template": {"spec": {**POD, "restartPolicy": "Never"}}}},
            },
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": POD},
            },
        },
    ]


def _running(world: World, namespace: str) -> dict[str, bool]:
    """Per workload: would the destination start its Pods?"""
    apps, batch = k8s.AppsV1Api(world.api("dst")), k8s.BatchV1Api(world.api("dst"))
    node_selector = apps.read_namespaced_daemon_set("agent", namespace).spec.template.spec.node_selector
    return {
        "DaemonSet": keys.LABEL_STANDBY_NODE not in (node_selector or {}),
        "Job": not batch.read_namespaced_job("migrate", namespace).spec.suspend,
        "CronJob": not batch.read_namespaced_cron_job("report", namespace).spec.suspend,
        "Deployment": bool(apps.read_namespaced_deployment("web", namespace).spec.replicas),
    }


def test_standby_copies_start_nothing_and_come_up_without_scale_to_zero(kube) -> None:
    world = kube(["src", "dst"])
    _create(world, "standby", _workloads())
    args = ("--namespace", "standby", "--types", WORKLOAD_TYPES)

    drsyncer_sync(world, *args)

    assert _running(world, "standby") == dict.fromkeys(KINDS, False)
    daemonset = k8s.AppsV1Api(world.api("dst")).read_namespaced_daemon_set("agent", "standby")
    recorded = daemonset.metadata.annotations[keys.ANNOTATION_ORIGINAL_NODE_SELECTOR]
    assert json.loads(recorded) == {"disk": "ssd"}
    job = k8s.BatchV1Api(world.api("dst")).read_namespaced_job("migrate", "standby")
    assert job.metadata.annotations[keys.ANNOTATION_ORIGINAL_SUSPEND] == "false"
    with writes_nothing(world, "standby"):
        drsyncer_sync(world, *args)

    # failing over: the same copies, run as the source runs them
    drsyncer_sync(world, *args, "--no-scale-to-zero")

    assert _running(world, "standby") == dict.fromkeys(KINDS, True)
    daemonset = k8s.AppsV1Api(world.api("dst")).read_namespaced_daemon_set("agent", "standby")
    assert daemonset.spec.template.spec.node_selector == {"disk": "ssd"}


def test_namespace_references_follow_the_mapping(kube) -> None:
    world = kube(["src", "dst"])
    term = {
        "labelSelector": {"matchLabels": {"app": "cache"}},
        "topologyKey": "topology.kubernetes.io/zone",
        "namespaces": ["refs", "elsewhere"],
    }
    _create(
        world,
        "refs",
        [
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "db"},
                "spec": {"type": "ExternalName", "externalName": "db-primary.refs.svc.cluster.local"},
            },
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": {"name": "from-self"},
                "spec": {
                    "podSelector": {},
                    "ingress": [
                        {
                            "from": [
                                {
                                    "namespaceSelector": {
                                        "matchLabels": {"kubernetes.io/metadata.name": "refs"}
                                    }
                                },
                                {
                                    "namespaceSelector": {
                                        "matchLabels": {"kubernetes.io/metadata.name": "elsewhere"}
                                    }
                                },
                            ]
                        }
                    ],
                },
            },
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "web"},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": {"app": "web"}},
                    "template": {
                        "metadata": {"labels": {"app": "web"}},
                        "spec": {
                            **POD,
                            "affinity": {
                                "podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}
                            },
                        },
                    },
                },
            },
        ],
    )
    args = ("--namespace", "refs:refs-dr", "--types", "services,networkpolicies,deployments")

    drsyncer_sync(world, *args)

    service = k8s.CoreV1Api(world.api("dst")).read_namespaced_service("db", "refs-dr")
    assert service.spec.external_name == "db-primary.refs-dr.svc.cluster.local"
    policy = k8s.NetworkingV1Api(world.api("dst")).read_namespaced_network_policy("from-self", "refs-dr")
    peers = [
        p.namespace_selector.match_labels["kubernetes.io/metadata.name"] for p in policy.spec.ingress[0]._from
    ]
    assert peers == ["refs-dr", "elsewhere"]
    deployment = k8s.AppsV1Api(world.api("dst")).read_namespaced_deployment("web", "refs-dr")
    affinity = deployment.spec.template.spec.affinity.pod_affinity
    required = affinity.required_during_scheduling_ignored_during_execution[0]
    assert required.namespaces == ["refs-dr", "elsewhere"]
    with writes_nothing(world, "refs-dr"):
        drsyncer_sync(world, *args)
