"""Settings from flags, environment and defaults; credentials never shown."""

from __future__ import annotations

import argparse
import io
import json
import logging
from pathlib import Path

import pytest

from drsyncer import config
from drsyncer.cli import main
from drsyncer.config import ConfigError, Settings, load_settings, redact_url
from drsyncer.logs import JsonFormatter, RedactingTextFormatter, redact, redact_all, setup_logging

ROOT = Path(__file__).resolve().parents[3]


def _load(env: dict[str, str] | None = None, **flags: object) -> Settings:
    return load_settings(
        env or {}, flags, hostname=lambda: "pod-1", pid=lambda: 7, in_cluster_namespace=lambda: None
    )


def test_defaults() -> None:
    s = _load()
    assert s.redis_url == "redis://localhost:6379/0"
    assert s.watch_namespace == "" and s.kubeconfig == ""
    assert s.log_format == "text" and s.concurrency == 4 and s.metrics_port == 9090
    assert s.lease_duration == 15.0 and s.lease_renew_interval == 5.0
    assert s.identity == "pod-1-7" and s.lease_namespace == "default"


def test_environment_then_flags_win() -> None:
    env = {
        "DRSYNCER_WATCH_NAMESPACE": "dr-system",
        "DRSYNCER_CONCURRENCY": "8",
        "DRSYNCER_LOG_FORMAT": "JSON",
        "DRSYNCER_LEASE_DURATION": "30",
    }
    s = _load(env, concurrency="2")
    assert s.watch_namespace == "dr-system" and s.concurrency == 2 and s.log_format == "json"
    assert s.lease_duration == 30.0
    assert s.lease_namespace == "dr-system"  # the Lease lives next to what is watched


def test_lease_namespace_falls_back_to_the_pods_namespace() -> None:
    assert _load({"POD_NAMESPACE": "drsyncer"}).lease_namespace == "drsyncer"


def test_durations_take_seconds_or_go_durations() -> None:
    assert _load(resync_interval="2m").resync_interval == 120.0
    assert _load(health_check_interval="45").health_check_interval == 45.0


def test_every_bad_value_is_reported_by_variable_and_flag() -> None:
    env = {
        "DRSYNCER_CONCURRENCY": "many",
        "DRSYNCER_LOG_FORMAT": "xml",
        "DRSYNCER_REDIS_URL": "http://:hunter2@redis:6379",
    }
    with pytest.raises(ConfigError) as caught:
        _load(env)
    text = str(caught.value)
    assert "DRSYNCER_CONCURRENCY (--concurrency, from DRSYNCER_CONCURRENCY)" in text
    assert "DRSYNCER_LOG_FORMAT" in text and "DRSYNCER_REDIS_URL" in text
    assert "hunter2" not in text


def test_flags_come_from_the_same_table() -> None:
    parser = argparse.ArgumentParser()
    config.add_arguments(parser, config.WATCHER_SETTINGS)
    args = parser.parse_args(["-n", "apps", "--context", "prod", "--lease-duration", "9s"])
    s = load_settings({}, args, in_cluster_namespace=lambda: None)
    assert s.watch_namespace == "apps" and s.kube_context == "prod" and s.lease_duration == 9.0
    assert {s.flag for s in config.SETTINGS} >= {
        "--redis-url",
        "--kubeconfig",
        "--context",
        "--namespace",
        "--concurrency",
        "--log-format",
        "--metrics-port",
    }


