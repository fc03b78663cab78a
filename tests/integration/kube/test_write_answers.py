"""Copies' writes ask for their answer as metadata: a real API server and the simulator answer a
create and a replace with the object's PartialObjectMetadata, and the write journal still learns the
version each write left."""

from __future__ import annotations

from drsyncer.kube import journal
from drsyncer.kube.discovery import offline_ref
from drsyncer.kube.kubeconfig import client_from_kubeconfig_file

NS = "write-answers"


def test_creates_and_replaces_asked_for_metadata_answer_with_metadata_only(kube) -> None:
    world = kube(["dst"])
    with client_from_kubeconfig_file(world.kubeconfig, context="dst") as client:
        # built-in types: no discovery needed
        namespaces, cm = offline_ref("namespaces"), offline_ref("configmaps")
        assert namespaces is not None and cm is not None
        client.create(namespaces, None, {"metadata": {"name": NS}})
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "copy", "labels": {"app": "shop"}},
            "data": {"big": "x" * 2048},
        }
        with journal.recording() as writes:
            created = client.create(cm, NS, body, metadata_only=True)
            assert created["kind"] == "PartialObjectMetadata"
            assert "data" not in created
            assert created["metadata"]["labels"] == {"app": "shop"}
            assert writes.of(client.identity, "configmaps", NS) == {
                "copy": created["metadata"]["resourceVersion"]
            }
            changed = {**body, "metadata": {**body["metadata"]}, "data": {"big": "y"}}
            replaced = client.replace(cm, NS, changed, metadata_only=True)
            assert replaced["kind"] == "PartialObjectMetadata" and "data" not in replaced
            assert replaced["metadata"]["resourceVersion"] != created["metadata"]["resourceVersion"]
            assert writes.of(client.identity, "configmaps", NS) == {
                "copy": replaced["metadata"]["resourceVersion"]
            }
        # what was written is the whole object
        stored = client.get(cm, NS, "copy")
        assert stored is not None and stored["data"] == {"big": "y"}
        # without the option the answer is the object
        whole = client.create(cm, NS, {**body, "metadata": {"name": "whole"}})
        assert whole["kind"] == "ConfigMap" and whole["data"] == body["data"]
