"""Preparing a run: destinations connected once each, targets grouped per source namespace, and an
unreachable destination reported as that target's failure (no cluster is contacted)."""

from __future__ import annotations

from kubernetes import client as k8s_client

from drsyncer.errors import CategorisedError, Category, DrsyncerError
from drsyncer.kube.client import ClusterClient
from drsyncer.plugins.chain import PluginSetting
from drsyncer.sync.namespace_sync import Destination, sync_namespace
from drsyncer.sync.rules import Rules
from drsyncer.sync.run import prepare_run

RULES = Rules(replication="dr-system/web", source_cluster="prod")


def _client(name: str) -> ClusterClient:
    configuration = k8s_client.Configuration(host=f"https://{name}.example")
    return ClusterClient(k8s_client.ApiClient(configuration), name=name)


def test_targets_are_grouped_per_source_namespace_and_each_cluster_connected_once() -> None:
    connected: list[str] = []

    def connect(cluster: str) -> ClusterClient:
        connected.append(cluster)
        if cluster == "dr2":
            raise CategorisedError(Category.RETRYABLE, "kubeconfig Secret dr2-kubeconfig not found")
        return _client(cluster)

    prepared = prepare_run(
        RULES,
        _client("prod"),
        [("shop", "dr1", "shop"), ("shop", "dr2", "shop"), ("web", "dr1", "web-dr"), ("web", "dr2", "web")],
        connect,
    )
    assert connected == ["dr1", "dr2"]
    shop, web = prepared.work
    assert (shop.source_namespace, shop.targets) == ("shop", (("dr1", "shop"), ("dr2", "shop")))
    assert [(d.client.name, d.namespace) for d in web.destinations] == [("dr1", "web-dr")]
    assert list(web.unreachable) == [("dr2", "web")]

    # a run stopped as a whole keeps each unreachable target's own reason
    late = CategorisedError(Category.RETRYABLE, "the sync did not finish within the task time limit")
    results = prepared.failed(late)
    assert [(r.destination_cluster, r.source_namespace, r.destination_namespace) for r in results] == [
        ("dr1", "shop", "shop"),
        ("dr2", "shop", "shop"),
        ("dr1", "web", "web-dr"),
        ("dr2", "web", "web"),
    ]
    assert results[1].error == "destination cluster dr2: kubeconfig Secret dr2-kubeconfig not found"
    assert results[0].error == "destination cluster dr1: the sync did not finish within the task time limit"
    assert all(r.error_category is Category.RETRYABLE for r in results)


def test_a_destination_error_without_a_category_is_non_retryable() -> None:
    def connect(cluster: str) -> ClusterClient:
        raise DrsyncerError(f"RemoteCluster dr-system/{cluster} not found")

    prepared = prepare_run(RULES, _client("prod"), [("shop", "dr9", "shop")], connect)
    assert prepared.sync() == prepared.failed(CategorisedError(Category.RETRYABLE, "unused"))
    (result,) = prepared.sync()
    assert result.error_category is Category.NON_RETRYABLE
    assert result.error == "destination cluster dr9: RemoteCluster dr-system/dr9 not found"


def test_a_process_without_a_named_plugin_fails_every_target_before_contacting_a_cluster() -> None:
    rules = Rules(
        replication="dr-system/web", source_cluster="prod", plugins=(PluginSetting.of("not-here", {"a": 1}),)
    )
    results = sync_namespace(
        _client("prod"),
        [Destination(_client("dr1"), "shop"), Destination(_client("dr2"), "shop")],
        rules,
        source_namespace="shop",
    )
    assert [(r.destination_cluster, r.phase.value, r.error_category) for r in results] == [
        ("dr1", "Failed", Category.NON_RETRYABLE),
        ("dr2", "Failed", Category.NON_RETRYABLE),
    ]
    assert results[0].error.startswith(
        "this process cannot run the Replication's plugins: "
        'spec.plugins[0].name: plugin "not-here" is not installed'
    )
