"""Fault campaigns on the whole pipeline (bounded, seeded, reproducible): one prefork pool process
SIGKILLed at a random moment of a sync, 20 % injected errors on every verb of every cluster at
once, a destination going down for 5 s and up for 5 s while runs go on, and beat SIGKILLed and
started again (no doubled run, no gap longer than a period plus the lock). Every trial must
converge: every source object in both destinations, with its data, nothing lost and nothing extra.
Afterwards a copied Secret's value is looked for, and must not be found, in every process log, every
Redis key and value (task arguments and results included), status, Events and metrics.

Short by default; `DRSYNCER_RELIABILITY_LONG=1` runs 20 trials of 2,000 objects. The seed is
`DRSYNCER_CAMPAIGN_SEED` (default 14), printed with every trial. Figures go to
`DRSYNCER_RELIABILITY_RESULTS` (see tests/fixtures/reliability.py).
"""

from __future__ import annotations

import base64
import itertools
import os
import random
import signal
import threading
import time
from typing import Any

import pytest

from drsyncer.kube.errors import AlreadyExists, Conflict
from scheduler.entries import entry_name
from scheduler.store import ScheduleStore
from tests.fixtures import reliability
from tests.integration.pipeline.conftest import (
    TASK_TIME_LIMIT_S,
    VISIBILITY_TIMEOUT_S,
    Pipeline,
    Proc,
    eventually,
)
from tests.integration.pipeline.secret_check import assert_no_secret_leaks

SEED = int(os.environ.get("DRSYNCER_CAMPAIGN_SEED", "14"))
KILL_TRIALS = reliability.sized(3, 20)
KILL_OBJECTS = reliability.sized(300, 2000)
ERROR_OBJECTS = reliability.sized(200, 2000)
ERROR_RATE = 0.2
VERBS = ("get", "list", "create", "update", "patch", "delete")


@pytest.fixture(scope="module")
def pipeline_credentials() -> bool:
    """Clusters behind tokens and kubeconfig Secrets with client keys, for the secret check at the end."""
    return True


@pytest.fixture(scope="module", autouse=True)
def flower(pipeline: Pipeline) -> None:
    """Flower from the start, so that the secret check reads every campaign's tasks in it."""
    pipeline.start_flower()


def _converged(pipe: Pipeline, namespace: str, count: int) -> tuple[int, int]:
    """(lost, extra) objects over both destinations, data compared with the source's."""
    source = pipe.configmaps("source", namespace)
    lost = extra = 0
    for cluster in ("dr1", "dr2"):
        copies = pipe.configmaps(cluster, namespace)
        lost += sum(
            1
            for name, obj in source.items()
            if name not in copies or copies[name].get("data") != obj.get("data")
        )
        extra += len(set(copies) - set(source))
    assert len(source) == count
    return lost, extra


