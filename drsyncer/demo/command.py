"""`drsyncer demo`: the whole system on one machine, from nothing to a first sync you can look at.

Simulated clusters (controller, source, dr1, dr2), a Redis, the watcher, beat, a small worker pool
and Flower run as child processes of this one; a sample application is seeded in the source and a
Replication copies it to both DR clusters. The first run is followed live, summarised per
destination (and checked against the clusters), and everything keeps running until Ctrl-C.
"""

from __future__ import annotations

import argparse
import secrets
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType

import yaml
from rich.console import Console

from drsyncer.demo import sample
from drsyncer.demo.children import Children, drsyncer_argv
from drsyncer.demo.progress import count_copies, follow_first_run
from drsyncer.demo.redis_choice import plan_redis, start_redis
from drsyncer.demo.seed import CLUSTERS, REPLICATIONS, connect, install_crds, seed_sample, wait_for
from drsyncer.demo.summary import print_summary, summarize, verify
from drsyncer.errors import DrsyncerError
from drsyncer.kube import ClusterClient

FLOWER_USER = "demo"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    if args.workers < 1 or args.concurrency < 1:
        raise DrsyncerError("--workers and --concurrency must be at least 1")
    console = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 120)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="drsyncer-demo-")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    children = Children(workdir)
    # SIGTERM (from a service manager, a test) shuts the children down like Ctrl-C does
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    # Ctrl-C must stop the children even when this process was started with SIGINT ignored
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    clients: dict[str, ClusterClient] = {}
    try:
        return _demo(args, console, workdir, children, clients)
    except KeyboardInterrupt:
        console.print("\nstopping…")
        return 0 if not args.once else 130
    finally:
        for client in clients.values():
            client.close()
        killed = children.stop()
        if killed:
            console.print(f"had to kill: {', '.join(killed)}")
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)


def _demo(
    args: argparse.Namespace,
    console: Console,
    workdir: Path,
    children: Children,
    clients: dict[str, ClusterClient],
) -> int:
    started = time.monotonic()
    kubeconfig = workdir / "kubeconfig"
    try:
        kubeconfig.unlink(missing_ok=True)  # a stale one would be taken for the new clusters' too early
    except OSError as exc:
        raise DrsyncerError(f"cannot use {kubeconfig}: {exc.strerror or exc}") from None
    console.print(f"[bold]drsyncer demo[/] — work directory {workdir}")

    sim = children.start(
        "sim", drsyncer_argv("sim", "--clusters", ",".join(CLUSTERS), "--kubeconfig", str(kubeconfig))
    )
    redis_plan = plan_redis(args.redis, free_port(), workdir)
    if redis_plan.note:
        console.print(redis_plan.note, style="yellow", markup=False)
    start_redis(children, redis_plan)
    console.print(f"  Redis: {redis_plan.description}")
    wait_for(
        lambda: "serving" in sim.tail() and kubeconfig.exists(),
        "the simulated clusters to start",
        children.check,
    )
    clients.update(connect(kubeconfig))
    console.print(f"  simulated clusters {', '.join(CLUSTERS)}: kubeconfig {kubeconfig}")
    controller, source = clients[sample.CONTROLLER], clients[sample.SOURCE]
    install_crds(controller, children.check)

    flower_auth = f"{FLOWER_USER}:{secrets.token_urlsafe(12)}" if args.flower else ""
    flower_port = free_port() if args.flower else 0
    _start_components(args, children, workdir, kubeconfig, redis_plan.url, flower_auth, flower_port)
    console.print(
        f"  started: watcher, beat, {args.workers} worker(s) of {args.concurrency} processes"
        + (", flower" if args.flower else "")
        + f" (logs in {workdir / 'logs'})"
    )
    seed_sample(clients, yaml.safe_load(kubeconfig.read_text()), children.check)
    replications = controller.resolve(REPLICATIONS)
    app = sample.application()
    console.print(
        f"  seeded {len(app)} objects in {len(sample.NAMESPACES)} source namespaces "
        f"({', '.join(sample.NAMESPACES)}); Replication {sample.CONTROL_NAMESPACE}/"
        f"{sample.REPLICATION_NAME} → {', '.join(sample.DESTINATIONS)} ({sample.SCHEDULE})"
    )

    destinations = [clients[d] for d in sample.DESTINATIONS]
    obj = follow_first_run(
        console,
        read=lambda: controller.get(replications, sample.CONTROL_NAMESPACE, sample.REPLICATION_NAME),
        copies=lambda: count_copies(destinations, sample.RESOURCE_TYPES, sample.NAMESPACES),
        expected_copies=len(app) * len(destinations),
        check_alive=children.check,
        timeout_s=args.timeout,
    )

    summaries = summarize(obj.get("status") or {}, sample.DESTINATIONS)
    for name, summary in summaries.items():
        verify(summary, clients[name], source, sample.RESOURCE_TYPES, sample.NAMESPACES)
    status = obj.get("status") or {}
    console.print(
        f"\nReplication {sample.CONTROL_NAMESPACE}/{sample.REPLICATION_NAME}: phase "
        f"{status.get('phase')}, {time.monotonic() - started:.1f}s after the demo started"
    )
    print_summary(console, summaries)
    ok = status.get("phase") == "Completed" and all(s.ok for s in summaries.values())
    if args.once:  # everything stops now: nothing is left to look around in but the logs
        console.print(f"  logs: {workdir / 'logs'}", markup=False, soft_wrap=True)
        if not ok:
            raise DrsyncerError("the first sync did not complete everywhere (see the summary above)")
        console.print("[green]everything synced[/]; stopping (--once)")
        return 0
    _print_look_around(console, kubeconfig, workdir, flower_port, flower_auth)
    console.print("\nrunning; the Replication syncs again every 30s. Ctrl-C to stop.")
    while True:
        children.check()
        time.sleep(1.0)  # poll interval


