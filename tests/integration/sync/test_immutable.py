"""Changes to fields the API server will not change in place, handled per `immutableResourceConfig`."""

from __future__ import annotations

import copy
import dataclasses
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from kubernetes import client as k8s

from drsyncer.api import keys
from drsyncer.sync.execute import execute
from drsyncer.sync.namespace_sync import read_destination, read_source
from drsyncer.sync.plan import Op, plan
from drsyncer.sync.result import Phase, TargetResult
from drsyncer.sync.rules import Rules
from tests.fixtures.polling import eventually
from tests.integration.sync.conftest import Obj, World, counts_of, create, modify, read, recreate, rules, seed

DEPLOYMENT: Obj = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "labels": {"app": "web"}},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "main", "image": "nginx:1.25"}]},
        },
    },
}
CLAIM: Obj = {
    "apiVersion": "v1",
    "kind": "PersistentVolumeClaim",
    "metadata": {"name": "data"},
    "spec": {
        "accessModes": ["ReadWriteOnce"],
        "storageClassName": "fast",
        "resources": {"requests": {"storage": "1Gi"}},
    },
}


def new_selector(deployment: Obj) -> None:
    deployment["spec"]["selector"] = {"matchLabels": {"app": "web", "track": "blue"}}
    deployment["spec"]["template"]["metadata"]["labels"]["track"] = "blue"


@dataclass
class Change:
    before: Obj  # the copy in dr1 before the change
    after: Obj  # ... and after the sync that followed the change
    result: TargetResult
    rules: Rules


def change_and_sync(
    world: World,
    handling_spec: dict[str, Any],
    change: Any,
    template: Obj = DEPLOYMENT,
    labels: dict[str, str] | None = None,
    between: Callable[[], None] | None = None,
) -> Change:
    """Copy `template` to dr1, change it in the source with `change(obj)` (deleting and recreating it,
    as the changes are to immutable fields), and sync again with `handling_spec` as the
    `immutableResourceConfig`. `between()` runs after the first sync."""
    obj = {
        **template,
        "metadata": {
            **template["metadata"],
            "labels": {**template["metadata"].get("labels", {}), **(labels or {})},
        },
    }
    seed(world, [obj])
    types = ["deployments", "persistentvolumeclaims"]
    sync_rules = rules(resourceTypes=types, syncCRDs=False, immutableResourceConfig=handling_spec)
    world.sync(sync_rules, destinations=("dr1",))
    before = read(world, "dr1", template)
    if between is not None:
        between()
    recreate(world, "source", template, change)
    world.reset_counters()
    result = world.sync(sync_rules, destinations=("dr1",))[0]
    after = read(world, "dr1", template)
    assert before is not None and after is not None
    return Change(before, after, result, sync_rules)


def test_no_change_reports_the_selector_change_and_writes_nothing(world: World) -> None:
    c = change_and_sync(world, {}, new_selector)

    assert c.result.phase == Phase.COMPLETED and counts_of(c.result) == {"skipped": 1, "held_back": 1}
    (held,) = c.result.skips
    assert held.held_back and held.fields == ("spec.selector",) and held.name == "web"
    assert any(
        "immutable field(s) spec.selector changed; handling NoChange (the default; label dr-syncer.io/immutable-handling or spec.immutableResourceConfig chooses another)"
        in w
        for w in c.result.warnings
    ), c.result.warnings
    assert world.writes("dr1") == 0
    assert c.after["metadata"]["resourceVersion"] == c.before["metadata"]["resourceVersion"]


def test_recreate_replaces_the_deployment(world: World) -> None:
    c = change_and_sync(world, {"defaultHandling": "Recreate"}, new_selector)

    assert c.result.phase == Phase.COMPLETED and counts_of(c.result) == {"updated": 1}
    assert c.after["metadata"]["uid"] != c.before["metadata"]["uid"]
    assert c.after["spec"]["selector"] == {"matchLabels": {"app": "web", "track": "blue"}}
    assert c.after["spec"]["replicas"] == 0
    assert world.verbs("dr1") == {"DELETE": 1, "POST": 2}  # the dry-run create, the delete, the create
    assert any("Recreate" in w and "recreated" in w for w in c.result.warnings)


