"""Processes sharing a Redis share their kubeconfig Secret re-reads (drsyncer.kube.secret_reads):
an unchanged Secret is read by one of them per interval, and a rotation still reaches every one
within the interval. Each `ClusterClients` here stands for one process; a real redis-server, and a
simulated controller cluster (the last test: a real one too)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import pytest
import redis
import yaml

from drsyncer.kube import ClusterClient, ClusterClients
from drsyncer.kube.discovery import offline_ref
from drsyncer.kube.kubeconfig import client_from_kubeconfig_file
from drsyncer.kube.secret_reads import SharedSecretReads
from drsyncer.sim import SimCluster
from tests.fixtures.polling import eventually
from tests.integration.kube.conftest import SECRETS, kubeconfig_text, put_secret, remote_cluster

RECHECK_S = 60.0
TOKEN = "t0k-dr1-shared"


class Clock:
    """One made-up time line for every process: their monotonic and wall clocks move together."""

    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def rc(controller: ClusterClient, dr1: SimCluster) -> dict[str, Any]:
    """RemoteCluster dr1, its kubeconfig Secret in place."""
    put_secret(controller, "dr1-kubeconfig", {"kubeconfig": kubeconfig_text(dr1.kubeconfig_dict())})
    return remote_cluster("dr1", "dr1-kubeconfig")


def _processes(controller: ClusterClient, redis_url: str, clock: Clock, count: int) -> list[ClusterClients]:
    connection = redis.Redis.from_url(redis_url)
    return [
        ClusterClients(
            controller,
            recheck_s=RECHECK_S,
            clock=clock,
            secret_reads=SharedSecretReads(connection, controller.identity, RECHECK_S, clock=clock),
        )
        for _ in range(count)
    ]


def _reads(controller: ClusterClient) -> int:
    return controller.counters.get(controller.name, "requests")


def test_an_unchanged_secret_is_read_by_one_process_per_interval(
    controller: ClusterClient, dr1: SimCluster, redis_url: str
) -> None:
    config = dr1.kubeconfig_dict()
    config["users"][0]["user"]["token"] = TOKEN
    put_secret(controller, "dr1-kubeconfig", {"kubeconfig": kubeconfig_text(config)})
    rc = remote_cluster("dr1", "dr1-kubeconfig")
    clock = Clock()
    processes = _processes(controller, redis_url, clock, 4)
    before = _reads(controller)
    first = [p.get(rc) for p in processes]  # each builds its client: it needs the content itself
    assert _reads(controller) == before + 4

    for _ in range(3):
        clock.t += RECHECK_S + 1  # every process's client is due
        before = _reads(controller)
        assert [p.get(rc) for p in processes] == first  # unchanged: the same clients
        assert _reads(controller) == before + 1  # read by the first process due, not by all four

    # what Redis holds says which version was read and when, and nothing of the Secret
    key = SharedSecretReads(redis.Redis.from_url(redis_url), controller.identity, RECHECK_S).key(
        "dr-system", "dr1-kubeconfig"
    )
    note = redis.Redis.from_url(redis_url).get(key)
    assert note is not None and set(json.loads(note)) == {"resourceVersion", "at"}
    assert TOKEN.encode() not in note
    for p in processes:
        p.close()


def test_a_rotation_reaches_every_process_within_the_interval(
    controller: ClusterClient, dr1: SimCluster, redis_url: str
) -> None:
    revoked = dr1.kubeconfig_dict()
    revoked["users"][0]["user"]["token"] = "revoked-token"
    put_secret(controller, "dr1-kubeconfig", {"kubeconfig": kubeconfig_text(revoked)})
    rc = remote_cluster("dr1", "dr1-kubeconfig")
    clock = Clock()
    a, b = _processes(controller, redis_url, clock, 2)
    old_a, old_b = a.get(rc), b.get(rc)

    clock.t += RECHECK_S + 1
    assert a.get(rc) is old_a  # a reads the Secret: unchanged
    put_secret(controller, "dr1-kubeconfig", {"kubeconfig": kubeconfig_text(dr1.kubeconfig_dict())})
    # b, due just after the rotation, takes a's read of the old version: as current as that read,
    # and no more
    clock.t += 1
    before = _reads(controller)
    assert b.get(rc) is old_b
    assert _reads(controller) == before
    # once a's read is an interval old, b reads the Secret itself and gets the rotated credential
    clock.t += RECHECK_S - 1
    new_b = b.get(rc)
    assert new_b is not old_b and new_b.server_version()
    # a, due too, finds a read of another version than its own and reads the Secret as well
    new_a = a.get(rc)
    assert new_a is not old_a and new_a.server_version()
    assert _reads(controller) == before + 2
    a.close()
    b.close()


def test_installations_sharing_a_redis_never_take_each_other_reads(
    controller: ClusterClient, rc: dict[str, Any], clock: Clock, redis_url: str
) -> None:
    (ours,) = _processes(controller, redis_url, clock, 1)
    # another installation's controller cluster, with a Secret of the same name and, by chance, the
    # same resourceVersion: its note must not count as a read of ours
    other = SharedSecretReads(redis.Redis.from_url(redis_url), "another-controller", RECHECK_S, clock=clock)
    ours.get(rc)
    clock.t += RECHECK_S + 1
    version = controller.get(SECRETS, "dr-system", "dr1-kubeconfig")["metadata"]["resourceVersion"]
    other.record("dr-system", "dr1-kubeconfig", version)
    before = _reads(controller)
    ours.get(rc)
    assert _reads(controller) == before + 1
    ours.close()


def test_a_health_check_reads_the_secret_itself(
    controller: ClusterClient, rc: dict[str, Any], clock: Clock, redis_url: str
) -> None:
    a, b = _processes(controller, redis_url, clock, 2)
    a.get(rc), b.get(rc)
    clock.t += RECHECK_S + 1
    a.get(rc)
    before = _reads(controller)
    b.get(rc, current=True)  # "the Secret as it is now": another process's note does not do
    assert _reads(controller) == before + 1
    a.close()
    b.close()


def test_without_redis_every_process_reads_the_secret_and_lookups_go_on(
    controller: ClusterClient, rc: dict[str, Any], clock: Clock
) -> None:
    # nothing listens on port 1: every note is lost and every look-up finds none
    processes = _processes(controller, "redis://127.0.0.1:1/0", clock, 2)
    first = [p.get(rc) for p in processes]
    clock.t += RECHECK_S + 1
    before = _reads(controller)
    assert [p.get(rc) for p in processes] == first
    assert _reads(controller) == before + 2
    for p in processes:
        p.close()


def test_in_workers_the_background_recheck_takes_another_process_read_too(
    controller: ClusterClient, rc: dict[str, Any], clock: Clock, redis_url: str
) -> None:
    a, b = _processes(controller, redis_url, clock, 2)
    a.background_rechecks = b.background_rechecks = True
    old_a, old_b = a.get(rc), b.get(rc)
    clock.t += RECHECK_S + 1
    before = _reads(controller)
    assert a.get(rc) is old_a  # due: a thread re-reads the Secret, the lookup does not wait
    eventually(lambda: _reads(controller) == before + 1 and not _rereading(), what="a's re-read")
    assert b.get(rc) is old_b  # due too: its thread finds a's read of the same version
    eventually(lambda: not _rereading(), what="b's recheck")
    assert _reads(controller) == before + 1
    a.close()
    b.close()


def _rereading() -> bool:
    return any(t.name == "kubeconfig-reread" for t in threading.enumerate())


def test_a_rotation_is_told_apart_by_resource_version_on_both_backends(kube, redis_url: str) -> None:
    world = kube(["ctl", "dr1"])
    namespace = f"shared-reads-{uuid.uuid4().hex[:8]}"
    config = yaml.safe_load(world.kubeconfig.read_text())
    context = next(c for c in config["contexts"] if c["name"] == "dr1")
    dr1_config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [c for c in config["clusters"] if c["name"] == context["context"]["cluster"]],
        "users": [u for u in config["users"] if u["name"] == context["context"]["user"]],
        "contexts": [context],
        "current-context": "dr1",
    }
    with client_from_kubeconfig_file(world.kubeconfig, context="ctl") as controller:
        namespaces = offline_ref("namespaces")
        assert namespaces is not None
        controller.create(namespaces, None, {"metadata": {"name": namespace}})
        put_secret(controller, "dr1", {"kubeconfig": kubeconfig_text(dr1_config)}, namespace)
        rc = remote_cluster("dr1", "dr1")
        rc["metadata"]["namespace"] = namespace
        clock = Clock()
        a, b = _processes(controller, redis_url, clock, 2)
        old_a, old_b = a.get(rc), b.get(rc)
        clock.t += RECHECK_S + 1
        assert a.get(rc) is old_a
        # the same credentials written again, as a rotation by `kubectl apply` would: a new version
        put_secret(
            controller, "dr1", {"kubeconfig": kubeconfig_text({**dr1_config, "preferences": {}})}, namespace
        )
        clock.t += 1
        before = _reads(controller)
        assert b.get(rc) is old_b  # a's read, of the version b was built from, is a second old
        clock.t += RECHECK_S
        assert b.get(rc) is not old_b and a.get(rc) is not old_a  # each read the new version itself
        assert _reads(controller) == before + 2
        assert b.get(rc).server_version() and a.get(rc).server_version()
        a.close()
        b.close()


def test_processes_due_together_wait_for_the_one_reading_instead_of_reading_too(
    controller: ClusterClient, rc: dict[str, Any], clock: Clock, redis_url: str
) -> None:
    (b,) = _processes(controller, redis_url, clock, 1)
    b.background_rechecks = True
    old_b = b.get(rc)
    version = controller.get(SECRETS, "dr-system", "dr1-kubeconfig")["metadata"]["resourceVersion"]
    # another process of the same installation is re-reading the Secret right now
    reading = SharedSecretReads(redis.Redis.from_url(redis_url), controller.identity, RECHECK_S, clock=clock)
    clock.t += RECHECK_S + 1
    assert reading.claim("dr-system", "dr1-kubeconfig")
    before = _reads(controller)
    assert b.get(rc) is old_b  # due: its recheck finds the lease taken and leaves it at that
    eventually(lambda: not _rereading(), what="b's recheck")
    assert _reads(controller) == before
    # the other process's note arrives; b's next lookup takes it
    reading.record("dr-system", "dr1-kubeconfig", version)
    assert b.get(rc) is old_b
    eventually(lambda: not _rereading(), what="b's second recheck")
    clock.t += RECHECK_S - 2  # current from the other read: not due yet, so no read of its own
    assert b.get(rc) is old_b and not _rereading()
    assert _reads(controller) == before
    # a lease whose read failed ends at once: the next due process reads
    clock.t += RECHECK_S
    assert reading.claim("dr-system", "dr1-kubeconfig")
    reading.release("dr-system", "dr1-kubeconfig")
    b.get(rc)
    eventually(lambda: _reads(controller) == before + 1 and not _rereading(), what="b's own read")
    b.close()


def test_a_note_from_a_pod_whose_clock_runs_ahead_still_ages(redis_url: str) -> None:
    connection = redis.Redis.from_url(redis_url)
    ahead = SharedSecretReads(connection, "ctl", 1.0, clock=lambda: time.time() + 100)
    reader = SharedSecretReads(connection, "ctl", 1.0)
    ahead.record("dr-system", "dr1-kubeconfig", "42")
    # by the clocks the read is in the future (age 0); Redis's expiry of the note says how old it is
    seen = eventually(
        lambda: (s := reader.seen("dr-system", "dr1-kubeconfig")) and s[1] > 0.2 and s,
        what="the note to age",
    )
    assert seen[0] == "42" and seen[1] < 1.0
    eventually(lambda: reader.seen("dr-system", "dr1-kubeconfig") is None, what="the note to expire")
