"""Upgrading a release from the previous chart to this one with real Helm (docs/upgrading.md).

The previous chart is taken from git: the newest `v*` release tag, or, until the first release is
tagged, `BEFORE_FIRST_RELEASE` (the chart as it stood before release tooling existed). A source tree
without that history skips, saying why.
"""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from drsyncer import __version__
from tests.fixtures.helm import CHART, Helm, Release
from tests.integration.helm.conftest import EVERYTHING, prepare

ROOT = CHART.parents[1]
# main before 0.1.0's release work; from the first tag on, tags are used instead
BEFORE_FIRST_RELEASE = "33d64a4bd68d74945c9b4e28c06ab2742a6de838"


def _git(*args: str) -> bytes:
    try:
        return subprocess.run(
            ["git", "-C", str(ROOT), *args], check=True, capture_output=True, timeout=60
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"no git history to take the previous chart from ({exc})")


def previous_ref() -> str:
    tags = [
        t for t in _git("tag", "--list", "v*", "--sort=-v:refname").decode().split() if t != f"v{__version__}"
    ]
    return tags[0] if tags else BEFORE_FIRST_RELEASE


@pytest.fixture(scope="module")
def previous_chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ref = previous_ref()
    archive = _git("archive", "--format=tar", ref, "charts/drsyncer")
    where = tmp_path_factory.mktemp("previous-chart")
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(where, filter="data")
    return where / "charts" / "drsyncer"


def accepted_by(schema: dict[str, Any], values: Any) -> Any:
    """`values` without the keys `schema` (a values.schema.json) does not allow: what the previous
    chart did not have yet, so that its schema accepts the values a user of both charts would set."""
    if not isinstance(values, dict) or not isinstance(schema, dict):
        return values
    known = schema.get("properties")
    if not isinstance(known, dict):
        return values
    closed = schema.get("additionalProperties") is False
    return {
        key: accepted_by(known.get(key, {}), value)
        for key, value in values.items()
        if key in known or not closed
    }


def _keys(release: Release) -> set[tuple[str, str]]:
    return {(o["kind"], o["metadata"]["name"]) for o in release.objects}


def _crds(chart: Path) -> dict[str, dict[str, Any]]:
    return {
        doc["metadata"]["name"]: doc
        for path in sorted((chart / "crds").glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    }


def test_a_release_of_the_previous_chart_upgrades_to_this_one(helm: Helm, previous_chart: Path) -> None:
    prepare(helm.cluster)
    schema = json.loads((previous_chart / "values.schema.json").read_text())
    values = accepted_by(schema, EVERYTHING)
    before = helm.install(values, chart=previous_chart)
    # the simulator refuses what kube-apiserver refuses to change in place (a Deployment's selector,
    # a StatefulSet's claim templates), so an upgrade that needs a delete first fails here
    after = helm.upgrade(values, chart=CHART)
    assert after.raw["version"] == 2
    # nothing is renamed: a renamed Deployment would run twice during the upgrade, a renamed Secret
    # would lose its generated password
    assert _keys(before) - _keys(after) == set()
    for suffix in ("-redis", "-flower"):
        assert before.one("Secret", suffix)["data"] == after.one("Secret", suffix)["data"]
    for kind in ("Deployment", "StatefulSet"):
        for old in before.find(kind):
            new = after.one(kind, old["metadata"]["name"])
            assert new["spec"]["selector"] == old["spec"]["selector"], old["metadata"]["name"]


def test_this_charts_crds_still_serve_every_version_the_previous_ones_stored(previous_chart: Path) -> None:
    # Helm never upgrades crds/: the operator applies these (docs/upgrading.md), and objects stored
    # under a version that is no longer served would be unreadable
    old, new = _crds(previous_chart), _crds(CHART)
    assert set(old) <= set(new)
    for name, crd in old.items():
        served = {v["name"] for v in new[name]["spec"]["versions"] if v.get("served")}
        stored = {v["name"] for v in crd["spec"]["versions"] if v.get("storage")}
        assert stored <= served, name
        assert new[name]["spec"]["scope"] == crd["spec"]["scope"], name
        assert new[name]["spec"]["names"]["kind"] == crd["spec"]["names"]["kind"], name
