"""Where the executor's writes are sent from: a stage's creates together from the sync's own thread,
its other writes on write threads shared by the plans of a process and kept between them."""

from __future__ import annotations

import threading

import pytest

from drsyncer.sync.execute import Limits
from tests.integration.sync.conftest import World, counts_of, modify, rules, seed

CONFIGMAPS = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i}"}} for i in range(12)]


@pytest.mark.sim_only("counts the threads writes are sent from; no server behaviour is involved")
def test_creates_go_together_and_a_later_sync_updates_on_the_threads_an_earlier_one_started(
    world: World,
) -> None:
    seed(world, CONFIGMAPS)
    senders: list[dict[str, set[threading.Thread]]] = []
    lock = threading.Lock()

    def observe(_cluster: str, verb: str, _status: int) -> None:
        with lock:
            senders[-1].setdefault(verb, set()).add(threading.current_thread())

    for name in ("dr1", "dr2"):
        world.clients[name].counters.observers.append(observe)
    sync_rules = rules(resourceTypes=["configmaps"], syncCRDs=False)
    limits = Limits(concurrency=3)

    def sync_changed(expect: str, label: str) -> dict[str, set[threading.Thread]]:
        senders.append({})
        for template in CONFIGMAPS:
            modify(world, "source", template, lambda obj: obj.setdefault("data", {}).update(run=label))
        results = world.sync(sync_rules, limits=limits)
        assert [counts_of(r).get(expect) for r in results] == [12, 12]
        return senders[-1]

    senders.append({})
    first = world.sync(sync_rules, limits=limits)
    assert [counts_of(r).get("created") for r in first] == [12, 12]
    # one thread per destination sends its 12 creates (and its namespace's)
    creators = senders[-1]["POST"]
    assert len(creators) <= 2 and not any(t.name.startswith("sync-write") for t in creators)

    updaters = sync_changed("updated", "second")["PUT"]
    assert updaters and all(t.name.startswith("sync-write") for t in updaters)
    alive = set(threading.enumerate())
    again = sync_changed("updated", "third")["PUT"]
    assert again and again <= alive, "the third sync started write threads of its own"
