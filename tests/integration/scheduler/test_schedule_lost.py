"""Redis losing the schedule (a restart without persistence, a failover, a flush): the watcher notices
within its schedule check, long before its next resync, writes every entry back and ends the runs
Redis forgot."""

from __future__ import annotations

import redis
from prometheus_client import REGISTRY

from scheduler.watcher import SCHEDULE_CHECK_S
from tests.integration.scheduler.conftest import NS, World, eventually, replication
from tests.integration.scheduler.test_watcher import StartWatcher


def test_schedule_flushed_from_redis_is_written_back_and_the_running_run_is_failed(
    world: World, start_watcher: StartWatcher
) -> None:
    start_watcher(resync_interval="1h")
    mappings = [{"source": ns, "destination": ns} for ns in ("shop", "web")]
    world.apply(replication("lost", sourceNamespace=None, namespaceMappings=mappings))
    expected = {f"drsyncer:{NS}/lost:shop", f"drsyncer:{NS}/lost:web"}
    eventually(lambda: world.entries() == expected, what="the entries")
    # a run in progress, as a worker's first task records it
    world.controller.patch(
        world.replications, NS, "lost", {"status": {"phase": "Running"}}, subresource="status"
    )
    # a status write reconciles nothing, but the watcher's copy and its phase gauge follow it
    eventually(
        lambda: (
            REGISTRY.get_sample_value(
                "dr_syncer_replication_phase", {"replication": f"{NS}/lost", "phase": "Running"}
            )
            == 1
        ),
        what="the watcher to see the run start",
    )

    redis.Redis.from_url(world.redis_url).flushdb()
    eventually(
        lambda: world.entries() == expected,
        timeout_s=SCHEDULE_CHECK_S + 10,
        what="the watcher to write the schedule back",
    )
    status = eventually(
        lambda: (s := (world.get("lost") or {}).get("status") or {}).get("phase") == "Failed" and s,
        what="the lost run to be failed",
    )
    synced = next(c for c in status["conditions"] if c["type"] == "Synced")
    assert synced["status"] == "False" and synced["reason"] == "RunLost"
