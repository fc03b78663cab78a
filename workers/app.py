"""The Celery app shared by workers, beat and Flower, configured from drsyncer's settings.

Delivery is at least once and tasks are idempotent (docs/operations.md): a task is acknowledged only
after it returned (`acks_late`), a worker process that dies hands its task back
(`task_reject_on_worker_lost`), each process holds one task at a time (prefetch 1), and a task is
killed (hard time limit) before Redis would deliver it to a second worker (visibility timeout).
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from kombu import Exchange, Queue

from drsyncer.config import Settings, load_settings
from drsyncer.redis_target import celery_settings
from drsyncer.task_contract import QUEUES, ROUTES, SYNC_QUEUE
from workers.broker_transport import REDIS_TRANSPORT, SENTINEL_TRANSPORT

# how much earlier than the hard limit a task is asked to stop (SoftTimeLimitExceeded)
SOFT_LIMIT_FRACTION = 0.9
# a worker told to stop (SIGTERM) lets its running tasks finish for this long (or two thirds of
# DRSYNCER_SHUTDOWN_TIMEOUT if less), then hands them back
SOFT_SHUTDOWN_S = 30.0
# a Redis that vanishes without closing its connections (a frozen or partitioned server, a failover)
# must not hold any Redis call, and with it a worker's shutdown, forever: every call gives up after this
REDIS_SOCKET_TIMEOUT_S = 10.0
REDIS_CONNECT_TIMEOUT_S = 5.0
HEARTBEAT_SCHEDULER = "workers.beat:HeartbeatRedBeatScheduler"


def soft_shutdown_s(settings: Settings) -> float:
    """The part of the shutdown timeout running tasks get to finish; the rest is for handing them back
    and closing connections."""
    return min(SOFT_SHUTDOWN_S, settings.shutdown_timeout * 2 / 3)


def celery_config(settings: Settings) -> dict[str, Any]:
    """Every Celery setting drsyncer relies on, from its own settings."""
    transport: dict[str, Any] = {
        "visibility_timeout": int(settings.visibility_timeout),
        "socket_timeout": REDIS_SOCKET_TIMEOUT_S,
        "socket_connect_timeout": REDIS_CONNECT_TIMEOUT_S,
    }
    # tasks of a worker that vanished go back to the queue at the first sweep after the visibility
    # timeout; sweep often enough that this is not much later (one cheap Redis query per sweep)
    sweeps = {
        "unacked_restore_interval": max(1, min(10, int(settings.visibility_timeout) // 6)),
        "unacked_restore_throttle": 1,
    }
    redis = celery_settings(settings.redis_url)
    sentinel = redis.pop("sentinel_transport_options")
    if sentinel:
        redis["broker_transport"] = SENTINEL_TRANSPORT
    elif str(redis.get("broker_url", "")).startswith("redis://"):
        redis["broker_transport"] = REDIS_TRANSPORT
    return {
        **redis,
        "broker_transport_options": {**transport, **sweeps, **sentinel},
        "result_backend_transport_options": {**transport, **sentinel},
        "redis_socket_timeout": REDIS_SOCKET_TIMEOUT_S,
        "redis_socket_connect_timeout": REDIS_CONNECT_TIMEOUT_S,
        "broker_connection_retry_on_startup": True,
        # Celery gives up reconnecting after 100 tries (kombu's 2-30 s pauses: about 46 minutes) and
        # the worker exits; a worker tries for as long as Redis is away, and takes tasks once it is back
        "broker_connection_max_retries": None,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        "timezone": "UTC",
        "enable_utc": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_time_limit": int(settings.task_time_limit),
        "task_soft_time_limit": int(settings.task_time_limit * SOFT_LIMIT_FRACTION),
        # a late-ack task whose ack can no longer be sent would run a second time elsewhere anyway
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "worker_soft_shutdown_timeout": soft_shutdown_s(settings),
        # each queue its own exchange and key, as the watcher's app names them when it sends by queue
        "task_queues": [Queue(name, Exchange(name, type="direct"), routing_key=name) for name in QUEUES],
        "task_default_queue": SYNC_QUEUE,
        "task_routes": dict(ROUTES),
        # nothing reads a task's stored result: the run's outcome is the Replication's status, its
        # Events and the run records, and Flower shows tasks (arguments, result, exception) from the
        # task events below; one result key per task would hold ~1 KB of Redis for a day
        "task_ignore_result": True,
        "result_expires": 3600,  # for a task that opts in with ignore_result=False
        # task events are three Redis messages per task in the worker's main process (and one per
        # send in beat), a good part of what a task of an unchanged namespace costs; only a monitor
        # reads them. Off, a worker still sends them once a monitor asks: Flower broadcasts
        # `enable_events` when it starts (workers.command.flower) and every 5 s (flower 2.2
        # events.py, --events_enable_interval), which workers started later pick up
        "worker_send_task_events": settings.task_events,
        "task_send_sent_event": settings.task_events,
        "worker_hijack_root_logger": False,  # drsyncer.logs formats and masks every line
        "worker_redirect_stdouts": False,
        # beat: RedBeat with a short lock, so a replacement beat takes over within a minute
        "beat_scheduler": HEARTBEAT_SCHEDULER,
        "beat_max_loop_interval": int(settings.beat_max_interval),
        "redbeat_key_prefix": settings.redbeat_key_prefix,
        "redbeat_lock_timeout": int(settings.beat_lock_timeout),
    }


class DrsyncerCelery(Celery):
    """The app, with the settings it was configured from (tasks read the controller and Redis from them)."""

    settings: Settings

    def configure(self, settings: Settings) -> DrsyncerCelery:
        self.settings = settings
        self.conf.update(celery_config(settings))
        return self


app = DrsyncerCelery("drsyncer", include=["workers.tasks", "workers.webhooks"])
# from the environment at import (how `celery -A workers.app` and the child processes see it); the
# entry points configure it again with their flags before starting anything
app.configure(load_settings())
