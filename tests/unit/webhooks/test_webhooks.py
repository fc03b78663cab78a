"""Which events a run sends and to whom, how a request is signed, and which answers are tried again."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from drsyncer.api.webhooks import Webhook, WebhookEvent
from drsyncer.errors import Category, DrsyncerError
from drsyncer.sync.result import ObjectError, Outcome, RunSummary, TargetResult
from drsyncer.webhooks import delivery, endpoints, events, signing

NOW = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
REPL = {"namespace": "dr-system", "name": "app", "uid": "u-1"}


def summary(*targets: TargetResult) -> RunSummary:
    return RunSummary("dr-system/app", list(targets), "run-1")


def ok(cluster: str) -> TargetResult:
    t = TargetResult(cluster, "shop", "shop")
    t.record("Secret", Outcome.CREATED, 2)
    return t.finish(0.1)


def unreachable(cluster: str) -> TargetResult:
    t = TargetResult(cluster, "shop", "shop")
    t.error, t.error_category = f"destination cluster {cluster}: cannot connect", Category.RETRYABLE
    return t.finish(0.1)


def kinds(found: list[dict]) -> list[str]:
    return [e["event"] for e in found]


def test_completed_run_after_a_failed_one_is_a_recovery() -> None:
    failed_before = {"lastSyncTime": "2026-03-01T02:55:00Z", "lastSuccessfulSyncTime": "2026-03-01T02:00:00Z"}
    assert kinds(events.run_events(REPL, summary(ok("dr1")), failed_before, now=NOW)) == [
        "SyncCompleted",
        "SyncRecovered",
    ]
    fine_before = {"lastSyncTime": "2026-03-01T02:55:00Z", "lastSuccessfulSyncTime": "2026-03-01T02:55:00Z"}
    assert kinds(events.run_events(REPL, summary(ok("dr1")), fine_before, now=NOW)) == ["SyncCompleted"]
    assert kinds(events.run_events(REPL, summary(ok("dr1")), {}, now=NOW)) == ["SyncCompleted"]


def test_unreachable_destination_fails_the_run_and_is_named_once() -> None:
    found = events.run_events(REPL, summary(ok("dr1"), unreachable("dr2"), unreachable("dr2")), {}, now=NOW)
    assert kinds(found) == ["SyncFailed", "DestinationUnreachable"]
    assert found[1]["data"]["cluster"] == "dr2" and "cannot connect" in found[1]["data"]["message"]
    assert found[0]["type"] == "io.dr-syncer.replication.sync.failed"
    assert found[0]["source"] == "/apis/dr-syncer.io/v1alpha1/namespaces/dr-system/replications/app"
    assert found[0]["data"]["counts"]["created"] == 2


def test_a_target_s_object_error_names_the_object_as_the_status_does() -> None:
    t = TargetResult("dr1", "shop", "shop")
    t.fail(
        "ConfigMap",
        ObjectError(
            "ConfigMap", "shop", "settings", Category.NON_RETRYABLE, "spec.modifiers[0]: not valid yaml"
        ),
    )
    (failed,) = events.run_events(REPL, summary(t.finish(0.1)), {}, now=NOW)
    assert (
        failed["data"]["targets"][0]["error"] == "ConfigMap shop/settings: spec.modifiers[0]: not valid yaml"
    )


def test_a_run_over_thousands_of_namespaces_lists_what_the_status_lists_and_counts_the_rest() -> None:
    targets = [ok(f"dr{i % 2}") for i in range(2999)]
    failing = TargetResult("dr1", "zz-last", "zz-last")
    failing.error, failing.error_category = "destination cluster dr1: cannot connect", Category.RETRYABLE
    found = events.run_events(REPL, summary(*targets, failing.finish(0.1)), {}, now=NOW)
    data = found[0]["data"]
    assert len(data["targets"]) == 100 and data["targetsOmitted"] == 2900
    assert data["targets"][0]["sourceNamespace"] == "zz-last"  # what did not complete comes first
    assert data["counts"]["created"] == 2 * 2999  # the counts cover every target
    assert len(json.dumps(found[0])) < 30_000


def test_endpoints_get_the_events_they_list_and_completed_only_when_asked() -> None:
    replication = {
        "metadata": {"namespace": "dr-system"},
        "spec": {
            "webhooks": [
                {"url": "https://hooks.example/a", "secretRef": {"name": "hook"}},
                {"url": "https://hooks.example/b", "events": ["SyncCompleted"]},
            ]
        },
    }
    installation = [Webhook(url="https://ops.example/all", events=list(WebhookEvent))]
    completed = endpoints.targets("SyncCompleted", replication, installation, watch_namespace="dr-ops")
    assert [e["url"] for e in completed] == ["https://hooks.example/b", "https://ops.example/all"]
    failed = endpoints.targets("SyncFailed", replication, installation, watch_namespace="dr-ops")
    assert failed == [
        {"url": "https://hooks.example/a", "secretRef": {"namespace": "dr-system", "name": "hook"}},
        {"url": "https://ops.example/all", "secretRef": None},
    ]


def test_installation_webhooks_are_read_from_json_or_yaml_and_bad_ones_named() -> None:
    assert endpoints.parse_global("") == []
    (hook,) = endpoints.parse_global("- url: https://ops.example/x\n  events: [FailoverStarted]\n")
    assert hook.events == [WebhookEvent.FAILOVER_STARTED]
    with pytest.raises(DrsyncerError, match=r"DRSYNCER_WEBHOOKS\[0.url\]"):
        endpoints.parse_global(json.dumps([{"url": "ftp://x"}]))


def test_signature_covers_time_and_body() -> None:
    header = signing.sign(b"k", b"{}", 1000)
    assert signing.verify(b"k", b"{}", header, now=1010)
    assert not signing.verify(b"k", b"{ }", header, now=1010)  # another body
    assert not signing.verify(b"k", b"{}", header, now=2000)  # replayed later
    assert not signing.verify(b"other", b"{}", header, now=1010)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, "delivered"),
        (204, "delivered"),
        (408, "retry"),
        (429, "retry"),
        (500, "retry"),
        (503, "retry"),
        (400, "failed"),
        (401, "failed"),
        (404, "failed"),
        (301, "failed"),
    ],
)
def test_answers_that_may_change_are_tried_again(status: int, outcome: str) -> None:
    assert delivery.outcome_of(status).value == outcome


def test_credentials_never_show_in_a_log_line() -> None:
    shown = repr(delivery.Credentials(b"signing-secret", "bearer-secret"))
    assert "signing-secret" not in shown and "bearer-secret" not in shown


def test_request_is_a_structured_cloudevent_with_signature_and_token() -> None:
    pytest.importorskip("cloudevents", reason="the cloudevents package (a dependency) is not installed")
    event = events.failover_event(WebhookEvent.FAILOVER_STARTED, REPL, cluster="dr1", now=NOW)
    headers, body = delivery.request_for(event, delivery.Credentials(b"k", "t"), now=1000)
    assert headers["content-type"] == "application/cloudevents+json"
    assert headers["Authorization"] == "Bearer t"
    assert signing.verify(b"k", body, headers[signing.HEADER], now=1000)
    sent = json.loads(body)
    assert sent["specversion"] == "1.0" and sent["id"] == event["id"]
    assert sent["type"] == "io.dr-syncer.replication.failover.started"
    assert sent["data"] == {"replication": REPL, "cluster": "dr1"}


def test_logged_url_leaves_out_the_path_where_chat_services_keep_credentials() -> None:
    assert (
        delivery.shown("https://hooks.example.com:8443/services/T0/B0/secret?x=1")
        == "https://hooks.example.com:8443/..."
    )
