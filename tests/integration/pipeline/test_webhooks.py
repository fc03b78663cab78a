"""Event webhooks end to end: the workers POST signed CloudEvents to a local receiver, try again after
a 500, never put Secret data in them, and a dead endpoint delays no sync."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest

from drsyncer.api import keys
from drsyncer.webhooks.signing import HEADER, verify
from tests.fixtures.ports import free_port
from tests.fixtures.webhooks import Receiver
from tests.integration.pipeline.conftest import SECRETS, Pipeline, eventually

pytest.importorskip("cloudevents", reason="the cloudevents package (a dependency) is not installed")

SIGNING_KEY = b"webhook-signing-key"
TOKEN = "receiver-token"
SECRET_VALUE = "do-not-leak-this-value"


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


def test_completed_run_is_posted_signed_retried_after_a_500_and_without_secret_data(
    pipe: Pipeline, receiver: Receiver
) -> None:
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
