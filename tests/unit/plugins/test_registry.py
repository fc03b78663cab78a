"""Loading plugins from entry points: hooks found, broken ones kept with their error, never raised."""

from __future__ import annotations

import logging
from importlib.metadata import EntryPoint

import pytest

from drsyncer.plugins.contract import ENTRY_POINT_GROUP
from drsyncer.plugins.registry import discover, log_unusable
from tests.unit.plugins.registry import MODULE, sample_registry


def test_each_plugin_is_listed_with_the_hooks_it_has() -> None:
    registry = sample_registry()
    assert registry["suffix"].hooks == ("transform", "validate")
    assert registry["local-only"].hooks == ("filter",)
    assert registry["strict"].hooks == ("filter", "validate")
    assert registry["suffix"].error == ""
    assert registry["suffix"].to_dict()["entryPoint"] == f"{MODULE}:suffix"


def test_a_plugin_that_fails_to_import_is_kept_with_the_error() -> None:
    broken = sample_registry()["missing-module"]
    assert broken.hooks == ()
    assert "failed to load tests.unit.plugins.not_there:plugin: ModuleNotFoundError" in broken.error


def test_a_plugin_that_exits_when_imported_is_kept_with_the_error() -> None:
    registry = discover([EntryPoint("exits", "tests.unit.plugins.exits_on_import:plugin", ENTRY_POINT_GROUP)])
    assert (
        registry["exits"].error == "failed to load tests.unit.plugins.exits_on_import:plugin: SystemExit: 2"
    )


def test_a_plugin_without_transform_or_filter_cannot_be_used() -> None:
    assert (
        sample_registry()["no-hooks"].error == f"{MODULE}:NoHooks has neither a transform nor a filter hook"
    )


def test_the_first_of_two_entry_points_with_one_name_wins() -> None:
    registry = discover(
        [
            EntryPoint("twice", f"{MODULE}:LocalOnly", ENTRY_POINT_GROUP),
            EntryPoint("twice", f"{MODULE}:Exploding", ENTRY_POINT_GROUP),
        ]
    )
    assert registry["twice"].hooks == ("filter",)


def test_loading_a_broken_plugin_logs_nothing_and_log_unusable_warns_once_per_plugin(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="drsyncer.plugins"):
        registry = sample_registry()
        assert caplog.records == []
        log_unusable(registry)
    warned = [r.getMessage() for r in caplog.records]
    assert sorted(m.split()[1] for m in warned) == ["missing-module", "no-hooks"]
    assert any("plugin missing-module cannot be used: failed to load" in m for m in warned), warned
