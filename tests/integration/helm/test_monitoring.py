"""The chart against running drsyncer processes (watcher, beat, two workers, a real Redis):
`promtool check rules` accepts the PrometheusRule, every metric name in an alert or a dashboard
query is one drsyncer really exports (read from the `/metrics` endpoints of the workers and the
watcher after a real sync run), and the `helm test` pod's check passes against them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.fixtures.helm import Release
from tests.integration.pipeline.conftest import (  # noqa: F401
    NS,
    Pipeline,
    eventually,
    pipeline,
    pipeline_backend,
    pipeline_credentials,
)

# PromQL words that are neither metric names nor functions (those are followed by a parenthesis)
PROMQL_KEYWORDS = {
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "inf",
    "nan",
    "Inf",
    "NaN",
}
# Prometheus's own series, present for every scrape target
PROMETHEUS_SERIES = {"up"}
REQUIRED_ALERTS = {
    "DrSyncerSyncFailing",
    "DrSyncerNoRecentSuccessfulSync",
    "DrSyncerRemoteClusterUnhealthy",
    "DrSyncerQueueBacklogGrowing",
    "DrSyncerWorkersDown",
}
THROTTLED_REQUESTS = (
    "list/configmaps",
    "get/configmaps",
    "create/configmaps",
    "patch/configmaps",
    "update/configmaps",
)


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges and subqueries
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    names = set()
    for match in re.finditer(r"(?<![\w.$])[a-zA-Z_:][a-zA-Z0-9_:]*", text):
        word = match.group()
        if word in PROMQL_KEYWORDS or text[match.end() :].lstrip().startswith("("):
            continue
        names.add(word)
    return names


def test_metric_name_extraction() -> None:
    expr = (
        "time() - max by (namespace, replication) (dr_syncer_last_success_timestamp_seconds"
        '{namespace="x", replication=~"a.+"}) > 900 and on (namespace) '
        'sum(rate(dr_syncer_objects_total[5m] offset 1h)) > 0.5 or absent(up{pod=~"w-.+"}) unless '
        "histogram_quantile(0.95, sum by (le) "
        "(rate(dr_syncer_sync_duration_seconds_bucket[$__rate_interval]))) > 1e3"
    )
    assert metric_names(expr) == {
        "dr_syncer_last_success_timestamp_seconds",
        "dr_syncer_objects_total",
        "up",
        "dr_syncer_sync_duration_seconds_bucket",
    }


def _scrape(port: int) -> set[str]:
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return {sample.name for family in text_string_to_metric_families(text) for sample in family.samples}


@pytest.fixture(scope="module")
def exported(pipeline: Pipeline) -> Iterator[set[str]]:  # noqa: F811
    """Metric names on the workers' and the watcher's /metrics after a completed run that met a 429."""
    pipeline.seed("metrics", 5)
    dr1 = pipeline.sim("dr1")
    # one throttled request, so the throttling counter has a sample: 429 on dr1's ConfigMaps until
    # the first such request arrives; the worker retries after Retry-After and succeeds
    before = dr1.counters()
    dr1.faults.set(error_rates={target: {429: 1.0} for target in THROTTLED_REQUESTS}, retry_after_s=1)

    def configmap_requests(counts: dict[str, dict[str, int]]) -> int:
        verbs = {target.partition("/")[0] for target in THROTTLED_REQUESTS}
        return sum(counts.get(verb, {}).get("configmaps", 0) for verb in verbs)

    try:
        pipeline.apply_replication("metrics", sourceNamespace="metrics", schedule="@every 10s")
        eventually(
            lambda: configmap_requests(dr1.counters()) > configmap_requests(before),
            timeout_s=60,
            what="a request to dr1's ConfigMaps",
        )
    finally:
        dr1.faults.clear()
    eventually(
        lambda: pipeline.status("metrics").get("phase") == "Completed", timeout_s=60, what="phase Completed"
    )
    # the workers' RemoteCluster check (queue "health") writes the status the watcher exports as
    # dr_syncer_remote_cluster_healthy
    for cluster in ("source", "dr1"):
        pipeline.app.send_task(
            "drsyncer.check_remote_cluster", kwargs={"namespace": NS, "name": cluster}, queue="health"
        )

    def scrape_all() -> set[str] | None:
        names: set[str] = set()
        for worker in ("worker-1", "worker-2"):
            names |= _scrape(pipeline.metrics_ports[worker])
        names |= _scrape(int(pipeline.procs["watcher"].env["DRSYNCER_METRICS_PORT"]))
        # and the watcher's copy of the run's lastSuccessfulSyncTime, set at its next reconcile
        wanted = {"dr_syncer_remote_cluster_healthy", "dr_syncer_replication_last_success_timestamp_seconds"}
        return names if wanted <= names else None

    names = eventually(
        scrape_all,
        timeout_s=30,
        what="a RemoteCluster's health and the per-Replication gauges on the watcher",
    )
    assert names is not None
    print("exported:", " ".join(sorted(names)))
    yield names
    pipeline.delete_replication("metrics")
    pipeline.created.remove("metrics")


def _rule_groups(release: Release) -> dict[str, Any]:
    return dict(release.one("PrometheusRule")["spec"])


def _alerts(release: Release) -> dict[str, dict[str, Any]]:
    return {r["alert"]: r for group in _rule_groups(release)["groups"] for r in group["rules"]}


def _dashboard(release: Release) -> dict[str, Any]:
    config_map = release.one("ConfigMap", "-dashboard")
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    dashboard: dict[str, Any] = json.loads(config_map["data"]["drsyncer.json"])
    return dashboard


def test_prometheus_rule_passes_promtool(releases: dict[str, Release], tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian package prometheus; .ci/run installs it)")
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump(_rule_groups(releases["everything"])))
    done = subprocess.run(
        [promtool, "check", "rules", str(rules)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(_alerts(releases['everything']))} rules found" in done.stdout


def test_alerts_cover_failing_stale_unhealthy_backlog_and_down(releases: dict[str, Release]) -> None:
    alerts = _alerts(releases["everything"])
    assert set(alerts) >= REQUIRED_ALERTS
    # no successful sync for missedSchedules times scheduleIntervalSeconds (3 * 300 s by default)
    assert alerts["DrSyncerNoRecentSuccessfulSync"]["expr"].endswith("> 900")
    for alert in alerts.values():
        assert alert["labels"]["severity"] in ("warning", "critical")
        assert alert["annotations"]["summary"] and alert["annotations"]["description"]
        # every series is limited to the release's namespace
        assert 'namespace="drsyncer"' in alert["expr"]


def test_alert_expressions_use_only_exported_metrics(
    releases: dict[str, Release], exported: set[str]
) -> None:
    for name, alert in _alerts(releases["everything"]).items():
        used = metric_names(alert["expr"])
        assert used, name
        assert used <= exported | PROMETHEUS_SERIES, (name, sorted(used - exported))


def test_dashboard_parses_and_queries_exported_metrics(
    releases: dict[str, Release], exported: set[str]
) -> None:
    dashboard = _dashboard(releases["defaults"])
    assert dashboard["uid"] and dashboard["title"] == "drsyncer"
    assert {v["name"] for v in dashboard["templating"]["list"]} == {"datasource", "namespace"}
    queries = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    assert len(queries) >= 10
    used: set[str] = set()
    for query in queries:
        names = metric_names(query)
        assert names, query
        used |= names
    assert used <= exported | PROMETHEUS_SERIES, sorted(used - exported)
    # the metrics the issue names each have a panel
    assert used >= {
        "dr_syncer_objects_total",
        "dr_syncer_sync_duration_seconds_bucket",
        "dr_syncer_api_requests_total",
        "dr_syncer_api_throttled_total",
        "dr_syncer_tasks_queued",
        "dr_syncer_last_success_timestamp_seconds",
    }
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def _hook_check(release: Release) -> tuple[str, dict[str, dict[str, Any]]]:
    container = release.one("Pod")["spec"]["containers"][0]
    return container["command"][-1], {e["name"]: e for e in container["env"]}


def test_helm_test_pod_check_passes_against_a_running_watcher_and_redis(
    releases: dict[str, Release],
    pipeline: Pipeline,  # noqa: F811
) -> None:
    script, env = _hook_check(releases["defaults"])
    assert "secretKeyRef" in env["DRSYNCER_REDIS_URL"]["valueFrom"]
    probe_port = pipeline.procs["watcher"].env["DRSYNCER_PROBE_PORT"]
    base = {k: v for k, v in os.environ.items() if not k.startswith("DRSYNCER_")}
    # the same script, with the Secret's value and the Service's address of this machine
    healthy = {
        **base,
        "DRSYNCER_REDIS_URL": pipeline.redis_url,
        "WATCHER_HEALTHZ": f"http://127.0.0.1:{probe_port}/healthz",
    }
    done = subprocess.run(
        [sys.executable, "-c", script], env=healthy, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "redis: PONG" in done.stdout and "/healthz: 200" in done.stdout
    # and it fails when the watcher does not answer
    broken = {**healthy, "WATCHER_HEALTHZ": "http://127.0.0.1:9/healthz"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=broken, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
