"""A `drsyncer watcher` process started before the CRDs are installed: not ready, saying what to run,
until they are; then it says it picked them up and becomes ready."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import requests

from drsyncer.api.crds import all_crds
from drsyncer.kube import client_from_kubeconfig
from drsyncer.sim import SimFleet
from tests.fixtures.children import popen
from tests.fixtures.polling import builtin_ref, eventually
from tests.fixtures.ports import free_port

CRDS = builtin_ref("customresourcedefinitions")


def test_watcher_is_not_ready_without_the_crds_says_what_to_run_and_picks_them_up(
    sim_fleet: Callable[..., SimFleet], redis_url: str, tmp_path: Path
) -> None:
    fleet = sim_fleet(["controller"])
    kubeconfig = fleet.write_kubeconfig(tmp_path / "kubeconfig")
    probe_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRSYNCER_")}
    env.update(
        DRSYNCER_KUBECONFIG=str(kubeconfig),
        DRSYNCER_KUBE_CONTEXT="controller",
        DRSYNCER_REDIS_URL=redis_url,
        DRSYNCER_PROBE_PORT=str(probe_port),
        DRSYNCER_METRICS_PORT="0",
        DRSYNCER_LEASE_DURATION="3",
        PYTHONUNBUFFERED="1",
    )
    log_path = tmp_path / "watcher.log"
    with log_path.open("wb") as log:
        proc = popen(
            [sys.executable, "-m", "drsyncer.cli", "watcher"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    readyz = f"http://127.0.0.1:{probe_port}/readyz"
    try:
        # (a Response is falsy when not ok, so the check returns its text)
        not_ready = eventually(
            lambda: (
                (r := requests.get(readyz, timeout=2)).status_code == 503
                and "CRDs are not installed" in r.text
                and r.text
            ),
            timeout_s=30,
            what="/readyz to say the CRDs are missing",
            tolerate=(requests.RequestException,),
        )
        assert "drsyncer crds | kubectl apply --server-side -f -" in not_ready
        eventually(
            lambda: (
                "install the CRDs with `drsyncer crds | kubectl apply --server-side -f -`"
                in log_path.read_text()
            ),
            what="the log to say what to run",
        )

        controller = client_from_kubeconfig(fleet["controller"].kubeconfig_dict(), name="controller")
        try:
            for crd in all_crds():
                controller.create(CRDS, None, crd)
        finally:
            controller.close()
        eventually(
            lambda: requests.get(readyz, timeout=2).status_code == 200,
            timeout_s=30,
            what="/readyz to turn ready",
            tolerate=(requests.RequestException,),
        )
        text = log_path.read_text()
        assert "serves remoteclusters.dr-syncer.io, replications.dr-syncer.io now" in text
        # said once while waiting, not once per loop
        assert text.count("does not serve") == 1, text
    finally:
        proc.terminate()
        proc.wait(20)
