"""`drsyncer worker`, `drsyncer beat` and `drsyncer flower`.

Each reads its settings (flags over environment, drsyncer/config.py), sets up masked logging,
configures the one Celery app and runs Celery's own command in this process.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from drsyncer.config import WORKER_DEFAULTS, ConfigError, Settings, load_settings, port_in_use
from drsyncer.logs import setup_logging
from drsyncer.plugins.registry import installed, log_unusable
from workers import probes

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
FLOWER_AUTH_ENV = "FLOWER_BASIC_AUTH"


def _settings(args: argparse.Namespace, defaults: Mapping[str, str] | None = None) -> Settings:
    settings = load_settings(flags=args, defaults=defaults)
    setup_logging(settings.log_format, settings.log_level)
    return settings


def prepare_metrics_dir(settings: Settings) -> Path:
    """An empty multiprocess directory, named in the environment before prometheus-client is imported
    (it picks its storage when first imported; files of an earlier run would be added in)."""
    default = os.path.join(tempfile.gettempdir(), f"drsyncer-metrics-{os.getpid()}")
    path = Path(settings.metrics_dir or default)
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROC_ENV] = str(path)
    return path


def worker(args: argparse.Namespace) -> int:
    settings = _settings(args, WORKER_DEFAULTS)
    metrics_dir = prepare_metrics_dir(settings)
    parent = os.getpid()
    try:
        return _run_worker(settings, metrics_dir)
    finally:
        # a directory of its own making is removed (a named one is kept), by the parent only: pool
        # processes are forks of this frame
        if not settings.metrics_dir and os.getpid() == parent:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _run_worker(settings: Settings, metrics_dir: Path) -> int:
    # SIGTERM (what Kubernetes sends) starts Celery's soft shutdown: running tasks get
    # worker_soft_shutdown_timeout to finish, then go back to the queue at once instead of after the
    # visibility timeout; read by billiard when first imported, so before Celery is
    os.environ.setdefault("REMAP_SIGTERM", "SIGQUIT")
    from celery.signals import (
        worker_before_create_process,
        worker_process_init,
        worker_process_shutdown,
        worker_shutting_down,
    )

    from workers import metrics
    from workers.app import app
    from workers.heartbeat import Heartbeat
    from workers.shutdown import ArmOnSignals, ShutdownDeadline
    from workers.warm_start import freeze_heap, on_process_init

    app.configure(settings)
    # loaded once here, before the pool forks, so every process has them; a broken one is logged once
    plugins = installed()
    log_unusable(plugins)
    log.info("plugins: %s", ", ".join(f"{p.name} {p.version}".strip() for p in plugins.values()) or "none")
    Heartbeat.path = probes.heartbeat_file("worker", settings.heartbeat_file)
    app.steps["consumer"].add(Heartbeat)

    def on_child_exit(pid: int | None = None, **_: Any) -> None:
        metrics.process_exited(pid)

    worker_process_shutdown.connect(on_child_exit, weak=False)
    deadline = ShutdownDeadline(settings.shutdown_timeout)
    worker_shutting_down.connect(deadline.arm, weak=False)
    ArmOnSignals.deadline = deadline
    app.steps["worker"].add(ArmOnSignals)
    name = settings.worker_name or f"drsyncer@{socket.gethostname()}"
    worker_before_create_process.connect(freeze_heap, weak=False)
    worker_process_init.connect(on_process_init(settings, name), weak=False)
    log.info("starting worker %s on queues %s with %s", name, ",".join(settings.queues), settings.describe())
    if settings.metrics_port:
        try:
            metrics.serve(
                settings.metrics_port,
                settings.redis_url,
                settings.queues,
                str(metrics_dir),
                settings.listen_address,
            )
        except OSError as exc:
            raise port_in_use("metrics_port", settings.metrics_port, exc) from None
        log.info("metrics on :%d/metrics (processes share %s)", settings.metrics_port, metrics_dir)
    app.worker_main(
        [
            "worker",
            "--queues",
            ",".join(settings.queues),
            "--concurrency",
            str(settings.concurrency),
            "--hostname",
            name,
            "--loglevel",
            settings.log_level,
            "--pool",
            "prefork",
            # task events as `worker_send_task_events` (DRSYNCER_TASK_EVENTS) says; worker events
            # (heartbeats, which Flower shows workers by) are always on
            "--without-mingle",
            # nothing in drsyncer uses worker-to-worker events (Flower reads events on its own)
            "--without-gossip",
        ]
    )
    return 0


def beat(args: argparse.Namespace) -> int:
    settings = _settings(args)
    from workers.app import HEARTBEAT_SCHEDULER, app
    from workers.beat import HeartbeatRedBeatScheduler

    app.configure(settings)
    HeartbeatRedBeatScheduler.heartbeat_path = probes.heartbeat_file("beat", settings.heartbeat_file)
    wait_for_redis(settings.redis_url, "beat", heartbeat=HeartbeatRedBeatScheduler.heartbeat_path)
    log.info(
        "starting beat (RedBeat, lock timeout %ds, max interval %ds) with %s",
        settings.beat_lock_timeout,
        settings.beat_max_interval,
        settings.describe(),
    )
    app.start(
        [
            "beat",
            "--scheduler",
            HEARTBEAT_SCHEDULER,
            "--loglevel",
            settings.log_level,
            "--max-interval",
            str(int(settings.beat_max_interval)),
        ]
    )
    return 0


def wait_for_redis(
    url: str, component: str, retry_s: float | None = None, heartbeat: Path | None = None
) -> None:
    """Return once Redis answers a PING; until then say so once, touch `heartbeat` (waiting is
    being alive: a restart cannot bring Redis back) and try again every `retry_s` (beat's
    `REDIS_RETRY_S`). Celery beat reads its schedule and takes RedBeat's lock as it starts, and a
    Redis not reachable yet (starting beside it, restarting) would end it with a traceback: beat
    waits for Redis at its start as it does while it runs (docs/operations.md)."""
    import redis

    from drsyncer.redis_target import client_from_url
    from workers.beat import REDIS_RETRY_S

    client = client_from_url(url, socket_connect_timeout=2, socket_timeout=2)
    told = False
    while True:
        try:
            client.ping()
        except redis.RedisError as exc:
            if not told:
                log.warning("%s: Redis unreachable (%s); waiting for it before starting", component, exc)
                told = True
            if heartbeat is not None:
                probes.beat(heartbeat)
            time.sleep(REDIS_RETRY_S if retry_s is None else retry_s)
            continue
        if told:
            log.info("%s: Redis is back; starting", component)
        client.close()
        return


def enable_task_events(app: Any) -> None:
    """Ask every running worker to send task events (off unless DRSYNCER_TASK_EVENTS), so that Flower
    sees tasks from its start: Flower itself first asks after 5 s, then every 5 s (flower 2.2
    events.py), which covers workers started later. A broadcast without replies; Redis away is
    logged and left to Flower's own asking."""
    import redis
    from kombu.exceptions import OperationalError

    try:
        app.control.enable_events()
    except (OperationalError, redis.RedisError, OSError) as exc:
        log.warning("could not ask workers for task events (Flower asks again every 5 s): %s", exc)


