"""A copy held back by an immutable change under NoChange is stale while the run completes: the
Replication's status counts it and says so, and a Warning Event names it."""

from __future__ import annotations

from tests.integration.pipeline.conftest import Pipeline, eventually

BINDING = {
    "apiVersion": "rbac.authorization.k8s.io/v1",
    "kind": "RoleBinding",
    "metadata": {"name": "app-access", "namespace": "held"},
    "subjects": [{"kind": "ServiceAccount", "name": "app", "namespace": "held"}],
    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
}


def test_a_held_back_copy_is_counted_in_status_with_up_to_date_false_and_a_warning_event(
    pipe: Pipeline,
) -> None:
    pipe.seed("held", 1)
    store = pipe.sim("source").store
    store.put(BINDING)
    pipe.apply_replication(
        "held", sourceNamespace="held", schedule="@every 10s", resourceTypes=["rolebindings"]
    )
    first = eventually(
        lambda: (s := pipe.status("held")).get("phase") == "Completed" and s,
        timeout_s=60,
        what="the first run Completed",
    )
    assert first["syncStats"]["heldBack"] == 0
    assert pipe.condition("held", "UpToDate")["status"] == "True"

    # the source owner points the binding at another Role: delete and create, as kube requires
    store.delete(store.resource_for(BINDING["apiVersion"], BINDING["kind"]), "held", "app-access")
    store.put({**BINDING, "roleRef": {**BINDING["roleRef"], "name": "editor"}})

    held = eventually(
        lambda: (s := pipe.status("held")).get("syncStats", {}).get("heldBack") and s,
        timeout_s=60,
        what="a run that holds the copies back",
    )
    assert held["phase"] == "Completed"
    assert held["syncStats"]["heldBack"] == 2  # one per destination
    assert {t["syncStats"]["heldBack"] for t in held["targets"]} == {1}
    up_to_date = pipe.condition("held", "UpToDate")
    assert up_to_date["status"] == "False" and up_to_date["reason"] == "ImmutableChangesHeldBack"
    assert "RoleBinding held/app-access (roleRef)" in up_to_date["message"]
    warning = eventually(
        lambda: next((e for e in pipe.events("held") if e["reason"] == "ImmutableChangesHeldBack"), None),
        what="the Warning Event",
    )
    assert warning["type"] == "Warning" and "roleRef" in warning["message"]
