"""A worker process makes a Replication's sync rules once per spec and source RemoteCluster it keeps,
and new rules as soon as either model is new."""

from __future__ import annotations

from typing import Any

from drsyncer.api import keys
from drsyncer.api.parse import parse_remote_cluster, parse_replication
from workers.controller_reads import KeptRules


def _replication(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": keys.API_VERSION,
        "kind": keys.KIND_REPLICATION,
        "metadata": {"name": "web", "namespace": "dr-system", "uid": "u1", "generation": 1},
        "spec": {"sourceCluster": "source", "destinationCluster": "dr1", "sourceNamespace": "shop", **spec},
    }


def _remote_cluster(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": keys.API_VERSION,
        "kind": keys.KIND_REMOTE_CLUSTER,
        "metadata": {"name": "source", "namespace": "dr-system", "resourceVersion": "7"},
        "spec": {"kubeconfigSecretRef": {"name": "source-kubeconfig"}, **spec},
    }


def test_rules_are_made_once_per_kept_spec_and_source_and_again_for_a_new_one() -> None:
    kept = KeptRules(kept=2)
    model, source = parse_replication(_replication()), parse_remote_cluster(_remote_cluster())
    first = kept.of(model, source)
    assert kept.of(model, source) is first  # the digests computed from it are kept with it

    # a new generation's spec, or a new version of the source RemoteCluster, is a new model
    edited = parse_replication(_replication(resourceTypes=["configmaps"]))
    assert kept.of(edited, source).resource_types == ("configmaps",)
    defaults = parse_remote_cluster(_remote_cluster(defaultResourceTypes=["secrets"]))
    assert kept.of(model, defaults).resource_types == ("secrets",)
    assert kept.of(model, None) is not first
    # the oldest pairs made way for the newer ones
    assert kept.of(model, source) is not first
