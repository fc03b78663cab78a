"""Dependency order of writes, and its reverse for deletes."""

from __future__ import annotations

import random

from drsyncer.sync.objects import Key
from drsyncer.sync.ordering import CUSTOM_RESOURCE_RANK, delete_order, rank, tier, write_order

EXPECTED = [
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("", "Namespace"),
    ("", "ServiceAccount"),
    ("", "Secret"),
    ("", "ConfigMap"),
    ("", "PersistentVolumeClaim"),
    ("rbac.authorization.k8s.io", "Role"),
    ("rbac.authorization.k8s.io", "RoleBinding"),
    ("", "Service"),
    ("apps", "Deployment"),
    ("apps", "StatefulSet"),
    ("batch", "CronJob"),
    ("networking.k8s.io", "Ingress"),
    ("example.com", "Widget"),
]


def _keys() -> list[Key]:
    cluster_scoped = ("CustomResourceDefinition", "Namespace")
    return [Key(g, k, "" if k in cluster_scoped else "ns", "x") for g, k in EXPECTED]


def test_writes_follow_the_dependency_order() -> None:
    shuffled = _keys()
    random.Random(7).shuffle(shuffled)
    assert [(k.group, k.kind) for k in sorted(shuffled, key=write_order)] == EXPECTED


def test_deletes_run_in_reverse_dependency_order() -> None:
    assert [(k.group, k.kind) for k in sorted(_keys(), key=delete_order)] == EXPECTED[::-1]


def test_rank_is_strictly_increasing_along_the_documented_order() -> None:
    ranks = [rank(g, k) for g, k in EXPECTED]
    assert ranks == sorted(ranks) and len(set(ranks)) == len(ranks)


def test_custom_resources_come_after_every_built_in_kind() -> None:
    assert rank("example.com", "Widget") == CUSTOM_RESOURCE_RANK
    assert rank("", "Endpoints") < CUSTOM_RESOURCE_RANK  # built-in but unlisted
    assert rank("discovery.k8s.io", "EndpointSlice") < CUSTOM_RESOURCE_RANK


def test_secrets_and_configmaps_share_a_tier() -> None:
    assert tier("", "Secret") == tier("", "ConfigMap") == tier("", "PersistentVolumeClaim")


def test_service_accounts_are_written_before_their_token_secrets() -> None:
    assert tier("", "ServiceAccount") < tier("", "Secret")
    assert tier("", "Service") < tier("apps", "Deployment") < tier("networking.k8s.io", "Ingress")


def test_order_within_a_kind_is_by_namespace_and_name() -> None:
    keys = [Key("", "ConfigMap", "a", n) for n in ("c", "a", "b")]
    assert [k.name for k in sorted(keys, key=write_order)] == ["a", "b", "c"]
