"""The RBAC tests' scan of logs and messages for refusals: an HTTP 403 or "forbidden", never the
digits 403 inside another number (a port, a log line's milliseconds, a duration), which made the
scan fail runs at random."""

from __future__ import annotations

from tests.integration.rbac.conftest import refusals


def test_a_refusal_is_a_403_status_or_forbidden_not_the_digits_of_another_number() -> None:
    refused = [
        "PATCH /apis/dr-syncer.io/v1alpha1/namespaces/a/replications/b/status: 403 Forbidden",
        "reading RemoteCluster dr-system/dr1 failed (403)",
        '{"verb": "create", "code": 403, "reason": "Forbidden"}',
        'configmaps "x" is forbidden: User "system:serviceaccount:a:b" cannot create resource',
    ]
    not_refused = [
        "starting the watcher with {'DRSYNCER_METRICS_PORT': 40319}",
        "2026-12-01 10:26:01,403 INFO celery.apps.worker: worker-1@pipeline ready.",
        "run took 0.403 s",
        "listed 1403 objects",
    ]
    assert refusals(refused + not_refused) == refused
