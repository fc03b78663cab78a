"""`drsyncer watcher`: run one watcher replica until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from types import FrameType

from prometheus_client import start_http_server

from drsyncer.config import load_settings, port_in_use
from drsyncer.kube.kubeconfig import controller_client
from drsyncer.logs import setup_logging
from drsyncer.plugins.registry import installed, log_unusable
from scheduler.celery_app import app_from_settings
from scheduler.probes import ProbeServer
from scheduler.service import WatcherService

log = logging.getLogger(__name__)


def run(args: argparse.Namespace) -> int:
    settings = load_settings(flags=args)
    setup_logging(settings.log_format, settings.log_level)
    log.info("starting the watcher with %s", settings.describe())
    log_unusable(installed())  # a Replication naming one of them gets InvalidSpec with the reason
    controller = controller_client(settings.kubeconfig or None, settings.kube_context or None)
    app = app_from_settings(settings)
    service = WatcherService(settings, controller, app)
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received signal %d; releasing the Lease and stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        probes = ProbeServer(
            settings.listen_address, settings.probe_port, healthy=service.healthy, ready=service.ready
        ).start()
    except OSError as exc:
        controller.close()
        raise port_in_use("probe_port", settings.probe_port, exc) from None
    log.info("probes on :%d (/healthz, /readyz)", probes.port)
    if settings.metrics_port:
        try:
            start_http_server(settings.metrics_port, addr=settings.listen_address)
        except OSError as exc:
            probes.stop()
            controller.close()
            raise port_in_use("metrics_port", settings.metrics_port, exc) from None
        log.info("metrics on :%d/metrics", settings.metrics_port)
    try:
        service.run(stop)
    finally:
        probes.stop()
        controller.close()
    return 0
