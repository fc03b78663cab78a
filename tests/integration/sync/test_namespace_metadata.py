"""A destination namespace carries the labels of its source namespace that decide how Pods run (Pod
Security admission, sidecar injection), not the others, and follows changes to them."""

from __future__ import annotations

from drsyncer.api import keys
from tests.integration.sync.conftest import World, rules

PSA = "pod-security.kubernetes.io/enforce"


def _labels(world: World, cluster: str) -> dict[str, str]:
    return dict(world.core(cluster).read_namespace(world.ns).metadata.labels or {})


def test_destination_namespaces_follow_the_pod_security_and_injection_labels(world: World) -> None:
    core = world.core("source")
    labels = {PSA: "baseline", "istio-injection": "enabled", "team": "payments"}
    core.create_namespace({"metadata": {"name": world.ns, "labels": labels}})
    core.create_namespaced_config_map(world.ns, {"metadata": {"name": "settings"}, "data": {"a": "1"}})
    sync_rules = rules(resourceTypes=["configmaps"])

    [result] = world.sync(sync_rules, destinations=("dr1",))

    assert not result.error, result.error
    copied = _labels(world, "dr1")
    assert copied[PSA] == "baseline" and copied["istio-injection"] == "enabled"
    assert "team" not in copied
    assert copied[keys.LABEL_MANAGED_BY] == keys.MANAGED_BY_VALUE

    core.patch_namespace(world.ns, {"metadata": {"labels": {PSA: "restricted"}}})
    world.reset_counters()
    [result] = world.sync(sync_rules, destinations=("dr1",))

    assert not result.error, result.error
    assert _labels(world, "dr1")[PSA] == "restricted"
    assert world.verbs("dr1") == {"PATCH": 1}  # the namespace's labels; the ConfigMap is unchanged

    world.reset_counters()
    [result] = world.sync(sync_rules, destinations=("dr1",))

    assert not result.error and not result.warnings, (result.error, result.warnings)
    assert world.writes("dr1") == 0
