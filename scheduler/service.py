"""One watcher replica: the leader election loop, and the `Watcher` running while it leads."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from celery import Celery

from drsyncer.api.keys import INSTALL_CRDS
from drsyncer.config import Settings
from drsyncer.errors import DrsyncerError
from drsyncer.kube import audit
from drsyncer.kube.client import ClusterClient
from drsyncer.kube.errors import ApiError, NotServed
from drsyncer.kube.exec_credentials import ExecPolicy
from drsyncer.kube.retry import NO_RETRY
from scheduler import metrics
from scheduler.continuous import DEFAULT_DEBOUNCE_S
from scheduler.leader import LeaseElector
from scheduler.watcher import REMOTE_CLUSTERS, REPLICATIONS, SCHEDULE_CHECK_S, Watcher

log = logging.getLogger(__name__)

REQUIRED_RESOURCES = (REMOTE_CLUSTERS, REPLICATIONS)


class WatcherService:
    """`run(stop)` until `stop` is set; `healthy()` and `ready()` answer the probes."""

    def __init__(
        self,
        settings: Settings,
        controller: ClusterClient,
        app: Celery,
        *,
        watch_timeout_s: int = 30,
        debounce_s: float = DEFAULT_DEBOUNCE_S,
        schedule_check_s: float = SCHEDULE_CHECK_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.controller = controller
        self.app = app
        self.watch_timeout_s = watch_timeout_s
        self.debounce_s = debounce_s
        self.schedule_check_s = schedule_check_s
        self._clock = clock
        # the election must answer within a renew interval: no retries, short timeouts, so a slow
        # controller makes this replica step down in time instead of blocking past its Lease
        renew = settings.lease_renew_interval
        election_client = ClusterClient(
            controller.api_client,
            name=controller.name,
            origin=controller.origin,
            retry=NO_RETRY,
            timeout=(min(2.0, renew), renew),
        )
        self.elector = LeaseElector(
            election_client,
            settings.lease_namespace,
            settings.lease_name,
            settings.identity,
            duration_s=settings.lease_duration,
            clock=clock,
        )
        self.watcher: Watcher | None = None
        self._watcher_stop: threading.Event | None = None
        self._watcher_thread: threading.Thread | None = None
        self._last_step: float | None = None
        self.running = False
        # dr-syncer.io kinds the controller does not serve; None until first asked
        self.missing_crds: tuple[str, ...] | None = None

    @property
    def is_leader(self) -> bool:
        return self.elector.is_leader and self.watcher is not None

    def run(self, stop: threading.Event) -> None:
        self.running = True
        log.info(
            "watcher %s: electing a leader with Lease %s/%s",
            self.settings.identity,
            self.settings.lease_namespace,
            self.settings.lease_name,
        )
        # the Lease writes of the election are the watcher's own, on no Replication's behalf
        with audit.acting_for(audit.Actor(component="watcher")):
            try:
                while not stop.is_set():
                    leading = self.elector.step()
                    self._last_step = self._clock()
                    if self.missing_crds != ():
                        self._check_crds()
                    if leading and self.watcher is None:
                        self._start_watcher()
                    elif not leading and self.watcher is not None:
                        log.warning("watcher %s: lost the Lease; standing by", self.settings.identity)
                        self._stop_watcher()
                    metrics.LEADER.set(1 if self.is_leader else 0)
                    wait = self.settings.lease_renew_interval
                    expiry = self.elector.seconds_to_expiry()
                    if expiry is not None:
                        # a standby steps right when the leader's Lease runs out, not up to a tick later
                        wait = min(wait, expiry + 0.01)
                    stop.wait(wait)
            finally:
                self._stop_watcher()
                self.elector.release()
                metrics.LEADER.set(0)
                self.running = False

    def _start_watcher(self) -> None:
        s = self.settings
        log.info("watcher %s: leading; watching %s", s.identity, s.watch_namespace or "all namespaces")
        self.watcher = Watcher(
            self.controller,
            self.app,
            namespace=s.watch_namespace or None,
            redis_url=s.redis_url,
            resync_s=s.resync_interval,
            watch_timeout_s=self.watch_timeout_s,
            health_check_s=s.health_check_interval,
            leading=lambda: self.elector.is_leader,
            debounce_s=self.debounce_s,
            schedule_check_s=self.schedule_check_s,
            exec_policy=ExecPolicy.of(s.exec_plugins, s.exec_plugin_timeout),
        )
        self._watcher_stop = threading.Event()
        self._watcher_thread = threading.Thread(
            target=self.watcher.run, args=(self._watcher_stop,), name="watcher", daemon=True
        )
        self._watcher_thread.start()

    def _stop_watcher(self) -> None:
        if self._watcher_stop is not None:
            self._watcher_stop.set()
        if self._watcher_thread is not None:
            self._watcher_thread.join(10)
        self.watcher = None
        self._watcher_stop = None
        self._watcher_thread = None

    def _check_crds(self) -> None:
        """Ask discovery whether the CRDs the watcher needs are served; say once what to run while
        they are not, and once when they appear."""
        missing = []
        for resource in REQUIRED_RESOURCES:
            try:
                self.controller.resolve(resource)
            except NotServed:
                missing.append(resource)
            except ApiError:
                return  # the controller did not answer: nothing learnt
            except DrsyncerError:
                missing.append(resource)
        found = tuple(missing)
        if found and found != self.missing_crds:
            log.warning(
                "the controller cluster does not serve %s: install the CRDs with `%s`; the watcher "
                "waits for them (not ready meanwhile)",
                ", ".join(found),
                INSTALL_CRDS,
            )
        elif not found and self.missing_crds:
            log.info("the controller cluster serves %s now; watching them", ", ".join(self.missing_crds))
        self.missing_crds = found

    # -- probes -------------------------------------------------------------------------------------

    def healthy(self) -> tuple[bool, str]:
        if not self.running:
            return False, "the election loop is not running"
        if self._last_step is None:
            return True, "starting"
        idle = self._clock() - self._last_step
        if idle > max(3 * self.settings.lease_renew_interval, 30.0):
            return False, f"the election loop has not run for {idle:.0f}s"
        return True, "leader" if self.is_leader else "standby"

    def ready(self) -> tuple[bool, str]:
        ok, message = self.healthy()
        if not ok:
            return ok, message
        contact = self.elector.last_contact
        if contact is None:
            return False, "the controller cluster has not answered yet"
        silent = self._clock() - contact
        if silent > max(3 * self.settings.lease_renew_interval, 10.0):
            return False, f"no answer from the controller cluster for {silent:.0f}s"
        if self.missing_crds:
            return False, f"the CRDs are not installed ({', '.join(self.missing_crds)}): run {INSTALL_CRDS}"
        return True, "leader" if self.is_leader else f"standby (leader: {self.elector.holder or 'none'})"