@pytest.mark.parametrize("handling", ["ForceUpdate", "RecreateWithPodDrain"])
def test_force_update_and_recreate_with_drain_replace_the_deployment(world: World, handling: str) -> None:
    c = change_and_sync(world, {"defaultHandling": handling}, new_selector)

    assert counts_of(c.result) == {"updated": 1}
    assert c.after["metadata"]["uid"] != c.before["metadata"]["uid"]
    assert c.after["spec"]["selector"]["matchLabels"]["track"] == "blue"


def pod(name: str, app: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": app}},
        "spec": {"containers": [{"name": "main", "image": "nginx:1.25"}]},
    }


@pytest.mark.parametrize(("handling", "evicted"), [("Recreate", False), ("RecreateWithPodDrain", True)])
def test_recreate_with_pod_drain_evicts_the_old_workloads_pods_first(
    world: World, handling: str, evicted: bool
) -> None:
    pods = [pod("web-1", "web"), pod("web-2", "web"), pod("other", "other")]

    def pods_in_dr1() -> None:
        if world.get("dr1", f"/api/v1/namespaces/{world.ns}/pods") is None:
            pytest.skip("this cluster serves no Pods")
        # nothing here runs a ReplicaSet: the copy's Pods are made by hand, with its labels
        for p in pods:
            create(world, "dr1", p)

    c = change_and_sync(world, {"defaultHandling": handling}, new_selector, between=pods_in_dr1)

    assert counts_of(c.result) == {"updated": 1}
    assert c.after["metadata"]["uid"] != c.before["metadata"]["uid"]
    left = {p["metadata"]["name"] for p in pods if read(world, "dr1", p) is not None}
    if evicted:  # an eviction of a Pod that is on no node deletes it at once
        assert left == {"other"}
        # the dry-run create, two evictions, the delete, the create
        assert world.verbs("dr1") == {"POST": 4, "DELETE": 1}
    else:
        assert left == {"web-1", "web-2", "other"}
        assert world.verbs("dr1") == {"POST": 2, "DELETE": 1}


