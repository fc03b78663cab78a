"""The watcher's work follows what changed, not the size of the fleet: status writes (most events at
fleet size: every run ends with one) reconcile nothing, a spec change looks at that one object and
writes only its entries, and the full reconcile of every resync repairs whatever that missed."""

from __future__ import annotations

import redis
from prometheus_client import REGISTRY

from tests.integration.scheduler.conftest import NS, World, eventually, replication
from tests.integration.scheduler.test_watcher import StartWatcher

NAMES = [f"app-{i}" for i in range(6)]


def _phase_gauge(name: str, phase: str) -> float | None:
    return REGISTRY.get_sample_value(
        "dr_syncer_replication_phase", {"replication": f"{NS}/{name}", "phase": phase}
    )


def _calls(redis_url: str, command: str) -> int:
    stats = redis.Redis.from_url(redis_url).info("commandstats")
    return int((stats.get(f"cmdstat_{command}") or {}).get("calls", 0))


def _fleet(world: World, start_watcher: StartWatcher, **overrides: str):  # type: ignore[no-untyped-def]
    running = start_watcher(**overrides)
    for name in NAMES:
        world.apply(
            replication(
                name, sourceNamespace=None, namespaceMappings=[{"source": "web", "destination": name}]
            )
        )
    expected = {f"drsyncer:{NS}/{name}:web" for name in NAMES}
    eventually(lambda: world.entries() == expected, what="every entry")
    watcher = running.service.watcher
    assert watcher is not None
    # the status each new Replication gets (Pending) is written by the watcher itself
    eventually(lambda: all(_phase_gauge(n, "Pending") == 1 for n in NAMES), what="every phase Pending")
    return watcher


def test_status_writes_reconcile_nothing_but_move_the_gauges(
    world: World, start_watcher: StartWatcher
) -> None:
    watcher = _fleet(world, start_watcher, resync_interval="1h")
    reconciles = watcher.reconciles
    for name in NAMES:  # what the workers write when a run ends
        world.controller.patch(
            world.replications, NS, name, {"status": {"phase": "Completed"}}, subresource="status"
        )
    eventually(
        lambda: all(_phase_gauge(n, "Completed") == 1 for n in NAMES),
        what="the gauges to follow the status writes",
    )
    assert watcher.reconciles == reconciles


def test_a_spec_change_looks_at_its_object_and_writes_only_its_entries(
    world: World, start_watcher: StartWatcher
) -> None:
    watcher = _fleet(world, start_watcher, resync_interval="1h")
    scans, hgets = _calls(world.redis_url, "scan"), _calls(world.redis_url, "hget")
    reconciles = watcher.reconciles
    world.patch("app-3", {"spec": {"schedule": "@every 20s"}})
    eventually(
        lambda: (
            watcher.reconciles > reconciles
            and watcher.last_report is not None
            and watcher.last_report.schedule.updated
        ),
        what="the change to be reconciled",
    )
    report = watcher.last_report
    assert report is not None and not report.full
    assert report.schedule.updated == [f"drsyncer:{NS}/app-3:web"]
    assert not report.schedule.added and not report.schedule.removed
    assert report.looked_at == 1
    # the schedule was not read back from Redis: no key scan, one read of the entry it rewrote
    assert _calls(world.redis_url, "scan") == scans
    assert _calls(world.redis_url, "hget") - hgets <= 2
    assert world.entry(f"drsyncer:{NS}/app-3:web").schedule.run_every.total_seconds() == 20


def test_the_resync_repairs_an_entry_removed_behind_the_watchers_back(
    world: World, start_watcher: StartWatcher
) -> None:
    watcher = _fleet(world, start_watcher, resync_interval="2")
    lost = f"drsyncer:{NS}/app-1:web"
    world.store.delete(lost)
    assert lost not in world.entries()
    eventually(lambda: lost in world.entries(), timeout_s=15, what="the resync to write the entry back")
    assert watcher.last_report is not None