def flower(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if not settings.flower_basic_auth and not args.insecure_no_auth:
        raise ConfigError(
            "Flower needs credentials: set DRSYNCER_FLOWER_BASIC_AUTH (user:password), or "
            "pass --insecure-no-auth for local development"
        )
    if settings.flower_basic_auth and ":" not in settings.flower_basic_auth.split(",")[0]:
        raise ConfigError("DRSYNCER_FLOWER_BASIC_AUTH must be user:password[,user2:password2]")
    from workers.app import app

    app.configure(settings)
    # through Flower's environment variable, never the command line (visible to every local user)
    if settings.flower_basic_auth:
        os.environ[FLOWER_AUTH_ENV] = settings.flower_basic_auth
    else:
        os.environ.pop(FLOWER_AUTH_ENV, None)
        log.warning("Flower is running WITHOUT authentication (--insecure-no-auth)")
    log.info("starting Flower on :%d with %s", settings.flower_port, settings.describe())
    argv = ["flower", f"--port={settings.flower_port}", f"--address={settings.listen_address}"]
    if not settings.flower_basic_auth:
        # Flower 2 refuses its API without auth unless told; only ever with --insecure-no-auth
        os.environ["FLOWER_UNAUTHENTICATED_API"] = "true"
    enable_task_events(app)
    app.start(argv)
    return 0
