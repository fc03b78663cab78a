"""The day the source dies: `drsyncer failover` brings one DR cluster up with only that cluster
answering, a repeat changes nothing, the controller records it once it is back and no run puts the
copies back in standby; `drsyncer failback` copies back what changed in DR, restores the standby and
syncing resumes. Event webhooks: the workers POST signed CloudEvents to a local receiver, try again
after a 500, never put Secret data in them, and a dead endpoint delays no sync. One module, so both
share one set of processes."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import time
from typing import Any

import pytest

from drsyncer.api import keys
from drsyncer.webhooks.signing import HEADER, verify
from tests.fixtures.polling import builtin_ref
from tests.fixtures.ports import free_port
from tests.fixtures.webhooks import Receiver
from tests.integration.pipeline.conftest import SECRETS, Pipeline, eventually

NAME = "failover-app"
NS = "fo-app"
DEPLOYMENTS = builtin_ref("deployments")
CRONJOBS = builtin_ref("cronjobs")
CONFIGMAPS = builtin_ref("configmaps")
DAEMONSETS = builtin_ref("daemonsets")
POD = {"containers": [{"name": "app", "image": "app:1"}]}
ORIGINAL = {"web": 3, "api": 2}
SIGNING_KEY = b"webhook-signing-key"
TOKEN = "receiver-token"
SECRET_VALUE = "do-not-leak-this-value"


def seed_workloads(pipe: Pipeline) -> None:
    store = pipe.sim("source").store
    store.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    for name, replicas in ORIGINAL.items():
        store.put(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name, "namespace": NS},
                "spec": {
                    "replicas": replicas,
                    "selector": {"matchLabels": {"app": name}},
                    "template": {"metadata": {"labels": {"app": name}}, "spec": POD},
                },
            }
        )
    store.put(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": NS},
            "data": {"mode": "normal"},
        }
    )
    store.put(
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": "report", "namespace": NS},
            "spec": {"schedule": "0 * * * *", "jobTemplate": {"spec": {"template": {"spec": POD}}}},
        }
    )
    store.put(
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": "agent", "namespace": NS},
            "spec": {
                "selector": {"matchLabels": {"app": "agent"}},
                "template": {
                    "metadata": {"labels": {"app": "agent"}},
                    "spec": {**POD, "nodeSelector": {"disk": "ssd"}},
                },
            },
        }
    )


def workloads(pipe: Pipeline, cluster: str) -> dict[str, Any]:
    client = pipe.client(cluster)
    out: dict[str, Any] = {
        name: client.get(DEPLOYMENTS, NS, name)["spec"]["replicas"]  # type: ignore[index]
        for name in ORIGINAL
    }
    out["report.suspend"] = client.get(CRONJOBS, NS, "report")["spec"].get("suspend")  # type: ignore[index]
    agent = client.get(DAEMONSETS, NS, "agent")
    out["agent.nodeSelector"] = agent["spec"]["template"]["spec"].get("nodeSelector")  # type: ignore[index]
    return out


STANDBY = {
    "web": 0,
    "api": 0,
    "report.suspend": True,
    "agent.nodeSelector": {"disk": "ssd", keys.LABEL_STANDBY_NODE: keys.STANDBY_NODE_VALUE},
}
UP = {"web": 3, "api": 2, "report.suspend": False, "agent.nodeSelector": {"disk": "ssd"}}


def drsyncer(pipe: Pipeline, *args: str) -> subprocess.CompletedProcess[str]:
    """The command as an operator runs it, with the pipeline's kubeconfig (one context per cluster)."""
    env = {k: v for k, v in pipe.env().items() if not k.startswith("DRSYNCER_")}
    return subprocess.run(
        [sys.executable, "-m", "drsyncer.cli", *args, "--kubeconfig", str(pipe.kubeconfig)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def table_row(output: str, namespace: str) -> list[str]:
    """The cells of a namespace's row in a command's table."""
    return next(line.split() for line in output.splitlines() if line.split()[:1] == [namespace])


def dropped_paused(pipe: Pipeline) -> float:
    return sum(
        pipe.metrics(w).get(("dr_syncer_tasks_dropped_total", frozenset({("reason", "paused")})), 0.0)
        for w in ("worker-1", "worker-2")
    )


def sync_now(pipe: Pipeline, name: str, namespace: str, value: str) -> dict[str, Any]:
    """Ask for a run and wait for it: a new run id in the namespace's record (runs may end within the
    second, so lastSyncTime alone cannot tell them apart), then the status it wrote."""
    before = (pipe.run_records(name).get(namespace) or {}).get("run_id")
    pipe.annotate(name, {keys.ANNOTATION_SYNC_NOW: value})
    eventually(
        lambda: (pipe.run_records(name).get(namespace) or {}).get("run_id") not in (None, before),
        timeout_s=60,
        what=f"run {value}",
    )
    return eventually(
        lambda: (
            (s := pipe.status(name)).get("phase") == "Completed"
            and keys.ANNOTATION_SYNC_NOW not in (pipe.replication(name)["metadata"].get("annotations") or {})
            and s
        ),
        what=f"the status of run {value}",
    )


def deliveries(pipe: Pipeline, outcome: str) -> float:
    return sum(
        pipe.metrics(w).get(("dr_syncer_webhook_deliveries_total", frozenset({("outcome", outcome)})), 0.0)
        for w in ("worker-1", "worker-2")
    )


def test_failover_with_only_dr1_reachable_then_failback_restores_standby_and_syncing(
    pipe: Pipeline, receiver: Receiver
) -> None:
    seed_workloads(pipe)
    pipe.apply_replication(
        NAME,
        sourceNamespace=NS,
        replicationMode="Manual",
        resourceTypes=["deployments", "cronjobs", "daemonsets", "configmaps"],
        webhooks=[{"url": receiver.url, "events": ["FailoverStarted", "FailoverEnded"]}],
    )
    eventually(lambda: pipe.status(NAME).get("phase") == "Pending", what="the watcher to see it")
    sync_now(pipe, NAME, NS, "first")
    assert workloads(pipe, "dr1") == workloads(pipe, "dr2") == STANDBY

    # the source and the controller cluster are gone
    pipe.sim("source").down()
    pipe.sim("controller").down()
    try:
        dr2_writes = pipe.writes("dr2")
        done = drsyncer(pipe, "failover", "--to", "dr1", "--controller", "controller")
        assert done.returncode == 0, done.stderr + done.stdout
        assert "controller cluster" in done.stderr and "unreachable" in done.stderr
        # NAMESPACE, WORKLOADS, BROUGHT UP, ALREADY UP, NOT STANDBY, FAILED
        assert table_row(done.stdout, NS) == [NS, "4", "4", "0", "0", "0"], done.stdout
        assert "failover to dr1: 4 workloads brought up, 0 already up, 0 failed" in done.stdout
        assert workloads(pipe, "dr1") == UP
        assert workloads(pipe, "dr2") == STANDBY and pipe.writes("dr2") == dr2_writes

        dr1_writes = pipe.writes("dr1")
        again = drsyncer(pipe, "failover", "--to", "dr1")
        assert again.returncode == 0, again.stderr + again.stdout
        assert table_row(again.stdout, NS) == [NS, "4", "0", "4", "0", "0"], again.stdout
        assert "nothing changed, all 4 standby workloads already up" in again.stdout
        assert pipe.writes("dr1") == dr1_writes
        # while dr1 serves, its users change a setting there
        pipe.client("dr1").patch(CONFIGMAPS, NS, "settings", {"data": {"mode": "changed-in-dr1"}})
    finally:
        pipe.sim("controller").up()

    # the controller is back (the source still is not): the same command records the failover
    recorded = drsyncer(pipe, "failover", "--to", "dr1", "--controller", "controller")
    assert recorded.returncode == 0, recorded.stderr + recorded.stdout
    assert f"controller: Replication {pipe.ns}/{NAME} paused" in recorded.stdout
    repl = pipe.replication(NAME)
    assert repl["spec"]["paused"] is True
    failover = repl["status"]["failover"]
    assert failover["cluster"] == "dr1" and failover["active"] is True and failover["broughtUp"] == 4
    assert failover["started"] <= failover["finished"]
    reasons = {e["reason"] for e in pipe.events(NAME)}
    assert {"FailoverStarted", "FailoverCompleted"} <= reasons
    # the Replication's webhooks heard of it, once each
    assert [json.loads(r["body"])["type"] for r in receiver.requests] == [
        "io.dr-syncer.replication.failover.started",
        "io.dr-syncer.replication.failover.ended",
    ]
    assert json.loads(receiver.requests[1]["body"])["data"] == {
        "replication": {"namespace": pipe.ns, "name": NAME, "uid": repl["metadata"]["uid"]},
        "cluster": "dr1",
        "counts": {"broughtUp": 4},
    }

    # the source returns with a change: a run sent now (as a scheduled one would be) is dropped
    pipe.sim("source").up()
    web = pipe.source.get(DEPLOYMENTS, NS, "web")
    assert web is not None
    web["spec"]["template"]["spec"]["containers"][0]["image"] = "app:2"
    pipe.source.replace(DEPLOYMENTS, NS, web)
    dropped = dropped_paused(pipe)
    pipe.send_sync(NAME, [NS])
    eventually(lambda: dropped_paused(pipe) > dropped, what="the run of the paused Replication to be dropped")
    assert workloads(pipe, "dr1") == UP

    back = drsyncer(
        pipe, "failback", "--from", "dr1", "--controller", "controller", "--copy-back-to", "source"
    )
    assert back.returncode == 0, back.stderr + back.stdout
    # only what changed in dr1 since the failover goes back: not the copies the failover itself wrote
    assert [line for line in back.stdout.splitlines() if line.startswith("copy back")] == [
        f"copy back to source: ConfigMap {NS}/settings: copied (to {NS})"
    ], back.stdout
    assert pipe.source.get(CONFIGMAPS, NS, "settings")["data"] == {"mode": "changed-in-dr1"}  # type: ignore[index]
    assert table_row(back.stdout, NS) == [NS, "4", "4", "0", "0"], back.stdout
    assert f"controller: Replication {pipe.ns}/{NAME} resumed" in back.stdout
    assert workloads(pipe, "dr1") == STANDBY
    repl = pipe.replication(NAME)
    assert repl["spec"].get("paused") is False and repl["status"]["failover"]["active"] is False
    assert "FailbackCompleted" in {e["reason"] for e in pipe.events(NAME)}

    # syncing resumes: the change made during the outage reaches both DR clusters, still in standby
    status = sync_now(pipe, NAME, NS, "after-failback")
    assert status["syncStats"]["failed"] == 0
    for cluster in ("dr1", "dr2"):
        copy = pipe.client(cluster).get(DEPLOYMENTS, NS, "web")
        assert copy is not None
        assert copy["spec"]["template"]["spec"]["containers"][0]["image"] == "app:2", cluster
        assert workloads(pipe, cluster) == STANDBY, cluster
    assert pipe.client("dr2").get(CONFIGMAPS, NS, "settings")["data"] == {"mode": "changed-in-dr1"}  # type: ignore[index]


def test_completed_run_is_posted_signed_retried_after_a_500_and_without_secret_data(
    pipe: Pipeline, receiver: Receiver
) -> None:
    pytest.importorskip("cloudevents", reason="the cloudevents package (a dependency) is not installed")
    pipe.controller.create(
        SECRETS,
        pipe.ns,
        {
            "metadata": {"name": "hook-credentials"},
            "data": {
                "signingKey": base64.b64encode(SIGNING_KEY).decode(),
                "token": base64.b64encode(TOKEN.encode()).decode(),
            },
        },
    )
    pipe.sim("source").store.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "hooked"}})
    pipe.sim("source").store.put(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "db", "namespace": "hooked"},
            "data": {"password": base64.b64encode(SECRET_VALUE.encode()).decode()},
        }
    )
    receiver.answers = [500]  # the first delivery fails; Celery's retry brings it again
    pipe.apply_replication(
        "hooked",
        sourceNamespace="hooked",
        replicationMode="Manual",
        resourceTypes=["secrets"],
        webhooks=[
            {
                "url": receiver.url,
                "events": ["SyncCompleted", "SyncFailed"],
                "secretRef": {"name": "hook-credentials"},
            }
        ],
    )
    eventually(lambda: pipe.status("hooked").get("phase") == "Pending", what="the watcher to see it")
    sync_now(pipe, "hooked", "hooked", "first")

    completed = eventually(
        lambda: len(got := receiver.events("io.dr-syncer.replication.sync.completed")) >= 2 and got,
        timeout_s=30,
        what="the completed event, again after the 500",
    )
    first, retried = completed[0], completed[-1]
    assert first["body"] == retried["body"]  # the same event (same id), delivered on the retry
    event = json.loads(retried["body"])
    assert event["specversion"] == "1.0" and event["subject"] == f"{pipe.ns}/hooked"
    assert event["source"] == f"/apis/dr-syncer.io/v1alpha1/namespaces/{pipe.ns}/replications/hooked"
    assert event["data"]["replication"]["name"] == "hooked" and event["data"]["phase"] == "Completed"
    assert event["data"]["counts"]["created"] == 2  # one Secret into dr1 and dr2
    headers = {k.lower(): v for k, v in retried["headers"].items()}
    assert headers["content-type"].startswith("application/cloudevents+json")
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert verify(SIGNING_KEY, retried["body"], headers[HEADER.lower()], now=int(time.time()))
    assert not verify(b"another-key", retried["body"], headers[HEADER.lower()], now=int(time.time()))
    for request in receiver.requests:
        assert SECRET_VALUE.encode() not in request["body"]
        assert base64.b64encode(SECRET_VALUE.encode()) not in request["body"]
    eventually(
        lambda: deliveries(pipe, "retry") >= 1 and deliveries(pipe, "delivered") >= 1,
        what="the delivery metrics",
    )