@pytest.mark.parametrize("trial", range(KILL_TRIALS))
def test_pool_process_killed_at_a_random_moment_of_a_sync_converges(pipe: Pipeline, trial: int) -> None:
    rng = random.Random(SEED * 1000 + trial)
    namespace = f"camp-kill-{trial}"
    pipe.seed(namespace, KILL_OBJECTS, data_size=32)
    pipe.apply_replication(namespace, sourceNamespace=namespace, replicationMode="Manual")
    eventually(lambda: pipe.status(namespace).get("phase") == "Pending", what="the watcher to see it")
    kill_after = rng.randint(1, int(KILL_OBJECTS * 0.9))
    print(f"seed {SEED}, trial {trial}: SIGKILL the pool process after {kill_after} copies in dr1")
    for cluster in ("dr1", "dr2"):
        # a window to kill in: the last tenth of the copies takes at least two rounds of 16 writes at
        # 200 ms, longer than it takes to see the count and send the signal
        pipe.sim(cluster).faults.set(latency_ms=200)
    try:
        _run, (task_id,) = pipe.send_sync(namespace, [namespace])
        started = eventually(
            lambda: (t := pipe.running(task_id)) and t.get("worker_pid") and t, what="the task to start"
        )
        eventually(
            lambda: len(pipe.configmaps("dr1", namespace)) >= kill_after,
            timeout_s=60,
            what=f"{kill_after} copies",
        )
        os.kill(int(started["worker_pid"]), signal.SIGKILL)
        killed_at = time.monotonic()
        assert pipe.status(namespace).get("phase") != "Completed", "the sync ended before the kill"
        eventually(
            lambda: (
                pipe.status(namespace).get("phase") == "Completed"
                and _converged(pipe, namespace, KILL_OBJECTS) == (0, 0)
            ),
            timeout_s=120,
            what="the run to complete after the pool process died",
        )
        recover_s = time.monotonic() - killed_at
    except BaseException:
        lost, extra = _converged(pipe, namespace, KILL_OBJECTS)
        reliability.record(
            "SIGKILL of one pool process mid-sync",
            converged=False,
            lost=lost,
            duplicated=extra,
            objects=KILL_OBJECTS,
            seed=SEED,
        )
        raise
    finally:
        for cluster in ("dr1", "dr2"):
            pipe.sim(cluster).faults.clear()
    assert all(pipe.procs[w].alive for w in ("worker-1", "worker-2")), "a worker died with its pool process"
    reliability.record(
        "SIGKILL of one pool process mid-sync",
        converged=True,
        recover_s=recover_s,
        objects=KILL_OBJECTS,
        seed=SEED,
    )


def _created_through_conflicts(pipe: Pipeline, name: str, **spec: Any) -> bool:
    try:
        pipe.apply_replication(name, **spec)
    except (AlreadyExists, Conflict):
        return pipe.controller.get(pipe.resolve("replications.dr-syncer.io"), pipe.ns, name) is not None
    return True


def test_twenty_percent_errors_on_every_verb_of_every_cluster_converge(pipe: Pipeline) -> None:
    namespace = "camp-errors"
    pipe.seed(namespace, ERROR_OBJECTS, data_size=32)
    # kube-apiserver answers 409 (Conflict, AlreadyExists) to writes only: reads share the rate
    # among the other three codes
    third, quarter = round(ERROR_RATE / 3, 4), round(ERROR_RATE / 4, 4)
    rates = {
        verb: {409: quarter, 429: quarter, 500: quarter, 503: ERROR_RATE - 3 * quarter}
        if verb in ("create", "update", "patch", "delete")
        else {429: third, 500: third, 503: ERROR_RATE - 2 * third}
        for verb in VERBS
    }
    clusters = ("controller", "source", "dr1", "dr2")
    for cluster in clusters:
        pipe.sim(cluster).faults.set(error_rates=rates, retry_after_s=1)
    started = time.monotonic()
    try:
        # the user's create meets the controller's injected errors too: an injected 409 (nothing
        # written) is tried again, as a user would, until the Replication is there
        eventually(
            lambda: _created_through_conflicts(
                pipe, namespace, sourceNamespace=namespace, schedule="@every 5s"
            ),
            what="the Replication to be created through the injected conflicts",
        )
        eventually(
            lambda: (
                pipe.status(namespace).get("phase") == "Completed"
                and _converged(pipe, namespace, ERROR_OBJECTS) == (0, 0)
            ),
            timeout_s=180,
            what="a complete copy under 20 % errors",
        )
        recover_s = time.monotonic() - started
    except BaseException:
        lost, extra = _converged(pipe, namespace, ERROR_OBJECTS)
        reliability.record(
            "20 % 409/429/500/503 on every verb of every cluster (409 on writes)",
            converged=False,
            lost=lost,
            duplicated=extra,
            objects=ERROR_OBJECTS,
        )
        raise
    finally:
        for cluster in clusters:
            pipe.sim(cluster).faults.clear()
    for name in ("watcher", "beat", "worker-1", "worker-2"):
        assert pipe.procs[name].alive, f"{name} exited under injected errors"
    reliability.record(
        "20 % 409/429/500/503 on every verb of every cluster (409 on writes)",
        converged=True,
        recover_s=recover_s,
        objects=ERROR_OBJECTS,
    )