def test_partial_update_keeps_the_selector_and_updates_the_rest(world: World) -> None:
    def selector_and_image(deployment: Obj) -> None:
        new_selector(deployment)
        deployment["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.27"

    c = change_and_sync(world, {"defaultHandling": "PartialUpdate"}, selector_and_image)

    assert counts_of(c.result) == {"updated": 1}
    assert c.after["metadata"]["uid"] == c.before["metadata"]["uid"]
    assert c.after["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    assert c.after["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    # the new hash is recorded, so the held-back selector is not reported (or written) again
    world.reset_counters()
    again = world.sync(c.rules, destinations=("dr1",))[0]
    assert counts_of(again) == {"unchanged": 1} and world.writes("dr1") == 0


def test_a_partial_update_the_kept_fields_make_invalid_is_held_back_with_the_servers_reason(
    world: World,
) -> None:
    # the selector narrowed: kept as the destination has it ({app, track}), it no longer matches the
    # new template labels ({app}), so the API server refuses the partial body whatever else it holds
    labelled = copy.deepcopy(DEPLOYMENT)
    new_selector(labelled)

    def narrowed(deployment: Obj) -> None:
        deployment["spec"]["selector"] = {"matchLabels": {"app": "web"}}
        deployment["spec"]["template"]["metadata"]["labels"] = {"app": "web"}
        deployment["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.27"

    c = change_and_sync(world, {"defaultHandling": "PartialUpdate"}, narrowed, template=labelled)

    assert c.result.phase == Phase.COMPLETED and counts_of(c.result) == {"skipped": 1, "held_back": 1}
    (held,) = c.result.skips
    assert held.held_back and held.fields == ("spec.selector",)
    assert held.reason.startswith(
        "held back: immutable field(s) spec.selector changed; handling PartialUpdate (the default; "
    )
    assert (
        "; PartialUpdate impossible: with spec.selector kept as the destination has them, the API server "
        'refuses the rest (Deployment.apps "web" is invalid: spec.template.metadata.labels: Invalid value: '
        '{"app":"web"}: `selector` does not match template `labels`); handling Recreate applies the change '
        "whole"
    ) in held.reason
    assert c.after["metadata"]["resourceVersion"] == c.before["metadata"]["resourceVersion"]
    assert c.after["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25"
    # every run says so again (its update is refused again), none fails
    again = world.sync(c.rules, destinations=("dr1",))[0]
    assert again.phase == Phase.COMPLETED and counts_of(again) == {"skipped": 1, "held_back": 1}

    # Recreate applies the change whole
    recreate_rules = rules(
        resourceTypes=["deployments"], syncCRDs=False, immutableResourceConfig={"defaultHandling": "Recreate"}
    )
    assert counts_of(world.sync(recreate_rules, destinations=("dr1",))[0]) == {"updated": 1}
    assert (read(world, "dr1", DEPLOYMENT) or {})["spec"]["selector"] == {"matchLabels": {"app": "web"}}


def test_the_immutable_handling_label_overrides_the_default(world: World) -> None:
    c = change_and_sync(
        world,
        {"defaultHandling": "NoChange"},
        new_selector,
        labels={keys.LABEL_IMMUTABLE_HANDLING: "recreate"},
    )

    assert counts_of(c.result) == {"updated": 1}
    assert c.after["metadata"]["uid"] != c.before["metadata"]["uid"]
    assert any(
        "handling Recreate (from label dr-syncer.io/immutable-handling)" in w for w in c.result.warnings
    ), c.result.warnings


def change_class(claim: Obj) -> None:
    claim["spec"]["storageClassName"] = "slow"


def test_an_eviction_a_disruption_budget_refuses_leaves_the_workload_in_place(world: World) -> None:
    web = pod("web-1", "web")

    def guarded_pod_in_dr1() -> None:
        if world.get("dr1", f"/api/v1/namespaces/{world.ns}/pods") is None:
            pytest.skip("this cluster serves no Pods")
        create(world, "dr1", web)
        # a Pending Pod may always be evicted: this one reports Running and Ready, as a kubelet would,
        # and the budget reports what the disruption controller would (no disruption allowed)
        world.core("dr1").patch_namespaced_pod_status(
            "web-1",
            world.ns,
            {"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}},
        )
        policy = k8s.PolicyV1Api(world.stock["dr1"])
        policy.create_namespaced_pod_disruption_budget(
            world.ns,
            {
                "metadata": {"name": "keep-one"},
                "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}},
            },
        )
        policy.patch_namespaced_pod_disruption_budget_status(
            "keep-one",
            world.ns,
            {
                "status": {
                    "observedGeneration": 1,
                    "disruptionsAllowed": 0,
                    "currentHealthy": 1,
                    "desiredHealthy": 1,
                    "expectedPods": 1,
                }
            },
        )

    c = change_and_sync(
        world, {"defaultHandling": "RecreateWithPodDrain"}, new_selector, between=guarded_pod_in_dr1
    )

    assert counts_of(c.result) == {"failed": 1}, c.result.to_dict()
    assert c.after["metadata"]["uid"] == c.before["metadata"]["uid"]  # not deleted
    assert read(world, "dr1", web) is not None
    (error,) = c.result.errors
    assert f"evict pod {world.ns}/web-1 on dr1" in error.message
    assert "would violate the pod's disruption budget" in error.message, error.message


def test_recreate_with_pod_drain_evicts_the_pods_mounting_a_claim_before_replacing_it(world: World) -> None:
    mounting = pod("uses-data", "db")
    mounting["spec"]["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]
    bystander = pod("bystander", "db")
    spec = {
        "defaultHandling": "NoChange",
        "resourceOverrides": {"persistentvolumeclaims": "RecreateWithPodDrain"},
    }

    def pods_in_dr1() -> None:
        if world.get("dr1", f"/api/v1/namespaces/{world.ns}/pods") is None:
            pytest.skip("this cluster serves no Pods")
        for p in (mounting, bystander):
            create(world, "dr1", p)

    c = change_and_sync(world, spec, change_class, CLAIM, between=pods_in_dr1)

    assert counts_of(c.result) == {"updated": 1}, c.result.errors
    assert c.after["metadata"]["uid"] != c.before["metadata"]["uid"]
    assert c.after["spec"]["storageClassName"] == "slow"
    assert read(world, "dr1", mounting) is None and read(world, "dr1", bystander) is not None


def test_pvc_storage_class_change_is_reported_under_no_change(world: World) -> None:
    c = change_and_sync(world, {"defaultHandling": "NoChange"}, change_class, CLAIM)

    assert counts_of(c.result) == {"skipped": 1, "held_back": 1}
    assert any("spec.storageClassName" in w for w in c.result.warnings)
    assert c.after["spec"]["storageClassName"] == "standard"  # "fast" was mapped to "standard" when copied
    assert world.writes("dr1") == 0


def test_pvc_storage_class_change_is_recreated_by_a_resource_override(world: World) -> None:
    spec = {"defaultHandling": "NoChange", "resourceOverrides": {"persistentvolumeclaims": "Recreate"}}
    c = change_and_sync(world, spec, change_class, CLAIM)

    assert counts_of(c.result) == {"updated": 1}
    assert c.after["metadata"]["uid"] != c.before["metadata"]["uid"]
    assert c.after["spec"]["storageClassName"] == "slow"
    assert any(
        "handling Recreate (from spec.immutableResourceConfig.resourceOverrides)" in w
        for w in c.result.warnings
    )


FROZEN: Obj = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "frozen"},
    "data": {"a": "1"},
    "immutable": True,
}


@pytest.mark.parametrize("handling", ["NoChange", "Recreate"])
def test_an_immutable_rejection_the_plan_did_not_foresee_gets_the_same_handling(
    world: World, handling: str
) -> None:
    seed(world, [FROZEN])
    sync_rules = rules(
        resourceTypes=["configmaps"], syncCRDs=False, immutableResourceConfig={"defaultHandling": handling}
    )
    world.sync(sync_rules, destinations=("dr1",))
    before = read(world, "dr1", FROZEN)
    source_cm = read(world, "source", FROZEN)
    assert before is not None and source_cm is not None
    # the source was recreated with new data; the plan flags it, and we hide that flag from the
    # executor so that the API server's 422 is what it meets
    world.call("source", "DELETE", f"/api/v1/namespaces/{world.ns}/configmaps/frozen")
    seed(world, [{**FROZEN, "data": {"a": "2"}}])
    snapshot = read_source(world.clients["source"], sync_rules, world.ns)
    planned = plan(
        snapshot.objects,
        read_destination(world.clients["dr1"], snapshot, world.ns),
        sync_rules,
        source_namespace=world.ns,
        destination_namespace=world.ns,
        prune=False,
    )
    (update,) = planned.by_op(Op.UPDATE)
    assert update.immutable is not None
    unforeseen = dataclasses.replace(update, immutable=None, partial_body=None)
    blind = dataclasses.replace(planned, actions=(unforeseen,))

    result = execute(blind, world.clients["dr1"], sync_rules)

    after = read(world, "dr1", FROZEN)
    assert after is not None
    assert any("the API server refused the update" in w and "immutable" in w for w in result.warnings)
    if handling == "NoChange":
        assert counts_of(result) == {"skipped": 1, "held_back": 1}
        assert result.skips[0].fields == ("data",)
        assert after["data"] == {"a": "1"} and after["metadata"]["uid"] == before["metadata"]["uid"]
    else:
        assert counts_of(result) == {"updated": 1}
        assert after["data"] == {"a": "2"} and after["metadata"]["uid"] != before["metadata"]["uid"]


def _blind_update(world: World, sync_rules: Rules) -> Any:
    """The plan of the next run with its immutable flag hidden, so the API server's refusal is what
    the executor meets (as with a rule the table does not know)."""
    snapshot = read_source(world.clients["source"], sync_rules, world.ns)
    planned = plan(
        snapshot.objects,
        read_destination(world.clients["dr1"], snapshot, world.ns),
        sync_rules,
        source_namespace=world.ns,
        destination_namespace=world.ns,
        prune=False,
    )
    (update,) = planned.by_op(Op.UPDATE)
    blind = dataclasses.replace(update, immutable=None, partial_body=None)
    return dataclasses.replace(planned, actions=(blind,))


STATEFUL: Obj = {
    "apiVersion": "apps/v1",
    "kind": "StatefulSet",
    "metadata": {"name": "queue"},
    "spec": {
        "replicas": 1,
        "serviceName": "queue",
        "selector": {"matchLabels": {"app": "q"}},
        "template": {
            "metadata": {"labels": {"app": "q"}},
            "spec": {"containers": [{"name": "main", "image": "nginx:1.25"}]},
        },
    },
}


@pytest.mark.parametrize("handling", ["NoChange", "Recreate", "PartialUpdate"])
def test_a_refusal_worded_without_immutable_is_handled_like_an_immutable_change(
    world: World, handling: str
) -> None:
    # "updates to statefulset spec for fields other than ... are forbidden": a 422 whose words never say
    # "immutable"; it is handled by the configured handling, never a failure on every run
    seed(world, [STATEFUL])
    sync_rules = rules(
        resourceTypes=["statefulsets"], syncCRDs=False, immutableResourceConfig={"defaultHandling": handling}
    )
    world.sync(sync_rules, destinations=("dr1",))
    before = read(world, "dr1", STATEFUL)
    recreate(world, "source", STATEFUL, lambda sts: sts["spec"].update(serviceName="queue-v2"))

    result = execute(_blind_update(world, sync_rules), world.clients["dr1"], sync_rules)

    after = read(world, "dr1", STATEFUL)
    assert before is not None and after is not None
    assert result.phase == Phase.COMPLETED and not result.errors
    assert any(
        "refused the update of field(s) spec" in w and "statefulset spec" in w for w in result.warnings
    )
    if handling == "NoChange":
        assert counts_of(result) == {"skipped": 1, "held_back": 1}
        assert result.skips[0].held_back and result.skips[0].fields == ("spec",)
        assert after["spec"]["serviceName"] == "queue"
    elif handling == "Recreate":
        assert counts_of(result) == {"updated": 1}
        assert after["spec"]["serviceName"] == "queue-v2"
        assert after["metadata"]["uid"] != before["metadata"]["uid"]
    else:  # the server named only "spec": the partial update leaves the whole spec as it is
        assert counts_of(result) == {"updated": 1}
        assert after["spec"]["serviceName"] == "queue"
        assert after["metadata"]["uid"] == before["metadata"]["uid"]


def test_an_object_the_destination_would_not_create_either_is_not_deleted_for_a_recreate(
    world: World,
) -> None:
    seed(world, [FROZEN])
    sync_rules = rules(
        resourceTypes=["configmaps"], syncCRDs=False, immutableResourceConfig={"defaultHandling": "Recreate"}
    )
    world.sync(sync_rules, destinations=("dr1",))
    before = read(world, "dr1", FROZEN)
    recreate(world, "source", FROZEN, lambda cm: cm.update(data={"a": "2"}))
    blind = _blind_update(world, sync_rules)
    (update,) = blind.actions
    assert update.desired is not None and update.body is not None
    # a key the destination refuses: the update is refused, and so would a create be
    bad = {**update.desired, "data": {"not a key!": "x"}}
    broken = dataclasses.replace(update, desired=bad, body={**update.body, "data": bad["data"]})

    result = execute(dataclasses.replace(blind, actions=(broken,)), world.clients["dr1"], sync_rules)

    after = read(world, "dr1", FROZEN)
    assert after is not None and after["metadata"]["uid"] == before["metadata"]["uid"]  # still there
    assert counts_of(result) == {"failed": 1}
    # the destination's own words for what it refuses: a refusal of the key alone fails the object
    # as it is; one that also refuses the change in place (kube-apiserver: the data of an immutable
    # ConfigMap) is tried as a create first, which the destination refuses too
    message = result.errors[0].message
    assert "a valid config key must consist of" in message, message
    if world.backend == "real":
        assert "not recreated: the destination would not create it either" in message


def test_a_node_port_the_destination_holds_for_another_service_fails_the_copy_and_keeps_it(
    world: World,
) -> None:
    # not a refusal to change in place (422 "provided port is already allocated"): the destination
    # takes no copy with that port, so the object fails with the server's words; even the recreate
    # handling never deletes the copy for it
    first, taken = random.sample(range(30000, 32768), 2)
    service: Obj = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "api", "labels": {keys.LABEL_IMMUTABLE_HANDLING: "recreate"}},
        "spec": {"type": "NodePort", "selector": {"app": "api"}, "ports": [{"port": 80, "nodePort": first}]},
    }
    seed(world, [service])
    sync_rules = rules(resourceTypes=["services"], syncCRDs=False, preserveNodePorts=True)
    world.sync(sync_rules, destinations=("dr1",))
    before = read(world, "dr1", service)
    assert before is not None and before["spec"]["ports"][0]["nodePort"] == first
    squatter = {**service, "metadata": {"name": "squatter"}}
    squatter["spec"] = {**service["spec"], "ports": [{"port": 80, "nodePort": taken}]}
    create(world, "dr1", squatter)
    modify(world, "source", service, lambda s: s["spec"]["ports"][0].update(nodePort=taken))

    (result,) = world.sync(sync_rules, destinations=("dr1",))

    assert counts_of(result) == {"failed": 1} and result.skips == []
    (error,) = result.errors
    assert "spec.ports[0].nodePort" in error.message and "provided port is already allocated" in error.message
    after = read(world, "dr1", service)
    assert after is not None and after["metadata"]["uid"] == before["metadata"]["uid"]
    assert after["spec"]["ports"][0]["nodePort"] == first


@pytest.mark.parametrize("handling", ["recreate", "recreate-with-drain", "force-update"])
def test_a_recreate_the_destination_would_not_create_leaves_the_old_copy_in_place(
    world: World, handling: str
) -> None:
    # a modifier changes the data of an immutable ConfigMap and gives it a label value the API
    # server refuses: deleting the copy for a create that is refused would leave no copy at all
    frozen = {**FROZEN, "metadata": {"name": "frozen", "labels": {keys.LABEL_IMMUTABLE_HANDLING: handling}}}
    seed(world, [frozen])
    world.sync(rules(resourceTypes=["configmaps"], syncCRDs=False), destinations=("dr1",))
    before = read(world, "dr1", FROZEN)
    assert before is not None
    invalid_copy = rules(
        resourceTypes=["configmaps"],
        syncCRDs=False,
        modifiers=[
            {"names": ["frozen"], "mergePatch": {"data": {"a": "2"}}, "labels": {"set": {"bad": "has space"}}}
        ],
    )

    for _ in range(2):  # and every later run alike
        world.reset_counters()
        (result,) = world.sync(invalid_copy, destinations=("dr1",))

        assert result.totals.failed == 1 and result.totals.updated == 0, result.to_dict()
        (error,) = result.errors
        assert error.name == "frozen"
        assert 'ConfigMap "frozen" is invalid: metadata.labels: Invalid value: "has space"' in error.message
        assert "not recreated: the destination would not create it either" in error.message, error.message
        assert "DELETE" not in world.verbs("dr1")
        after = read(world, "dr1", FROZEN)
        assert after is not None and after["metadata"]["uid"] == before["metadata"]["uid"]
        assert after["data"] == {"a": "1"}


def test_a_recreated_service_keeps_the_node_ports_its_old_copy_held(world: World) -> None:
    # the dry-run create that comes before the delete asks for the node ports the old copy still
    # holds; its delete frees them, so they do not stop the recreate
    port = random.randrange(30000, 32768)
    service: Obj = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "lb", "labels": {keys.LABEL_IMMUTABLE_HANDLING: "recreate"}},
        "spec": {
            "type": "LoadBalancer",
            "loadBalancerClass": "example.com/one",
            "externalTrafficPolicy": "Local",
            "selector": {"app": "lb"},
            "ports": [{"port": 80, "nodePort": port}],
        },
    }
    seed(world, [service])
    sync_rules = rules(resourceTypes=["services"], syncCRDs=False, preserveNodePorts=True)
    world.sync(sync_rules, destinations=("dr1",))
    before = read(world, "dr1", service)
    assert before is not None and before["spec"]["ports"][0]["nodePort"] == port
    health = before["spec"]["healthCheckNodePort"]
    recreate(world, "source", service, lambda s: s["spec"].update(loadBalancerClass="example.com/two"))

    (result,) = world.sync(sync_rules, destinations=("dr1",))

    assert counts_of(result) == {"updated": 1}, result.to_dict()
    after = read(world, "dr1", service)
    assert after is not None and after["metadata"]["uid"] != before["metadata"]["uid"]
    assert after["spec"]["loadBalancerClass"] == "example.com/two"
    assert after["spec"]["ports"][0]["nodePort"] == port and after["spec"]["healthCheckNodePort"] == health


