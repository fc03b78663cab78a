"""The audit log's levels: every write at INFO, a routine write that succeeded at DEBUG."""

from __future__ import annotations

import logging

import pytest

from drsyncer.kube import audit

LEASE = audit.Write("update", "leases.coordination.k8s.io", "Lease", "dr-system", "drsyncer-watcher")


def _levels(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == audit.AUDIT_LOGGER]


def test_a_routine_write_is_recorded_at_debug_unless_it_fails(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=audit.AUDIT_LOGGER)
    with audit.routine():
        audit.record("controller", LEASE, audit.SUCCESS, 200)
        audit.record("controller", LEASE, audit.ERROR, 409, "Conflict")
    audit.record("controller", LEASE, audit.SUCCESS, 200)  # outside the block again

    levels = [level for level, _ in _levels(caplog)]
    assert levels == [logging.DEBUG, logging.INFO, logging.INFO]
    assert '"reason":"Conflict"' in _levels(caplog)[1][1]


def test_at_info_a_routine_write_that_succeeded_is_not_written(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=audit.AUDIT_LOGGER)
    with audit.routine():
        audit.record("controller", LEASE, audit.SUCCESS, 200)
    assert _levels(caplog) == []
