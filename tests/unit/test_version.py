"""One version everywhere: the package, `drsyncer version`, the chart's version and appVersion (and so
the image tag the chart pulls by default), and a CHANGELOG section for it (docs/releasing.md)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

from drsyncer import __version__
from drsyncer.cli import main

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "drsyncer"
SEMVER = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")


def test_the_version_is_plain_semver_which_python_and_helm_both_accept() -> None:
    assert SEMVER.match(__version__), __version__


def test_the_package_metadata_reads_the_version_from_the_one_place_it_is_written() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"]
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "drsyncer.__version__"}


def test_drsyncer_version_prints_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    assert capsys.readouterr().out.strip() == f"drsyncer {__version__}"


def test_the_chart_and_its_default_image_tag_carry_it() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert (chart["version"], chart["appVersion"]) == (__version__, __version__)
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert values["image"]["tag"] == ""  # so the image tag is the appVersion
    helpers = (CHART / "templates" / "_helpers.tpl").read_text()
    assert "(default .Chart.AppVersion .Values.image.tag)" in helpers


def test_the_changelog_has_a_section_for_it() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text()
    headings = re.findall(r"^## \[([^\]]+)\]", changelog, flags=re.MULTILINE)
    assert headings and headings[0] == __version__, headings