FLAP_CYCLES = reliability.sized(1, 3)
FLAP_OBJECTS = reliability.sized(300, 2000)
FLAP_S = 5.0


def test_destination_flapping_during_runs_converges_once_it_stays_up(pipe: Pipeline) -> None:
    namespace = "camp-flap"
    pipe.seed(namespace, FLAP_OBJECTS, data_size=32)
    dr2 = pipe.sim("dr2")
    pipe.apply_replication(namespace, sourceNamespace=namespace, schedule="@every 5s")
    eventually(lambda: len(pipe.configmaps("dr1", namespace)) > 0, timeout_s=60, what="the first run")
    stop = threading.Event()
    try:
        for _ in range(FLAP_CYCLES):  # down 5 s, up 5 s, while runs go on
            dr2.down()
            stop.wait(FLAP_S)
            dr2.up()
            stop.wait(FLAP_S)
    finally:
        dr2.up()
    flapped_until = time.monotonic()
    try:
        eventually(
            lambda: (
                pipe.status(namespace).get("phase") == "Completed"
                and _converged(pipe, namespace, FLAP_OBJECTS) == (0, 0)
            ),
            timeout_s=120,
            what="a complete copy after the flapping",
        )
    except BaseException:
        lost, extra = _converged(pipe, namespace, FLAP_OBJECTS)
        reliability.record(
            "destination flapping (down 5 s, up 5 s)",
            converged=False,
            lost=lost,
            duplicated=extra,
            objects=FLAP_OBJECTS,
        )
        raise
    reliability.record(
        "destination flapping (down 5 s, up 5 s)",
        converged=True,
        recover_s=time.monotonic() - flapped_until,
        objects=FLAP_OBJECTS,
    )


BEAT_PERIOD_S = 4
BEAT_LOCK_S = 4
BEAT_KILLS = reliability.sized(1, 5)
# how much later one run's task may reach a worker than another's after beat sent them (a busy worker
# main process): the measured spacing of two sends can be short of the sent spacing by this much
RECEIPT_NOISE_S = 0.25


def _sends(pipe: Pipeline, name: str) -> list[float]:
    """When a worker received each finished sync task of a Replication (epoch seconds, as Flower shows
    it), in order: beat's spacing of sends, as near as the workers see it. When a task finished would
    add how long each run took, and a Replication's first run (at once when it is created) takes
    longer than the next, closing their gap by up to the difference."""
    tasks = pipe.flower_tasks_of("drsyncer.sync_namespace", name)
    finished = [t for t in tasks if t.get("succeeded") or t.get("failed")]
    return sorted(
        float(t.get("received") or t.get("started") or t.get("succeeded") or t["failed"]) for t in finished
    )