def _start_components(
    args: argparse.Namespace,
    children: Children,
    workdir: Path,
    kubeconfig: Path,
    redis_url: str,
    flower_auth: str,
    flower_port: int,
) -> None:
    common = {
        "DRSYNCER_REDIS_URL": redis_url,
        "DRSYNCER_KUBECONFIG": str(kubeconfig),
        "DRSYNCER_KUBE_CONTEXT": sample.CONTROLLER,
        "DRSYNCER_WATCH_NAMESPACE": sample.CONTROL_NAMESPACE,
        "DRSYNCER_LOG_FORMAT": "text",
        "DRSYNCER_LOG_LEVEL": "INFO",
        # the metrics, probe and Flower ports stay on this machine (Flower's password is printed)
        "DRSYNCER_LISTEN_ADDRESS": "127.0.0.1",
    }
    # tier 1: stopped before the Redis and the clusters (tier 0) they talk to
    children.start(
        "watcher",
        drsyncer_argv("watcher"),
        tier=1,
        env={
            **common,
            "DRSYNCER_METRICS_PORT": str(free_port()),
            "DRSYNCER_PROBE_PORT": str(free_port()),
            "DRSYNCER_LEASE_DURATION": "6s",
            "DRSYNCER_HEALTH_CHECK_INTERVAL": "30s",
            "DRSYNCER_IDENTITY": "demo-watcher",
        },
    )
    children.start(
        "beat",
        drsyncer_argv("beat"),
        tier=1,
        env={
            **common,
            "DRSYNCER_HEARTBEAT_FILE": str(workdir / "beat.heartbeat"),
            "DRSYNCER_BEAT_MAX_INTERVAL": "1s",
            "DRSYNCER_BEAT_LOCK_TIMEOUT": "10s",
        },
    )
    for i in range(1, args.workers + 1):
        children.start(
            f"worker-{i}",
            drsyncer_argv("worker"),
            tier=1,
            env={
                **common,
                "DRSYNCER_CONCURRENCY": str(args.concurrency),
                "DRSYNCER_METRICS_PORT": str(free_port()),
                "DRSYNCER_WORKER_NAME": f"worker-{i}@demo",
                "DRSYNCER_HEARTBEAT_FILE": str(workdir / f"worker-{i}.heartbeat"),
                "DRSYNCER_METRICS_DIR": str(workdir / f"metrics-worker-{i}"),
            },
        )
    if flower_port:
        # credentials through the environment: a command line is visible to every local user
        children.start(
            "flower",
            drsyncer_argv("flower"),
            tier=1,
            env={
                **common,
                "DRSYNCER_FLOWER_PORT": str(flower_port),
                "DRSYNCER_FLOWER_BASIC_AUTH": flower_auth,
            },
        )


def _print_look_around(
    console: Console, kubeconfig: Path, workdir: Path, flower_port: int, flower_auth: str
) -> None:
    def say(text: str) -> None:
        console.print(text, markup=False, soft_wrap=True)  # whole lines, to copy and paste

    kc = f"kubectl --kubeconfig {kubeconfig}"
    console.print("\n[bold]Look around[/]")
    say(f"  kubeconfig {kubeconfig}, contexts: {', '.join(CLUSTERS)}")
    say(f"  {kc} --context controller -n {sample.CONTROL_NAMESPACE} get repl,rcl")
    say(f"  {kc} --context dr1 -n shop-frontend get deploy,svc,cm,secret,ingress,featureflags")
    say(
        f"  drsyncer status --kubeconfig {kubeconfig} --context controller -n {sample.CONTROL_NAMESPACE} "
        f"{sample.REPLICATION_NAME}"
    )
    say(f"  logs: {workdir / 'logs'}")
    if flower_port:
        user, _, password = flower_auth.partition(":")
        # generated for this local demo only, and shown once so that Flower can be opened
        say(f"  Flower: http://127.0.0.1:{flower_port}/  user {user}  password {password}")
