"""The Celery settings drsyncer's delivery guarantees depend on, and the task contract's parsing."""

from __future__ import annotations

import pytest

from drsyncer.config import ConfigError, load_settings
from drsyncer.task_contract import SCHEDULED_RUN, SyncJob
from workers.app import ROUTES, celery_config


def _settings(**flags: str):  # type: ignore[no-untyped-def]
    return load_settings(
        {}, {"redis_url": "redis://:hunter2@redis:6379/0", **flags}, in_cluster_namespace=lambda: None
    )


def test_reliability_settings() -> None:
    conf = celery_config(_settings(task_time_limit="10m", visibility_timeout="1h"))
    assert conf["task_acks_late"] and conf["task_reject_on_worker_lost"]
    assert conf["worker_prefetch_multiplier"] == 1
    assert conf["task_time_limit"] == 600 and conf["task_soft_time_limit"] == 540
    for options in (conf["broker_transport_options"], conf["result_backend_transport_options"]):
        assert options["visibility_timeout"] == 3600
    assert conf["accept_content"] == ["json"] and conf["task_serializer"] == "json"
    # nothing reads a stored result; Flower shows tasks from their events
    assert conf["task_ignore_result"] and not conf.get("result_extended")
    assert conf["beat_scheduler"].endswith("HeartbeatRedBeatScheduler")
    assert conf["redbeat_lock_timeout"] == 60 and conf["beat_max_loop_interval"] == 5


def test_task_events_are_off_unless_asked_for() -> None:
    """Without a monitor nothing pays for task events (Flower turns them on at the workers it sees);
    DRSYNCER_TASK_EVENTS=true sends them from the start, the task-sent event included."""
    default = celery_config(_settings())
    assert not default["worker_send_task_events"] and not default["task_send_sent_event"]
    asked = celery_config(load_settings({"DRSYNCER_TASK_EVENTS": "true"}, in_cluster_namespace=lambda: None))
    assert asked["worker_send_task_events"] and asked["task_send_sent_event"]
    with pytest.raises(ConfigError, match="DRSYNCER_TASK_EVENTS"):
        load_settings({"DRSYNCER_TASK_EVENTS": "sometimes"}, in_cluster_namespace=lambda: None)


def test_health_checks_have_a_queue_of_their_own() -> None:
    assert ROUTES["drsyncer.sync_namespace"] == ROUTES["drsyncer.cleanup_namespace"] == {"queue": "sync"}
    assert ROUTES["drsyncer.check_remote_cluster"] == {"queue": "health"}
    assert ROUTES["drsyncer.deliver_webhook"] == {"queue": "webhooks"}
    assert {q.name for q in celery_config(_settings())["task_queues"]} == {"sync", "health", "webhooks"}


def test_time_limit_must_be_shorter_than_the_visibility_timeout() -> None:
    with pytest.raises(ConfigError, match="DRSYNCER_TASK_TIME_LIMIT"):
        _settings(task_time_limit="2h", visibility_timeout="1h")


def test_flower_credentials_are_never_shown() -> None:
    settings = _settings(flower_basic_auth="ops:secret")
    assert "secret" not in repr(settings) and "secret" not in str(settings.describe())
    assert settings.describe()["DRSYNCER_FLOWER_BASIC_AUTH"] == "***"


def test_task_keyword_arguments_of_the_contract() -> None:
    job = SyncJob.from_kwargs(
        {
            "replication": {
                "kind": "Replication",
                "namespace": "dr-system",
                "name": "web",
                "uid": "u",
                "generation": 4,
            },
            "source_cluster": "prod",
            "source_namespace": "shop",
            "targets": [{"cluster": "dr1", "namespace": "shop"}, {"cluster": "dr2", "namespace": "shop-dr"}],
            "mode": "Scheduled",
            "run_id": None,
            "trigger": "schedule",
            "added_later": 1,
        }
    )
    assert job.replication.generation == 4 and [t.cluster for t in job.targets] == ["dr1", "dr2"]
    assert job.run_key == SCHEDULED_RUN
    assert job.run_label == "schedule"
    # a Continuous Replication's full resync shares the scheduled run's key; the log tells it apart
    background = SyncJob.from_kwargs({**job.to_kwargs(), "mode": "Continuous", "trigger": "background"})
    assert (background.run_key, background.run_label) == (SCHEDULED_RUN, "schedule (background resync)")
    assert (
        SyncJob.from_kwargs(
            {
                **{
                    "replication": {"namespace": "a", "name": "b"},
                    "source_cluster": "s",
                    "source_namespace": "n",
                },
                "run_id": "abc",
            }
        ).run_key
        == "abc"
    )


def test_flower_refuses_to_start_without_credentials(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from drsyncer.cli import main

    monkeypatch.delenv("DRSYNCER_FLOWER_BASIC_AUTH", raising=False)
    # the handler would replace the root logger's handlers, pytest's among them
    monkeypatch.setattr("workers.command.setup_logging", lambda *_a, **_k: None)
    assert main(["flower"]) == 1
    assert "DRSYNCER_FLOWER_BASIC_AUTH" in capsys.readouterr().err


def test_next_sync_time_follows_the_mode() -> None:
    from datetime import UTC, datetime, timedelta

    from drsyncer.api.parse import parse_replication
    from drsyncer.api.schedule import interval_slot, schedule_key
    from drsyncer.status.replication import next_sync_time

    now = datetime(2026, 1, 1, 10, 2, 30, tzinfo=UTC)

    def model(**spec: object):  # type: ignore[no-untyped-def]
        return parse_replication(
            {
                "apiVersion": "dr-syncer.io/v1alpha1",
                "kind": "Replication",
                "metadata": {"name": "web", "namespace": "dr-system"},
                "spec": {
                    "sourceCluster": "src",
                    "destinationCluster": "dr1",
                    "sourceNamespace": "web",
                    **spec,
                },
            }
        )

    assert next_sync_time(model(schedule="*/5 * * * *"), None, now) == datetime(2026, 1, 1, 10, 5, tzinfo=UTC)
    # interval schedules fire on the Replication's own grid, as beat sends them (workers/beat.GridEntry)
    key = schedule_key("Replication", "dr-system", "web")
    every = next_sync_time(model(schedule="@every 10s"), None, now)
    assert every == interval_slot(key, timedelta(seconds=10), now) + timedelta(seconds=10)
    assert now < every <= now + timedelta(seconds=10)
    continuous = model(replicationMode="Continuous", continuous={"backgroundSyncInterval": "30m"})
    resync = next_sync_time(continuous, None, now)
    assert resync == interval_slot(key, timedelta(minutes=30), now) + timedelta(minutes=30)
    assert now < resync <= now + timedelta(minutes=30)
    assert next_sync_time(model(replicationMode="Manual"), None, now) is None


def test_a_redis_broker_uses_the_transport_that_survives_a_lost_connection() -> None:
    from kombu.utils.imports import symbol_by_name

    from workers.broker_transport import RedisTransport

    conf = celery_config(_settings())
    assert symbol_by_name(conf["broker_transport"]) is RedisTransport
    # TLS URLs keep kombu's own transport, which reads the TLS settings from the URL
    tls = load_settings(
        {},
        {"redis_url": "rediss://:pw@redis:6380/0?ssl_cert_reqs=required"},
        in_cluster_namespace=lambda: None,
    )
    assert "broker_transport" not in celery_config(tls)