def test_beat_killed_and_restarted_neither_doubles_nor_skips_scheduled_runs(pipe: Pipeline) -> None:
    namespace = "camp-beat"
    pipe.seed(namespace, 3)
    heartbeat = str(pipe.workdir / "beat.heartbeat")
    pipe.procs["beat"].stop()
    pipe.start(
        "beat",
        "beat",
        DRSYNCER_BEAT_MAX_INTERVAL="1",
        DRSYNCER_BEAT_LOCK_TIMEOUT=str(BEAT_LOCK_S),
        DRSYNCER_HEARTBEAT_FILE=heartbeat,
    )
    pipe.apply_replication(namespace, sourceNamespace=namespace, schedule=f"@every {BEAT_PERIOD_S}s")
    eventually(lambda: len(_sends(pipe, namespace)) >= 2, timeout_s=60, what="two scheduled runs")
    kills = []
    for _ in range(BEAT_KILLS):
        pipe.procs["beat"].kill()
        kills.append(time.time())
        pipe.start(
            "beat",
            "beat",
            DRSYNCER_BEAT_MAX_INTERVAL="1",
            DRSYNCER_BEAT_LOCK_TIMEOUT=str(BEAT_LOCK_S),
            DRSYNCER_HEARTBEAT_FILE=heartbeat,
        )
        eventually(
            lambda k=kills[-1]: len([t for t in _sends(pipe, namespace) if t > k]) >= 2,
            timeout_s=60,
            what="scheduled runs from the new beat",
        )
    sends = _sends(pipe, namespace)
    # the new beat waits out the old one's lock: at most one period plus the lock is missed
    longest = BEAT_PERIOD_S + BEAT_LOCK_S + 3
    gaps = [b - a for a, b in itertools.pairwise(sends)]
    # the first run after a kill may be the slot missed while no beat ran, sent late once the new one
    # holds the lock, and the next slot's run follows it closer than a period; together the two
    # still cover two slots after the run before the kill, which a doubled run would not
    caught_up = {sends.index(min(t for t in sends if t > k)) for k in kills}
    for killed_at, until in zip(kills, [*kills[1:], float("inf")], strict=True):
        before = max(t for t in sends if t <= killed_at)
        after = [t for t in sends if killed_at < t <= until]
        spanning = after[0] - before
        doubled = sum(1 for a, b in itertools.pairwise(after[1:]) if b - a < BEAT_PERIOD_S / 2)
        doubled += after[1] - before < 1.5 * BEAT_PERIOD_S
        reliability.record(
            "beat SIGKILLed and restarted",
            converged=spanning <= longest and doubled == 0,
            duplicated=doubled,
            recover_s=spanning,
        )
        assert after[1] - before >= 1.5 * BEAT_PERIOD_S, f"a run doubled across the restart: {gaps}"
    # beat sends an entry's runs at least half an interval apart (a send stands for its nearest grid
    # slot), and its first run as it is created may be just that; a doubled run is seconds closer
    close = [
        gap for i, gap in enumerate(gaps) if gap < BEAT_PERIOD_S / 2 - RECEIPT_NOISE_S and i not in caught_up
    ]
    assert not close, f"runs closer than half a period: {gaps}"
    assert max(gaps) <= longest, f"a gap of {max(gaps):.1f} s between scheduled runs: {gaps}"


STOP_TRIALS = reliability.sized(1, 5)
STOP_OBJECTS = reliability.sized(200, 2000)
# past the hard time limit and past Redis's visibility timeout, so the task is handed to another worker
STOP_S = max(TASK_TIME_LIMIT_S, VISIBILITY_TIMEOUT_S) + 5


def _busy_with(pipe: Pipeline, hostname: str, task_id: str) -> bool:
    replies = pipe.app.control.inspect(destination=[hostname], timeout=2).active()
    assert replies and hostname in replies, f"{hostname} did not answer"
    return any(task["id"] == task_id for task in replies[hostname])