def test_the_old_flag_spellings_still_work_but_are_not_shown() -> None:
    parser = argparse.ArgumentParser()
    config.add_arguments(parser, config.WATCHER_SETTINGS)
    args = parser.parse_args(["--watch-namespace", "apps", "--kube-context", "prod"])
    assert (args.watch_namespace, args.kube_context) == ("apps", "prod")
    shown = parser.format_help()
    assert "--watch-namespace" not in shown and "--kube-context" not in shown
    assert "-n WATCH_NAMESPACE, --namespace WATCH_NAMESPACE" in shown


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:hunter2@redis:6379/0", "redis://:***@redis:6379/0"),
        (
            "rediss://default:hunter2@redis:6380/0?ssl_cert_reqs=required",
            "rediss://default:***@redis:6380/0?ssl_cert_reqs=required",
        ),
        ("redis://hunter2@redis:6379/0", "redis://***@redis:6379/0"),
        ("redis://redis:6379/0?password=hunter2", "redis://redis:6379/0?password=***"),
        ("redis://redis:6379/0", "redis://redis:6379/0"),
    ],
)
def test_redis_url_is_redacted(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_settings_never_show_the_password() -> None:
    s = _load({"DRSYNCER_REDIS_URL": "redis://:hunter2@redis:6379/0"})
    assert s.redis_url.endswith("@redis:6379/0")
    assert "hunter2" not in repr(s) and "hunter2" not in json.dumps(s.describe())
    assert s.describe()["DRSYNCER_REDIS_URL"] == "redis://:***@redis:6379/0"


@pytest.mark.parametrize(
    "text",
    [
        "connecting to redis://:hunter2@redis:6379/0",
        "broker rediss://user:hunter2@redis/0 down",
        "header Authorization: Bearer hunter2.abc-def",
        "token=hunter2 password: hunter2",
        '{"client-key-data": "hunter2"}',
        "PASSWORD=hunter2 Api-Key: hunter2 BEARER hunter2",
        "HTTPS://u:hunter2@h",
        "\u017fecret=hunter2",  # a case-insensitive match beyond ASCII (a long s)
    ],
)
def test_log_text_is_masked(text: str) -> None:
    assert "hunter2" not in redact(text)


def test_log_text_without_credentials_is_kept_as_it_is() -> None:
    line = '{"verb":"create","resource":"configmaps","namespace":"shop","name":"web","code":201}'
    assert redact(line) == line


def test_a_document_leaving_the_process_is_masked_at_every_depth_and_keeps_its_shape() -> None:
    status = {
        "health": "Unhealthy",
        "message": "cannot connect to https://u:hunter2@h:6443",
        "conditions": [{"type": "Ready", "message": "Bearer hunter2 refused", "observedGeneration": 3}],
        "counts": (1, "token=hunter2"),
        "ok": True,
    }
    masked = redact_all(status)
    assert "hunter2" not in json.dumps(masked)
    assert masked["message"] == "cannot connect to https://u:***@h:6443"
    assert masked["conditions"][0]["observedGeneration"] == 3 and masked["ok"] is True
    assert masked["counts"] == (1, "token=***")


def _record(msg: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.makeLogRecord(
        {"name": "t", "levelname": "INFO", "levelno": 20, "msg": msg, "args": args}
    )
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_formatters_mask_messages_and_extras() -> None:
    record = _record("using %s", "redis://:hunter2@r:1/0", url="redis://:hunter2@r:1/0", count=3)
    assert "hunter2" not in RedactingTextFormatter().format(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "using redis://:***@r:1/0"
    assert line["url"] == "redis://:***@r:1/0" and line["count"] == 3
    assert line["level"] == "INFO" and line["logger"] == "t"


def test_setup_logging_json_writes_one_object_per_line() -> None:
    out = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        setup_logging("json", "INFO", out)
        logging.getLogger("drsyncer.test").info("hello %s", "redis://:hunter2@x/0")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    (line,) = out.getvalue().splitlines()
    assert json.loads(line)["message"] == "hello redis://:***@x/0"


def test_configuration_doc_holds_the_generated_table() -> None:
    doc = (ROOT / "docs" / "configuration.md").read_text()
    assert config.configuration_table() in doc


def test_each_command_help_shows_the_default_it_runs_with(capsys: pytest.CaptureFixture[str]) -> None:
    for command, port in (("worker", "9091"), ("watcher", "9090")):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert f"[env DRSYNCER_METRICS_PORT; default {port}]" in text, command
