"""The executor's write threads: shared by the plans of a process and kept between them."""

from __future__ import annotations

import threading

import pytest

from drsyncer.sync.execute import Limits
from tests.integration.sync.conftest import World, counts_of, rules, seed


@pytest.mark.sim_only("counts the threads writes are sent from; no server behaviour is involved")
def test_a_later_sync_writes_on_the_threads_an_earlier_one_started(world: World) -> None:
    seed(
        world, [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i}"}} for i in range(12)]
    )
    writers: list[set[threading.Thread]] = [set()]
    lock = threading.Lock()

    def observe(_cluster: str, verb: str, _status: int) -> None:
        thread = threading.current_thread()
        if verb == "POST" and thread.name.startswith("sync-write"):  # the objects, not the namespace
            with lock:
                writers[-1].add(thread)

    for name in ("dr1", "dr2"):
        world.clients[name].counters.observers.append(observe)
    sync_rules = rules(resourceTypes=["configmaps"], syncCRDs=False)
    limits = Limits(concurrency=3)
    first = world.sync(sync_rules, limits=limits)
    assert [counts_of(r).get("created") for r in first] == [12, 12]
    alive = set(threading.enumerate())
    writers.append(set())
    again = world.sync(sync_rules, dest_ns=f"{world.ns}-b", limits=limits)
    assert [counts_of(r).get("created") for r in again] == [12, 12]
    assert writers[1] and writers[1] <= alive, "the second sync started write threads of its own"