def test_dead_endpoint_delays_no_sync_and_hears_the_events_once_it_is_back(pipe: Pipeline) -> None:
    pytest.importorskip("cloudevents", reason="the cloudevents package (a dependency) is not installed")
    port = free_port()
    pipe.seed("deadhook", 3)
    pipe.apply_replication(
        "deadhook",
        sourceNamespace="deadhook",
        replicationMode="Manual",
        resourceTypes=["configmaps"],
        webhooks=[{"url": f"http://127.0.0.1:{port}/hook", "events": ["SyncCompleted"]}],
    )
    eventually(lambda: pipe.status("deadhook").get("phase") == "Pending", what="the watcher to see it")
    retries = deliveries(pipe, "retry")
    started = time.monotonic()
    for value in ("one", "two", "three"):
        status = sync_now(pipe, "deadhook", "deadhook", value)
        assert status["syncStats"]["failed"] == 0
    # three runs back to back while the deliveries of each are failing and being retried
    eventually(
        lambda: deliveries(pipe, "retry") >= retries + 3, what="the dead endpoint's deliveries to fail"
    )
    assert time.monotonic() - started < 15
    # the endpoint comes back: Celery's retries bring it every event, once each
    back = Receiver(port)
    try:
        got = eventually(
            lambda: len(r := back.events("io.dr-syncer.replication.sync.completed")) >= 3 and r,
            timeout_s=60,
            what="the retried events at the endpoint",
        )
        assert len({json.loads(r["body"])["id"] for r in got}) == 3
    finally:
        back.close()