@pytest.mark.parametrize("trial", range(STOP_TRIALS))
def test_worker_stopped_past_the_task_time_limit_then_continued_converges(pipe: Pipeline, trial: int) -> None:
    rng = random.Random(SEED * 1000 + 500 + trial)
    namespace = f"camp-stop-{trial}"
    pipe.seed(namespace, STOP_OBJECTS, data_size=32)
    pipe.apply_replication(namespace, sourceNamespace=namespace, replicationMode="Manual")
    eventually(lambda: pipe.status(namespace).get("phase") == "Pending", what="the watcher to see it")
    stop_after = rng.randint(1, int(STOP_OBJECTS * 0.9))
    stop_s = STOP_S + (rng.uniform(0, 10) if reliability.long_run() else 0.0)
    print(f"seed {SEED}, trial {trial}: SIGSTOP the worker after {stop_after} copies for {stop_s:.1f} s")
    for cluster in ("dr1", "dr2"):
        # a window to stop in, and a run long enough for `celery inspect active` to see it
        pipe.sim(cluster).faults.set(latency_ms=200)
    worker: Proc | None = None
    meanwhile: list[str] = []
    try:
        _run, (task_id,) = pipe.send_sync(namespace, [namespace])
        started = eventually(
            lambda: (t := pipe.running(task_id)) and t.get("worker_pid") and t, what="the task to start"
        )
        worker = pipe.procs[str(started["hostname"]).split("@", 1)[0]]
        assert worker.popen is not None
        eventually(
            lambda: len(pipe.configmaps("dr1", namespace)) >= stop_after,
            timeout_s=60,
            what=f"{stop_after} copies",
        )
        os.killpg(worker.popen.pid, signal.SIGSTOP)  # the whole pod frozen: worker and pool processes
        stopped_at = time.monotonic()
        held = threading.Event()
        while time.monotonic() - stopped_at < stop_s:  # what status says while the worker is frozen
            meanwhile.append(str(pipe.status(namespace).get("phase")))
            held.wait(1)
        os.killpg(worker.popen.pid, signal.SIGCONT)
        eventually(
            lambda: (
                pipe.status(namespace).get("phase") == "Completed"
                and _converged(pipe, namespace, STOP_OBJECTS) == (0, 0)
            ),
            timeout_s=120,
            what="the run to complete after the worker was continued",
        )
        recover_s = time.monotonic() - stopped_at
        # the continued worker finds its task past the time limit; what it reports must not undo the run
        eventually(
            lambda: not _busy_with(pipe, str(started["hostname"]), task_id),
            timeout_s=60,
            what="the continued worker to finish its delivery",
        )
        final = pipe.status(namespace)
        assert final.get("phase") == "Completed", final
        assert _converged(pipe, namespace, STOP_OBJECTS) == (0, 0)
    except BaseException:
        lost, extra = _converged(pipe, namespace, STOP_OBJECTS)
        reliability.record(
            "SIGSTOP of a worker past the task time limit, then SIGCONT",
            converged=False,
            lost=lost,
            duplicated=extra,
            objects=STOP_OBJECTS,
            seed=SEED,
        )
        raise
    finally:
        if worker is not None and worker.alive and worker.popen is not None:
            os.killpg(worker.popen.pid, signal.SIGCONT)
        for cluster in ("dr1", "dr2"):
            pipe.sim(cluster).faults.clear()
    print(f"status while the worker was stopped: {sorted(set(meanwhile))}; after: {final.get('phase')}")
    assert all(pipe.procs[w].alive for w in ("worker-1", "worker-2")), "a worker died after SIGCONT"
    reliability.record(
        "SIGSTOP of a worker past the task time limit, then SIGCONT",
        converged=True,
        recover_s=recover_s,
        objects=STOP_OBJECTS,
        seed=SEED,
    )


CUT_TRIALS = reliability.sized(1, 5)


def _entries(pipe: Pipeline) -> dict[str, Any]:
    """The controller namespace's schedule entries in Redis: name → stored definition."""
    store = ScheduleStore(pipe.app, pipe.ns)
    return store.stored_definitions(store.names())


def _entry(pipe: Pipeline, name: str) -> str:
    return entry_name("Replication", pipe.ns, name, name)


def _cut_trial(pipe: Pipeline, rng: random.Random, trial: int) -> float:
    """One cut with Replications created, updated and deleted during it; seconds from the last change
    to the schedule holding all of them."""
    controller = pipe.sim("controller")
    count = rng.randint(1, 3) if reliability.long_run() else 1
    cut_s = rng.uniform(3, 10) if reliability.long_run() else 4.0
    new = [_entry(pipe, f"camp-cut-{trial}-new-{i}") for i in range(count)]
    updated = [_entry(pipe, f"camp-cut-{trial}-upd-{i}") for i in range(count)]
    removed = [_entry(pipe, f"camp-cut-{trial}-del-{i}") for i in range(count)]
    name_of = {entry: entry.rsplit(":", 1)[1] for entry in new + updated + removed}
    for entry in updated + removed:
        pipe.apply_replication(name_of[entry], sourceNamespace=name_of[entry], schedule="@every 1h")
    eventually(
        lambda: set(updated + removed) <= set(_entries(pipe)), timeout_s=60, what="the entries before the cut"
    )
    before = _entries(pipe)
    print(f"seed {SEED}, trial {trial}: watches cut for {cut_s:.1f} s; {count} of each change")
    assert controller.cut_watches(refuse_s=cut_s) >= 1, "the watcher had no open watch to cut"
    for entry in new:
        pipe.apply_replication(name_of[entry], sourceNamespace=name_of[entry], schedule="@every 1h")
    for entry in updated:
        pipe.controller.patch(
            pipe.resolve("replications.dr-syncer.io"),
            pipe.ns,
            name_of[entry],
            {"spec": {"schedule": "@every 2h"}},
        )
    for entry in removed:
        pipe.delete_replication(name_of[entry])
        pipe.created.remove(name_of[entry])
    changed_at = time.monotonic()

    def picked_up(expected: dict[str, Any]) -> bool:
        entries = _entries(pipe)
        assert set(new) <= set(entries), "a Replication created during the cut has no entry"
        assert not set(removed) & set(entries), "a Replication deleted during the cut still has an entry"
        return all(entries.get(e) not in (None, expected[e]) for e in updated)

    eventually(lambda: picked_up(before), timeout_s=60, what="the changes made in the cut")
    recover_s = time.monotonic() - changed_at
    eventually(lambda: not controller.hub.cutting(), timeout_s=15, what="the cut to end")
    # and the watches are back: a change made after the cut is picked up too
    during = _entries(pipe)
    for entry in updated:
        pipe.controller.patch(
            pipe.resolve("replications.dr-syncer.io"),
            pipe.ns,
            name_of[entry],
            {"spec": {"schedule": "@every 3h"}},
        )
    eventually(lambda: picked_up(during), timeout_s=60, what="a change made after the cut in the schedule")
    return recover_s