@dataclass
class Rewritten:
    """A source object, a modifier that writes quantities of its copy in a form the API server
    rewrites, where the copy holds one of them and what it holds there, and a change of the source."""

    source: Obj
    resource_type: str
    modifier: Obj
    stored_at: Callable[[Obj], Any]
    stored: Any
    change: Callable[[Obj], None]
    changed: Callable[[Obj], Any]


def _volume_claim_storage(sts: Obj) -> Any:
    return sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"]


def _new_image(obj: Obj) -> None:
    obj["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.27"


REWRITTEN = {
    "statefulset": Rewritten(
        source={
            **STATEFUL,
            "spec": {
                **STATEFUL["spec"],
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "data"},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "1Gi"}},
                        },
                    }
                ],
            },
        },
        resource_type="statefulsets",
        modifier={
            "resources": ["statefulsets.apps"],
            "jsonPatch": [
                {
                    "op": "replace",
                    "path": "/spec/volumeClaimTemplates/0/spec/resources/requests/storage",
                    "value": "1024Mi",
                }
            ],
        },
        stored_at=_volume_claim_storage,
        stored="1Gi",
        change=_new_image,
        changed=lambda sts: sts["spec"]["template"]["spec"]["containers"][0]["image"],
    ),
    "job": Rewritten(
        source={
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "report", "labels": {"run": "1"}},
            "spec": {
                "suspend": True,
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{"name": "main", "image": "busybox"}],
                        "volumes": [{"name": "scratch", "emptyDir": {}}],
                    }
                },
            },
        },
        resource_type="jobs",
        modifier={
            "resources": ["jobs.batch"],
            "jsonPatch": [
                {
                    "op": "add",
                    "path": "/spec/template/spec/containers/0/resources",
                    "value": {"requests": {"cpu": "0.5", "memory": "1024Mi"}, "limits": {"cpu": "1000m"}},
                },
                {"op": "add", "path": "/spec/template/spec/volumes/0/emptyDir/sizeLimit", "value": "0.5Gi"},
            ],
        },
        stored_at=lambda j: (
            j["spec"]["template"]["spec"]["containers"][0]["resources"],
            j["spec"]["template"]["spec"]["volumes"][0]["emptyDir"]["sizeLimit"],
        ),
        stored=({"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "1"}}, "512Mi"),
        change=lambda j: j["metadata"]["labels"].update(run="2"),
        changed=lambda j: j["metadata"]["labels"]["run"],
    ),
}