def test_a_webhook_whose_secret_is_missing_is_logged_with_its_event_and_the_run_unharmed(
    pipe: Pipeline, receiver: Receiver
) -> None:
    pipe.sim("source").store.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "unsigned"}})
    pipe.apply_replication(
        "unsigned",
        sourceNamespace="unsigned",
        replicationMode="Manual",
        resourceTypes=["configmaps"],
        webhooks=[{"url": receiver.url, "events": ["SyncCompleted"], "secretRef": {"name": "nosuch"}}],
    )
    eventually(lambda: pipe.status("unsigned").get("phase") == "Pending", what="the watcher to see it")
    assert sync_now(pipe, "unsigned", "unsigned", "first")["phase"] == "Completed"

    def logged() -> list[str]:
        text = pipe.procs["worker-1"].tail(3000) + "\n" + pipe.procs["worker-2"].tail(3000)
        return [line for line in text.splitlines() if "webhook Secret" in line and "nosuch" in line]

    (line, *_) = eventually(logged, timeout_s=30, what="the delivery error in a worker's log")
    # the event's type and id, which the receiver's side and Flower name it by
    assert re.search(r"webhook io\.dr-syncer\.replication\.sync\.completed [0-9a-f-]{16,} for http", line), (
        line
    )
    assert deliveries(pipe, "error") >= 1
    assert not receiver.requests  # nothing sent without the credentials it was told to use
