"""`drsyncer sync --modifiers`: per-destination rewrites through the stock client on both backends."""

from __future__ import annotations

from pathlib import Path

import yaml

from drsyncer.api import keys
from drsyncer.sync.standby import Outcome, release
from tests.integration.sync.conftest import World, read, rules, seed
from tests.integration.sync.test_cli import drsyncer_sync

INGRESS = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "Ingress",
    "metadata": {"name": "shop"},
    "spec": {
        "rules": [
            {
                "host": "shop.example.com",
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": "web", "port": {"number": 80}}},
                        }
                    ]
                },
            }
        ]
    },
}
SETTINGS = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "settings", "annotations": {"cloud.example.com/zone": "eu-1a"}},
    "data": {"app.yaml": "database:\n  host: db.prod.internal\n  port: 5432\n"},
}
BROKEN = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "broken"},
    "data": {"app.yaml": "a: [1,\n"},
}
RULES = [
    {
        "resources": ["ingresses.networking.k8s.io"],
        "clusters": [cluster],
        "jsonPatch": [
            {"op": "replace", "path": "/spec/rules/0/host", "value": f"shop.{cluster}.example.com"}
        ],
    }
    for cluster in ("dr1", "dr2")
] + [
    {
        "resources": ["configmaps"],
        "annotations": {"remove": ["cloud.example.com/zone"]},
        "embedded": [{"field": "/data/app.yaml", "mergePatch": {"database": {"host": "db.dr.internal"}}}],
    }
]


def test_sync_with_modifiers_writes_each_destination_its_own_copy(world: World, tmp_path: Path) -> None:
    seed(world, [INGRESS, SETTINGS, BROKEN])
    rules = tmp_path / "modifiers.yaml"
    rules.write_text(yaml.safe_dump(RULES))

    run = drsyncer_sync(
        world.clusters.kubeconfig,
        "--source-context",
        "source",
        "--dest-context",
        "dr1,dr2",
        "--namespace",
        world.ns,
        "--types",
        "configmaps,ingresses",
        "--modifiers",
        str(rules),
        "--verbose",
    )

    assert run.returncode == 1, run.stdout + run.stderr  # the broken ConfigMap fails
    # listed once per destination under `errors:`, and not repeated by a log line on stderr
    failure = f"NonRetryable: ConfigMap {world.ns}/broken: spec.modifiers[2].embedded[0] (/data/app.yaml): not valid yaml"
    assert run.stdout.count(failure) == 2, run.stdout
    assert "broken" not in run.stderr, run.stderr
    for cluster in ("dr1", "dr2"):
        ingress = read(world, cluster, INGRESS)
        assert ingress is not None and ingress["spec"]["rules"][0]["host"] == f"shop.{cluster}.example.com"
        settings = read(world, cluster, SETTINGS)
        assert settings is not None
        assert yaml.safe_load(settings["data"]["app.yaml"]) == {
            "database": {"host": "db.dr.internal", "port": 5432}
        }
        assert "cloud.example.com/zone" not in settings["metadata"]["annotations"]
        assert read(world, cluster, BROKEN) is None
    source = read(world, "source", SETTINGS)
    assert source is not None and source["data"] == SETTINGS["data"]


def test_a_rule_whose_result_no_server_takes_fails_that_object_alone_and_keeps_failover_records(
    world: World,
) -> None:
    """A rule making one object's labels a string fails that object, naming the rule, and the rest
    of the namespace is written; a rule dropping every annotation of a Deployment leaves the standby
    record failover brings the copy up from."""
    labels = {"app": "web"}
    web = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "annotations": {"team": "a"}},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": "registry.example/web:1"}]},
            },
        },
    }
    seed(world, [SETTINGS, BROKEN, web])
    sync_rules = rules(
        resourceTypes=["configmaps", "deployments"],
        syncCRDs=False,
        modifiers=[
            {"names": ["broken"], "mergePatch": {"metadata": {"labels": "oops"}}},
            {"resources": ["deployments"], "mergePatch": {"metadata": {"annotations": None}}},
        ],
    )
    (result,) = world.sync(sync_rules, destinations=("dr1",))

    (error,) = result.errors
    assert error.name == "broken" and "spec.modifiers[0]: the result's metadata.labels is not a map" in str(
        error
    )
    assert read(world, "dr1", BROKEN) is None
    assert read(world, "dr1", SETTINGS) is not None
    copy = read(world, "dr1", web)
    assert copy is not None and copy["spec"]["replicas"] == 0
    annotations = copy["metadata"]["annotations"]
    assert "team" not in annotations and annotations[keys.ANNOTATION_ORIGINAL_REPLICAS] == "3"
    brought_up = release(copy)  # what failover writes
    assert brought_up.outcome is Outcome.CHANGE and (brought_up.patch or {})["spec"] == {"replicas": 3}
