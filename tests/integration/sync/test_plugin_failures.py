"""Plugins that fail through a real sync: a hook quoting a Secret's data, one calling sys.exit, one
changing what it is shown. The plugin is a distribution on this process's path, found through its
entry point as a worker finds it."""

from __future__ import annotations

import base64
import json
import logging
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from drsyncer.logs import redact_all
from drsyncer.plugins.registry import installed
from drsyncer.status.replication import NamespaceRecord, event_for, run_status, summary_of
from tests.integration.sync.conftest import World, read, rules, seed
from workers.failures import first_error

PASSWORD = "s3cr3t-hunter2"
PORT = "not-a-number"

PLUGIN = """
import base64
import sys


def filter(obj, context):
    if obj["metadata"]["name"] == "quoted":
        raise ValueError(f"bad {obj['data']['password']}")
    if obj["metadata"]["name"] == "touched":
        obj["data"]["k"] = "changed by a filter"
    return None


def transform(obj, context):
    if obj["metadata"]["name"] == "decoded":
        int(base64.b64decode(obj["data"]["port"]).decode())
    if obj["metadata"]["name"] == "exits":
        sys.exit(3)
    return obj
"""


@pytest.fixture
def careless_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The distribution `careless-plugin` declaring the plugin `careless` (PLUGIN), on this process's path."""
    site = tmp_path / "site"
    dist = site / "careless_plugin-0.1.dist-info"
    dist.mkdir(parents=True)
    (site / "drsyncer_careless_plugin.py").write_text(textwrap.dedent(PLUGIN))
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: careless-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[drsyncer.plugins]\ncareless = drsyncer_careless_plugin\n")
    monkeypatch.syspath_prepend(str(site))
    installed.cache_clear()
    yield
    installed.cache_clear()


def encoded(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def secret(name: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name},
        "type": "Opaque",
        "data": {"password": encoded(PASSWORD), "port": encoded(PORT)},
    }


def configmap(name: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}}


@pytest.mark.usefixtures("careless_plugin")
def test_failing_hooks_fail_their_objects_only_and_never_quote_secret_data(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    seed(
        world,
        [secret("quoted"), secret("decoded"), secret("fine"), configmap("exits"), configmap("touched")],
    )
    with caplog.at_level(logging.DEBUG):
        results = world.sync(rules(resourceTypes=["configmaps", "secrets"], plugins=[{"name": "careless"}]))

    for result in results:
        failed = {(e.name, e.message.split(" (")[0]) for e in result.errors}
        assert failed == {
            ("quoted", 'plugin "careless": filter raised ValueError'),
            ("decoded", 'plugin "careless": transform raised ValueError'),
            ("exits", 'plugin "careless": transform raised SystemExit: 3'),
            (
                "touched",
                "plugin \"careless\": filter raised TypeError: 'ReadOnlyDict' object does not "
                "support item assignment",
            ),
        }, result.errors
        assert all("drsyncer_careless_plugin.py:" in e.message for e in result.errors)
    for cluster in ("dr1", "dr2"):  # the other objects are synced, to both destinations
        assert read(world, cluster, secret("fine")) is not None
        for name in ("quoted", "decoded"):
            assert read(world, cluster, secret(name)) is None
        for name in ("exits", "touched"):
            assert read(world, cluster, configmap(name)) is None

    # what leaves the worker: the run's results, the status, the Event, the task's failure (Flower),
    # the log lines (and the tracebacks in them)
    record = NamespaceRecord(world.ns, results, 0.0, 1.0)
    status = redact_all(
        run_status([record], replication="dr-system/shop", previous={}, generation=1, now=datetime.now(UTC))
    )
    shown = "\n".join(
        [
            json.dumps([r.to_dict() for r in results], default=str),
            json.dumps(status, default=str),
            event_for(summary_of("dr-system/shop", [record]))[2],
            first_error(results),
            caplog.text,
        ]
    )
    assert 'plugin "careless"' in caplog.text, caplog.text
    assert 'plugin "careless"' in shown
    for value in (PASSWORD, PORT, encoded(PASSWORD), encoded(PORT)):
        assert value not in shown
