"""What a resync reads: both sides as metadata, and in full only what moved.

On the simulator the test also counts what the clusters answered: an unchanged resync gets no
object of the synced types (no GET, only metadata lists) and a fraction of the bytes of the first
sync; a resync after changes reads in full exactly the sources whose copies need writing.
"""

from __future__ import annotations

import dataclasses

from drsyncer.api import keys
from drsyncer.sync.execute import Limits
from tests.integration.sync.conftest import (
    World,
    counts_of,
    create,
    delete,
    modify,
    read,
    rules,
    seed,
)

# bodies well above their metadata, as the resync's saving is in bodies; the first sync receives
# each body once (the source's: its writes are answered with metadata only)
PAYLOAD = "x" * 12288


def _configmap(name: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"payload": PAYLOAD}}


NAMES = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot")


def _full_reads(world: World, cluster: str) -> int:
    """Single ConfigMaps the cluster sent in full since the counters were reset: GETs of one (how a
    copy is read) and lists beyond the one metadata list of the run (a source object is read with a
    list by name, which the source identity's `list` grant covers)."""
    counters = world.sim(cluster).counters()
    gets = counters.get("get", {}).get("configmaps", 0)
    lists = counters.get("list", {}).get("configmaps", 0)
    return gets + max(lists - 1, 0)


def _bytes(world: World) -> int:
    return sum(world.sim(c).bytes_sent() for c in ("source", "dr1", "dr2"))


def test_resync_reads_metadata_and_rereads_only_what_moved_drifted_or_is_missing(world: World) -> None:
    seed(world, [_configmap(n) for n in NAMES])
    sync_rules = rules(resourceTypes=["configmaps"], syncCRDs=False)
    unchanged = {"unchanged": len(NAMES), "skipped": 1}  # kube-root-ca.crt is never copied
    sim = world.backend == "sim"

    world.reset_counters()
    world.sync(sync_rules)
    cold_bytes = _bytes(world) if sim else 0

    world.reset_counters()
    results = world.sync(sync_rules, prune=True)
    assert world.writes() == 0
    assert [counts_of(r) for r in results] == [unchanged] * 2
    if sim:
        assert [_full_reads(world, c) for c in ("source", "dr1", "dr2")] == [0, 0, 0]
        assert _bytes(world) < cold_bytes * 0.2

    # bravo moves in the source; echo's copy in dr1 is edited by hand (its marks too); charlie's
    # copy in dr2 is deleted; delta is deleted in the source
    modify(world, "source", _configmap("bravo"), lambda cm: cm["data"].update(level="2"))

    def edit(cm: dict[str, object]) -> None:
        cm["data"] = {"payload": "edited"}  # type: ignore[assignment]
        cm["metadata"]["annotations"][keys.ANNOTATION_SOURCE_HASH] = "edited-by-hand"  # type: ignore[index]

    modify(world, "dr1", _configmap("echo"), edit)
    delete(world, "dr2", _configmap("charlie"))
    delete(world, "source", _configmap("delta"))
    world.reset_counters()
    dr1, dr2 = world.sync(sync_rules, prune=True)

    if sim:
        # sources of bravo (both), echo (dr1) and charlie (dr2); the copies an update replaces
        assert [_full_reads(world, c) for c in ("source", "dr1", "dr2")] == [3, 2, 1]
    assert counts_of(dr1) == {"updated": 2, "unchanged": 3, "pruned": 1, "skipped": 1}
    assert counts_of(dr2) == {"created": 1, "updated": 1, "unchanged": 3, "pruned": 1, "skipped": 1}
    for cluster in ("dr1", "dr2"):
        for name in ("bravo", "charlie", "echo"):
            there = read(world, cluster, _configmap(name))
            assert there is not None and there["data"]["payload"] == PAYLOAD, (cluster, name)
        bravo = read(world, cluster, _configmap("bravo"))
        assert bravo is not None and bravo["data"]["level"] == "2"
        assert read(world, cluster, _configmap("delta")) is None

    # a rules change that shapes copies re-reads and rewrites every copy once, then all is settled
    changed = dataclasses.replace(sync_rules, keep_node_ports=True)
    world.reset_counters()
    assert [counts_of(r) for r in world.sync(changed)] == [{"updated": 5, "skipped": 1}] * 2
    world.reset_counters()
    assert [counts_of(r) for r in world.sync(changed)] == [{"unchanged": 5, "skipped": 1}] * 2
    assert world.writes() == 0
    if sim:
        assert [_full_reads(world, c) for c in ("source", "dr1", "dr2")] == [0, 0, 0]


def test_a_source_recreated_under_the_same_name_is_copied_again(world: World) -> None:
    seed(world, [_configmap("alpha")])
    sync_rules = rules(resourceTypes=["configmaps"], syncCRDs=False)
    world.sync(sync_rules, destinations=("dr1",))
    delete(world, "source", _configmap("alpha"))
    create(world, "source", {**_configmap("alpha"), "data": {"payload": "new"}})

    (result,) = world.sync(sync_rules, destinations=("dr1",))

    assert counts_of(result) == {"updated": 1, "skipped": 1}
    copy_ = read(world, "dr1", _configmap("alpha"))
    source = read(world, "source", _configmap("alpha"))
    assert copy_ is not None and source is not None
    assert copy_["data"] == {"payload": "new"}
    assert copy_["metadata"]["annotations"][keys.ANNOTATION_SOURCE_UID] == source["metadata"]["uid"]


def test_a_namespace_larger_than_a_chunk_is_read_in_full_once_and_written_chunk_by_chunk(
    world: World,
) -> None:
    names = [f"cm-{n:02d}" for n in range(20)]  # more than ONE_BY_ONE: one paged list, not GETs
    seed(world, [{**_configmap(n), "data": {"n": n}} for n in names])
    sync_rules = rules(resourceTypes=["configmaps"], syncCRDs=False)
    small = Limits(chunk=6)
    world.reset_counters()

    results = world.sync(sync_rules, limits=small)

    assert [counts_of(r) for r in results] == [{"created": 20, "skipped": 1}] * 2
    if world.backend == "sim":
        lists = world.sim("source").counters().get("list", {}).get("configmaps", 0)
        gets = world.sim("source").counters().get("get", {}).get("configmaps", 0)
        assert (lists, gets) == (2, 0)  # the metadata list, then one full list, and no single reads
    for cluster in ("dr1", "dr2"):
        listed = world.core(cluster).list_namespaced_config_map(world.ns).items
        assert sorted(cm.metadata.name for cm in listed if cm.metadata.name in names) == names
    delete(world, "source", _configmap("cm-07"))
    modify(world, "source", _configmap("cm-13"), lambda cm: cm["data"].update(n="changed"))

    again = world.sync(sync_rules, limits=small, prune=True)

    assert [counts_of(r) for r in again] == [{"updated": 1, "unchanged": 18, "pruned": 1, "skipped": 1}] * 2