@pytest.mark.parametrize("case", sorted(REWRITTEN))
def test_a_quantity_the_server_rewrote_is_no_immutable_change(world: World, case: str) -> None:
    # a modifier writes quantities in a form the API server stores rewritten ("1024Mi" as "1Gi",
    # "1000m" as "1"): the copy holds them so, and a later change of the source is written, not held
    # back as a change of an immutable field on every run
    c = REWRITTEN[case]
    seed(world, [c.source])
    sync_rules = rules(resourceTypes=[c.resource_type], syncCRDs=False, modifiers=[c.modifier])
    world.sync(sync_rules, destinations=("dr1",))
    copied = read(world, "dr1", c.source)
    assert copied is not None and c.stored_at(copied) == c.stored
    modify(world, "source", c.source, c.change)

    (result,) = world.sync(sync_rules, destinations=("dr1",))

    assert result.phase == Phase.COMPLETED and counts_of(result) == {"updated": 1}, result.to_dict()
    assert not result.warnings and not result.skips
    after = read(world, "dr1", c.source)
    assert after is not None and after["metadata"]["uid"] == copied["metadata"]["uid"]
    assert c.changed(after) == c.changed(read(world, "source", c.source) or {})
    world.reset_counters()
    (again,) = world.sync(sync_rules, destinations=("dr1",))
    assert counts_of(again) == {"unchanged": 1} and world.writes("dr1") == 0


