"""The Celery app the watcher needs to write redbeat entries and send tasks by name. It holds no
tasks: the workers define them, and beat only needs the same broker and key prefix."""

from __future__ import annotations

from celery import Celery

from drsyncer.config import Settings
from drsyncer.redis_target import celery_settings


def make_app(redis_url: str, key_prefix: str = "redbeat:", *, name: str = "drsyncer-watcher") -> Celery:
    redis = celery_settings(redis_url)
    sentinel = redis.pop("sentinel_transport_options")
    app = Celery(name, broker=redis.pop("broker_url"), set_as_current=False)
    redis.pop("result_backend")  # the watcher reads no results
    app.conf.update(
        **redis,
        redbeat_key_prefix=key_prefix,
        task_serializer="json",
        accept_content=["json"],
        timezone="UTC",
        enable_utc=True,
        broker_connection_retry_on_startup=True,
        # a send must not hang the reconcile loop for long while Redis is away
        broker_transport_options={
            "max_retries": 3,
            "interval_start": 0.2,
            "interval_step": 0.5,
            "interval_max": 2.0,
            **sentinel,
        },
    )
    return app


def app_from_settings(settings: Settings) -> Celery:
    return make_app(settings.redis_url, settings.redbeat_key_prefix)
