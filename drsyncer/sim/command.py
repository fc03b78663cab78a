"""`drsyncer sim`: serve simulated clusters until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import signal
import threading
from types import FrameType

from drsyncer.errors import DrsyncerError
from drsyncer.sim.cluster import SimFleet


def run(args: argparse.Namespace) -> int:
    names = [n.strip() for n in str(args.clusters).split(",") if n.strip()]
    if not names or len(set(names)) != len(names):
        raise DrsyncerError(f"--clusters needs distinct names, got {args.clusters!r}")
    fleet = SimFleet(
        names,
        tls=bool(args.tls),
        token=True if args.token else None,
        host=args.host,
        base_port=int(args.base_port or 0),
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    try:
        try:
            fleet.start()
        except OSError as exc:
            raise DrsyncerError(f"cannot listen: {exc}") from exc
        path = fleet.write_kubeconfig(args.kubeconfig)
        print(f"kubeconfig: {path}", flush=True)
        for cluster in fleet:
            print(f"context {cluster.name}: {cluster.url}", flush=True)
        print("serving; Ctrl-C to stop", flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        fleet.stop()