def test_a_storage_class_the_source_gives_a_claim_that_had_none_reaches_the_copy(world: World) -> None:
    # kube-apiserver lets a claim's class be set once while it has none (retroactive default
    # StorageClass assignment); a copy made before has none either, so it may follow
    claim = {**CLAIM, "spec": {k: v for k, v in CLAIM["spec"].items() if k != "storageClassName"}}
    seed(world, [claim])
    sync_rules = rules(resourceTypes=["persistentvolumeclaims"], syncCRDs=False)
    world.sync(sync_rules, destinations=("dr1",))
    before = read(world, "dr1", claim)
    assert before is not None and not before["spec"].get("storageClassName")

    modify(world, "source", claim, change_class)
    world.reset_counters()
    (result,) = world.sync(sync_rules, destinations=("dr1",))

    assert counts_of(result) == {"updated": 1} and result.skips == [], result.warnings
    after = read(world, "dr1", claim)
    assert after is not None and after["metadata"]["uid"] == before["metadata"]["uid"]
    assert after["spec"]["storageClassName"] == "slow"
    world.reset_counters()
    world.sync(sync_rules, destinations=("dr1",))
    assert world.writes("dr1") == 0


def _refuse_real_creates_of_blue_deployments(world: World, name: str) -> Callable[[], None]:
    """A ValidatingAdmissionPolicy on dr1 refusing real (not dry-run) creates of a Deployment
    selecting `track`, in the test's namespace: a refusal a recreate's dry run cannot foresee, as
    etcd's size limit or a webhook judging only real writes would give. Returns its removal."""
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": ["apps"],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE"],
                        "resources": ["deployments"],
                    }
                ]
            },
            "validations": [
                {
                    "expression": "request.dryRun == true || !('track' in object.spec.selector.matchLabels)",
                    "message": "a Deployment selecting a track is refused here",
                    "reason": "Invalid",
                }
            ],
        },
    }
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name},
        "spec": {
            "policyName": name,
            "validationActions": ["Deny"],
            "matchResources": {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": world.ns}}
            },
        },
    }
    base = "/apis/admissionregistration.k8s.io/v1"

    def remove() -> None:  # cluster-wide objects on a cluster the session shares
        world.call("dr1", "DELETE", f"{base}/validatingadmissionpolicybindings/{name}")
        world.call("dr1", "DELETE", f"{base}/validatingadmissionpolicies/{name}")

    probe = copy.deepcopy(DEPLOYMENT)
    probe["metadata"]["name"] = "policy-probe"
    new_selector(probe)
    deployments = f"/apis/apps/v1/namespaces/{world.ns}/deployments"

    def refused() -> bool:  # a policy takes effect a moment after it is written
        try:
            world.call("dr1", "POST", deployments, probe)
        except k8s.ApiException as exc:
            return exc.status == 422  # the probe is valid: only the policy refuses it
        world.call("dr1", "DELETE", f"{deployments}/policy-probe")
        return False

    try:
        world.call("dr1", "POST", f"{base}/validatingadmissionpolicies", policy)
        world.call("dr1", "POST", f"{base}/validatingadmissionpolicybindings", binding)
        eventually(refused, timeout_s=30, what="the admission policy in effect")
    except BaseException:
        remove()
        raise
    return remove