def test_controller_watch_cut_mid_stream_picks_up_changes_made_during_the_cut(pipe: Pipeline) -> None:
    rng = random.Random(SEED * 1000 + 700)
    original = pipe.procs["watcher"]
    original.stop()
    # the watcher's periodic relist would repair a missed change by itself: make it rare, so that what
    # is measured is how the watcher handles its watches being cut
    watcher = Proc(
        "watcher", original.argv, {**original.env, "DRSYNCER_RESYNC_INTERVAL": "600"}, original.log_path
    ).start()
    pipe.procs["watcher"] = watcher
    try:
        for trial in range(CUT_TRIALS):
            try:
                recover_s = _cut_trial(pipe, rng, trial)
            except BaseException:
                reliability.record("controller-cluster watch cut mid-stream", converged=False, seed=SEED)
                raise
            assert watcher.alive and pipe.procs["watcher"] is watcher, "the watcher exited after the cut"
            reliability.record(
                "controller-cluster watch cut mid-stream", converged=True, recover_s=recover_s, seed=SEED
            )
    finally:
        watcher.stop()
        pipe.procs["watcher"] = Proc("watcher", original.argv, original.env, original.log_path).start()


SECRET_VALUE = "campaign-secret-5d2e9a"


def test_after_the_campaigns_no_secret_or_credential_is_anywhere_an_operator_can_read(pipe: Pipeline) -> None:
    namespace = "camp-secret"
    encoded = base64.b64encode(SECRET_VALUE.encode()).decode()
    store = pipe.sim("source").store
    store.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    store.put(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {"name": "db-password", "namespace": namespace},
            "data": {"password": encoded},
        }
    )
    pipe.apply_replication(
        namespace, sourceNamespace=namespace, replicationMode="Manual", resourceTypes=["secrets"]
    )
    eventually(lambda: pipe.status(namespace).get("phase") == "Pending", what="the watcher to see it")
    pipe.send_sync(namespace, [namespace])
    eventually(lambda: pipe.status(namespace).get("phase") == "Completed", timeout_s=60, what="the copy")
    key = pipe.sim("dr1").store.resource_for("v1", "Secret").key
    copied = {o["metadata"]["name"]: o for o in pipe.sim("dr1").store.iter_objects(key, namespace)}
    assert copied["db-password"]["data"]["password"] == encoded  # the value did travel
    assert len(pipe.credentials) >= 4, "no kubeconfig token or client key to look for"
    searched = assert_no_secret_leaks(pipe, [SECRET_VALUE])
    logs = "\n".join(text for where, text in searched.items() if where.endswith(" log"))
    assert "drsyncer.audit: {" in logs and '"verb":"create"' in logs, "no audit line among the logs searched"
    assert "drsyncer.sync_namespace" in searched["Flower task arguments and results"]
