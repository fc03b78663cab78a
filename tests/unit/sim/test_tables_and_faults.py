"""Table cells (JSONPath, ages) and fault settings."""

from __future__ import annotations

from typing import Any

import pytest

from drsyncer.sim.faults import Counters, Faults
from drsyncer.sim.tables import age, lookup

OBJ = {
    "spec": {"replicas": 3, "items": [{"n": "a"}, {"n": "b"}]},
    "status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "Synced", "status": "False"}]},
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (".spec.replicas", [3]),
        (".spec.items[1].n", ["b"]),
        (".spec.items[*].n", ["a", "b"]),
        ('.status.conditions[?(@.type=="Synced")].status', ["False"]),
        ("{.spec.replicas}", [3]),
        (".spec.missing", []),
    ],
)
def test_printer_column_json_paths(path: str, expected: list[Any]) -> None:
    assert lookup(OBJ, path) == expected


@pytest.mark.parametrize(
    ("seconds", "text"), [(5, "5s"), (119, "119s"), (600, "10m"), (7200, "2h"), (3 * 86400, "3d")]
)
def test_ages_read_like_kubectl(seconds: int, text: str) -> None:
    assert age("2026-01-01T00:00:00Z", now=1767225600 + seconds) == text


def test_fault_settings_change_only_what_is_given() -> None:
    faults = Faults()
    faults.set(latency_ms=20, jitter_ms=5)
    faults.set(error_rates={"create": {429: 0.5}})
    assert faults.settings.latency_ms == 20 and faults.settings.error_rates == {"create": {429: 0.5}}
    assert 0.015 <= faults.delay_s() <= 0.025
    faults.clear()
    assert faults.delay_s() == 0 and faults.pick_error("create", "configmaps") is None


@pytest.mark.parametrize("rates", [{"fly": {500: 0.1}}, {"get": {404: 0.1}}, {"get": {500: 1.5}}])
def test_invalid_fault_settings_are_refused(rates: Any) -> None:
    with pytest.raises(ValueError):
        Faults().set(error_rates=rates)


def test_counters_sum_writes() -> None:
    counters = Counters()
    for verb in ("get", "create", "patch", "delete", "list", "deletecollection", "update"):
        counters.count(verb, "configmaps")
    assert counters.writes() == 5