def test_a_recreate_refused_after_the_delete_puts_the_copy_back_and_later_runs_keep_it(world: World) -> None:
    if world.backend == "sim":
        pytest.skip("the simulator has no admission policies: nothing refuses a create its dry run allowed")
    removals: list[Callable[[], None]] = []
    try:
        c = change_and_sync(
            world,
            {"defaultHandling": "Recreate"},
            new_selector,
            between=lambda: removals.append(
                _refuse_real_creates_of_blue_deployments(world, f"putback-{world.ns}")
            ),
        )
        world.reset_counters()
        (later,) = world.sync(c.rules, destinations=("dr1",))
        writes_of_later_run = world.verbs("dr1")
        kept = read(world, "dr1", DEPLOYMENT)
    finally:
        for remove in removals:
            remove()

    assert counts_of(c.result) == {"failed": 1}
    (error,) = c.result.errors
    assert "not recreated: the destination refused the new object after the copy was deleted" in error.message
    assert "a Deployment selecting a track is refused here" in error.message
    assert error.message.endswith(
        "the copy was put back as it was and is kept until the source object changes"
    )
    # the copy is there as it was before the change, created again and marked with what was refused
    assert c.after["metadata"]["uid"] != c.before["metadata"]["uid"]
    assert c.after["spec"]["selector"] == c.before["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    refused_hash = c.after["metadata"]["annotations"].pop(keys.ANNOTATION_RECREATE_REFUSED)
    assert refused_hash and refused_hash != c.before["metadata"]["annotations"][keys.ANNOTATION_SOURCE_HASH]
    assert c.after["metadata"]["annotations"] == c.before["metadata"]["annotations"]

    # the next run deletes nothing: the same object would be refused again
    assert counts_of(later) == {"failed": 1}
    assert "kept until the source object changes (remove annotation dr-syncer.io/recreate-refused" in (
        later.errors[0].message
    )
    assert "DELETE" not in writes_of_later_run and "POST" not in writes_of_later_run
    assert kept is not None and kept["metadata"]["uid"] == c.after["metadata"]["uid"]
