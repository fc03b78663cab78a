"""A repeated Event is counted on the one already there, whichever process posts it, on the simulator
and on kube-apiserver: one Event per (object, reason, type, component), not one per run."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from drsyncer.kube import client_from_kubeconfig
from drsyncer.status import events
from drsyncer.status.writer import post_event
from tests.fixtures.backends import World

START = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def _events(world: World, namespace: str) -> list[Any]:
    return sorted(world.core("ctl").list_namespaced_event(namespace).items, key=lambda e: e.reason)


def test_a_repeated_event_is_counted_on_one_event_whichever_worker_posts_it(
    kube: Callable[..., World],
) -> None:
    world = kube(["ctl"])
    namespace = f"ev-{uuid.uuid4().hex[:8]}"
    core = world.core("ctl")
    core.create_namespace({"metadata": {"name": namespace}})
    owner = core.create_namespaced_config_map(namespace, {"metadata": {"name": "web"}})
    involved = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "namespace": namespace,
        "name": "web",
        "uid": owner.metadata.uid,
    }
    # two workers, each with its own client and its own memory of what it posted
    one = client_from_kubeconfig(world["ctl"].kubeconfig_dict(), name="ctl")
    two = client_from_kubeconfig(world["ctl"].kubeconfig_dict(), name="ctl")
    try:
        sent: list[tuple[str, int]] = []
        one.counters.observers.append(lambda _c, verb, status: sent.append((verb, status)))
        posts = [(one, "w1"), (one, "w1"), (two, "w2"), (one, "w1"), (two, "w2")]
        for i, (client, instance) in enumerate(posts):
            sent.clear()
            body = events.event(
                involved,
                "SyncCompleted",
                f"run {i}: 100 unchanged",
                now=START + timedelta(minutes=i),
                instance=instance,
            )
            assert post_event(client, body)
            if i == 1:  # a repeat in the process that posted it last: one patch
                assert sent == [("PATCH", 200)]
            if i == 3:  # after another worker counted it: read again, not created again
                assert sent == [("PATCH", 409), ("GET", 200), ("PATCH", 200)]
        assert post_event(
            one,
            events.event(involved, "SyncFailed", "run 5: boom", type_="Warning", now=START, instance="w1"),
        )

        completed, failed = _events(world, namespace)
        assert (completed.reason, completed.count, completed.message) == (
            "SyncCompleted",
            5,
            "run 4: 100 unchanged",
        )
        assert completed.first_timestamp == START and completed.last_timestamp == START + timedelta(minutes=4)
        assert completed.reporting_instance == "w2" and completed.involved_object.uid == owner.metadata.uid
        assert (failed.reason, failed.type, failed.count) == ("SyncFailed", "Warning", 1)

        # the Event expires (the API server's --event-ttl) while a worker remembers it: posted anew
        core.delete_namespaced_event(completed.metadata.name, namespace)
        again = events.event(
            involved, "SyncCompleted", "run 6", now=START + timedelta(hours=2), instance="w1"
        )
        assert post_event(one, again) and post_event(two, again)
        completed, _ = _events(world, namespace)
        assert (completed.count, completed.message) == (2, "run 6")
        assert completed.first_timestamp == START + timedelta(hours=2)
    finally:
        one.close()
        two.close()
