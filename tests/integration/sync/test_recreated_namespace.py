"""A source namespace deleted and created again (a mistake undone by GitOps or a Helm install) has
none of its old objects yet: pruning must not take the DR copies made from the old one, which are
then the only ones left. They are kept and said to be; copies of the new namespace's own objects are
pruned as before."""

from __future__ import annotations

from datetime import UTC, datetime

from drsyncer.status.replication import kept_message
from drsyncer.sync.result import Phase, RunSummary
from tests.fixtures.polling import eventually
from tests.integration.sync.conftest import Obj, World, counts_of, create, delete, read, rules, seed


def _configmap(name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": name}}


def test_copies_of_a_deleted_and_recreated_source_namespace_are_kept_not_pruned(world: World) -> None:
    old = [_configmap(f"old-{i}") for i in range(3)]
    seed(world, old)
    pruning = rules(resourceTypes=["configmaps"], syncCRDs=False, pruneDeleted=True)
    (first,) = world.sync(pruning, destinations=("dr1",))
    assert counts_of(first)["created"] == 3
    copied = max(str((read(world, "dr1", o) or {})["metadata"]["creationTimestamp"]) for o in old)

    world.call("source", "DELETE", f"/api/v1/namespaces/{world.ns}")
    eventually(
        lambda: world.get("source", f"/api/v1/namespaces/{world.ns}") is None,
        timeout_s=60,
        what="the source namespace to be gone",
    )
    # (timestamps have whole seconds: the new namespace is created in a later second than the copies)
    eventually(
        lambda: datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") > copied, what="a second after the copies"
    )
    seed(world, [_configmap("new")])

    (after,) = world.sync(pruning, destinations=("dr1",))

    assert after.phase == Phase.COMPLETED
    assert counts_of(after).get("pruned", 0) == 0 and counts_of(after)["created"] == 1
    assert all(read(world, "dr1", o) is not None for o in old), "a copy of the old namespace was pruned"
    kept = sorted(s.name for s in after.skips if s.kept)
    assert kept == ["old-0", "old-1", "old-2"]
    assert next(s for s in after.skips if s.kept).reason.startswith(
        "kept, not pruned: copied from an earlier source namespace of this name (the copy was created "
    )
    message = kept_message(RunSummary("dr-system/shop", [after]))
    assert message is not None and message.startswith(
        "3 destination copies were kept, not pruned: made from an earlier source namespace of the same name"
    )

    # the new namespace's own objects are pruned as before
    delete(world, "source", _configmap("new"))
    (later,) = world.sync(pruning, destinations=("dr1",))
    assert counts_of(later)["pruned"] == 1 and read(world, "dr1", _configmap("new")) is None
    assert all(read(world, "dr1", o) is not None for o in old)

    # an old copy becomes the copy of a same-named object the source has again
    create(world, "source", _configmap("old-0"))
    (again,) = world.sync(pruning, destinations=("dr1",))
    assert sorted(s.name for s in again.skips if s.kept) == ["old-1", "old-2"]
