"""What the source cluster made or assigned stays out of the copies; the destination makes its own.

Instances of the kinds of the replayed cases 01 (values the source cluster assigned), 03 (objects
bound to the source cluster) and 06 (token Secrets the destination fills in), found on a real API
server: a Pod's claims made by controllers for it, a Pod's node and computed priority, a token
Secret moved to another ServiceAccount or naming a new namespace's `default` account, and the
scheduling directives of a suspended Job, which the API server lets change in place.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import pytest
from kubernetes import client as k8s

from drsyncer.api import keys
from drsyncer.sync.execute import Limits
from tests.fixtures.polling import eventually
from tests.integration.sync.conftest import Obj, World, counts_of, create, modify, read, rules, seed

CLAIM: Obj = {
    "apiVersion": "v1",
    "kind": "PersistentVolumeClaim",
    "metadata": {"name": "web-0-scratch"},
    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
}


def _pod(name: str, **spec: Any) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"containers": [{"name": "main", "image": "registry.example/app:1"}], **spec},
    }


def test_a_claim_made_for_a_pod_is_left_to_the_destination(world: World) -> None:
    seed(world, [_pod("web-0")])
    pod = read(world, "source", _pod("web-0"))
    assert pod is not None
    # what the ephemeral-volume controller makes for the Pod's generic ephemeral volume
    owner = {
        "apiVersion": "v1",
        "kind": "Pod",
        "name": "web-0",
        "uid": pod["metadata"]["uid"],
        "controller": True,
    }
    create(world, "source", {**CLAIM, "metadata": {**CLAIM["metadata"], "ownerReferences": [owner]}})

    (result,) = world.sync(rules(resourceTypes=["persistentvolumeclaims"]), destinations=("dr1",))

    assert read(world, "dr1", CLAIM) is None
    (skip,) = [s for s in result.skips if s.name == "web-0-scratch"]
    assert "owned by Pod web-0" in skip.reason
    assert world.writes("dr1") == 0


def test_a_pod_copy_leaves_its_node_and_priority_to_the_destination(world: World) -> None:
    # as the source's admission and scheduler left it: its class's priority, bound to a node
    pod = _pod("runner", priority=1000, preemptionPolicy="Never", nodeName="src-node-1")
    classes = f"batch-{uuid.uuid4().hex[:6]}"
    real = world.backend == "real"  # the simulator serves no PriorityClasses and has no admission
    if real:
        for cluster, value in (("source", 1000), ("dr1", 500)):
            k8s.SchedulingV1Api(world.stock[cluster]).create_priority_class(
                {"metadata": {"name": classes}, "value": value, "preemptionPolicy": "Never"}
            )
        pod["spec"]["priorityClassName"] = classes
    try:
        seed(world, [pod])

        (result,) = world.sync(rules(resourceTypes=["pods"]), destinations=("dr1",))

        assert result.errors == [] and counts_of(result) == {"created": 1}
        copy = read(world, "dr1", pod)
        assert copy is not None
        assert "nodeName" not in copy["spec"]
        if real:  # dr1's Priority admission plugin computed them from its own class
            assert copy["spec"]["priorityClassName"] == classes
            assert (copy["spec"]["priority"], copy["spec"]["preemptionPolicy"]) == (500, "Never")
        else:
            assert "priority" not in copy["spec"] and "preemptionPolicy" not in copy["spec"]

        # what the destination filled in is no change of the copy: a label and an image (which a Pod
        # may change in place) are updated, and a run after that writes nothing
        def relabel(obj: Obj) -> None:
            obj["metadata"]["labels"]["team"] = "a"
            obj["spec"]["containers"][0]["image"] = "registry.example/app:2"

        modify(world, "source", pod, relabel)
        (result,) = world.sync(rules(resourceTypes=["pods"]), destinations=("dr1",))
        assert counts_of(result) == {"updated": 1} and result.skips == [], result.warnings
        after = read(world, "dr1", pod)
        assert after is not None and after["metadata"]["uid"] == copy["metadata"]["uid"]
        assert after["metadata"]["labels"]["team"] == "a"
        assert after["spec"]["containers"][0]["image"] == "registry.example/app:2"
        world.reset_counters()
        world.sync(rules(resourceTypes=["pods"]), destinations=("dr1",))
        assert world.writes("dr1") == 0
    finally:
        if real:
            for cluster in ("source", "dr1"):
                k8s.SchedulingV1Api(world.stock[cluster]).delete_priority_class(classes)


def test_container_resources_the_destinations_limit_range_gave_a_pod_copy_are_kept_by_its_update(
    world: World,
) -> None:
    if world.backend != "real":
        pytest.skip("the simulator has no LimitRanger admission")
    pod = _pod("runner")
    seed(world, [pod])
    # the DR namespace's own policy: containers stating no resources get these on create
    k8s.CoreV1Api(world.stock["dr1"]).create_namespace({"metadata": {"name": world.ns}})
    defaults = {"limits": {"cpu": "500m", "memory": "512Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}}
    limits = {"type": "Container", "default": defaults["limits"], "defaultRequest": defaults["requests"]}
    k8s.CoreV1Api(world.stock["dr1"]).create_namespaced_limit_range(
        world.ns, {"metadata": {"name": "dr"}, "spec": {"limits": [limits]}}
    )
    sync_rules = rules(resourceTypes=["pods"])
    world.sync(sync_rules, destinations=("dr1",))
    copy = read(world, "dr1", pod)
    assert copy is not None and copy["spec"]["containers"][0]["resources"] == defaults

    # an image, which a Pod may change in place, arrives; the resources LimitRanger gave stay
    modify(
        world, "source", pod, lambda obj: obj["spec"]["containers"][0].update(image="registry.example/app:2")
    )
    (result,) = world.sync(sync_rules, destinations=("dr1",))

    assert counts_of(result) == {"updated": 1} and result.skips == [], [s.reason for s in result.skips]
    after = read(world, "dr1", pod)
    assert after is not None and after["metadata"]["uid"] == copy["metadata"]["uid"]
    assert after["spec"]["containers"][0]["image"] == "registry.example/app:2"
    assert after["spec"]["containers"][0]["resources"] == defaults
    world.reset_counters()
    world.sync(sync_rules, destinations=("dr1",))
    assert world.writes("dr1") == 0


def test_a_suspended_jobs_scheduling_directives_change_in_place(world: World) -> None:
    job: Obj = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "migrate"},
        "spec": {
            "suspend": True,
            "template": {
                "metadata": {"labels": {"app": "migrate"}},
                "spec": {
                    "restartPolicy": "Never",
                    "nodeSelector": {"pool": "a"},
                    "containers": [{"name": "m", "image": "registry.example/migrate:1"}],
                },
            },
        },
    }
    seed(world, [job])
    sync_rules = rules(resourceTypes=["jobs"])
    world.sync(sync_rules, destinations=("dr1",))
    before = read(world, "dr1", job)
    assert before is not None
    # an in-place change the source's API server accepts while the Job is suspended and never started
    k8s.BatchV1Api(world.stock["source"]).patch_namespaced_job(
        "migrate",
        world.ns,
        {
            "spec": {
                "template": {
                    "metadata": {"labels": {"tier": "batch"}},
                    "spec": {"nodeSelector": {"pool": "b"}},
                }
            }
        },
    )

    (result,) = world.sync(sync_rules, destinations=("dr1",))

    assert counts_of(result) == {"updated": 1} and result.skips == [], result.warnings
    after = read(world, "dr1", job)
    assert after is not None and after["metadata"]["uid"] == before["metadata"]["uid"]  # not recreated
    assert after["spec"]["template"]["spec"]["nodeSelector"] == {"pool": "b"}
    assert after["spec"]["template"]["metadata"]["labels"]["tier"] == "batch"
    world.reset_counters()
    world.sync(sync_rules, destinations=("dr1",))
    assert world.writes("dr1") == 0


def _token_secret(name: str, account: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": keys.SECRET_TYPE_SA_TOKEN,
        "metadata": {"name": name, "annotations": {keys.ANNOTATION_SA_NAME: account}},
    }


def _account(name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}}


def _issued_for(world: World, cluster: str, secret: str, account: str, namespace: str) -> bool:
    """The token controller of `cluster` filled `secret` in for `account` (on the simulator, which has
    none: the Secret names the account and carries no other account's uid)."""
    got = world.get(cluster, f"/api/v1/namespaces/{namespace}/secrets/{secret}")
    if got is None:
        return False
    annotations = got["metadata"].get("annotations") or {}
    if annotations.get(keys.ANNOTATION_SA_NAME) != account:
        return False
    account_uid = (
        (world.get(cluster, f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}") or {})
        .get("metadata", {})
        .get("uid")
    )
    if world.backend == "sim":
        return annotations.get(keys.ANNOTATION_SA_UID) in (None, account_uid)
    return annotations.get(keys.ANNOTATION_SA_UID) == account_uid and "token" in (got.get("data") or {})


def test_a_token_secret_moved_to_another_account_gets_that_accounts_token_in_one_run(world: World) -> None:
    seed(world, [_account("builder"), _account("deployer"), _token_secret("ci-token", "builder")])
    sync_rules = rules(resourceTypes=["serviceaccounts", "secrets"])
    world.sync(sync_rules, destinations=("dr1",))
    eventually(
        lambda: _issued_for(world, "dr1", "ci-token", "builder", world.ns), 30, "builder's token in dr1"
    )
    # moved to another account: a token Secret's account is changed by deleting and creating it
    world.call("source", "DELETE", f"/api/v1/namespaces/{world.ns}/secrets/ci-token")
    create(world, "source", _token_secret("ci-token", "deployer"))

    (result,) = world.sync(sync_rules, destinations=("dr1",))

    assert result.errors == [] and counts_of(result).get("updated") == 1
    # the copy is not deleted by dr1's token controller, and holds deployer's token
    eventually(
        lambda: _issued_for(world, "dr1", "ci-token", "deployer", world.ns), 30, "deployer's token in dr1"
    )


def test_a_token_secret_of_a_new_namespaces_default_account_waits_for_the_account(world: World) -> None:
    seed(world, [])
    if world.backend == "real":
        # a token Secret naming an account not there yet is deleted by the source's token controller
        eventually(
            lambda: world.get("source", f"/api/v1/namespaces/{world.ns}/serviceaccounts/default"),
            30,
            "the source namespace's default account",
        )
    seed(world, [_token_secret("default-long-lived", "default")])
    eventually(
        lambda: _issued_for(world, "source", "default-long-lived", "default", world.ns),
        30,
        "the source's token",
    )
    new = f"{world.ns}-new"

    (result,) = world.sync(rules(resourceTypes=["secrets"]), destinations=("dr1",), dest_ns=new)

    assert result.errors == [] and counts_of(result).get("created") == 1
    # the copy was written once `default` existed, so dr1's token controller fills it in, not deletes it
    eventually(
        lambda: _issued_for(world, "dr1", "default-long-lived", "default", new), 30, "the token in dr1"
    )


def test_a_token_secret_whose_account_never_appears_is_skipped_saying_so(world: World) -> None:
    if world.backend == "real":
        pytest.skip("kube-controller-manager makes a namespace's `default` account again at once")
    seed(world, [_token_secret("default-long-lived", "default")])
    # a destination namespace whose `default` account is gone (deleted, or not made yet)
    world.core("dr1").create_namespace({"metadata": {"name": world.ns}})
    eventually(
        lambda: world.get("dr1", f"/api/v1/namespaces/{world.ns}/serviceaccounts/default"),
        30,
        "default in dr1",
    )
    world.call("dr1", "DELETE", f"/api/v1/namespaces/{world.ns}/serviceaccounts/default")

    (result,) = world.sync(
        rules(resourceTypes=["secrets"]),
        destinations=("dr1",),
        limits=replace(Limits(), service_account_timeout_s=0.3),
    )

    assert read(world, "dr1", _token_secret("default-long-lived", "default")) is None
    (skip,) = [s for s in result.skips if s.name == "default-long-lived"]
    assert "ServiceAccount default does not exist in the destination namespace" in skip.reason
    assert "the next sync writes it" in skip.reason
