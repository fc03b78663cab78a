"""`drsyncer sync --modifiers`: per-destination rewrites through the stock client on both backends."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.integration.sync.conftest import World, read, seed
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
