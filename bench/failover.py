"""Failover time: `drsyncer failover` bringing up 100 namespaces x 10 standby Deployments in one
simulated DR cluster at 20 ms per request, against the floor of one write per workload.

The DR cluster runs in its own process (bench/sync_sim.py), seeded with the copies a sync leaves:
Deployments at 0 replicas with the original count recorded and drsyncer's marks. Only the DR
cluster exists, as on the day of a failover. Each run starts from a fresh seed.

    python bench/failover.py [--namespaces 100] [--deployments 10] [--latency-ms 20] [--concurrency 16 64]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from sync_sim import SimProcess

from drsyncer.cli import main


def run_once(namespaces: int, deployments: int, latency_ms: float, concurrency: int) -> dict[str, float]:
    seed = {"kind": "standby", "namespaces": namespaces, "count": deployments}
    with SimProcess(seed=seed) as sims:
        sims.set_faults("dr1", latency_ms=latency_ms)
        sims.reset_counters("dr1")
        out = io.StringIO()
        started = time.monotonic()
        with contextlib.redirect_stdout(out):
            code = main(
                [
                    "failover",
                    "--kubeconfig",
                    str(sims.kubeconfig),
                    "--to",
                    "dr1",
                    "--concurrency",
                    str(concurrency),
                    "-o",
                    "json",
                ]
            )
        wall = time.monotonic() - started
        if code != 0:
            raise SystemExit(f"drsyncer failover exited {code}: {out.getvalue()[-2000:]}")
        document = json.loads(out.getvalue())
        brought_up = sum(1 for c in document["copies"] if c["outcome"] == "change")
        counters = sims.counters("dr1")
        requests = sum(sum(by_resource.values()) for by_resource in counters.values())
        return {
            "concurrency": concurrency,
            "workloads": len(document["copies"]),
            "brought_up": brought_up,
            "seconds": wall,
            "requests": requests,
            "writes": sims.writes("dr1"),
        }


def main_bench() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--namespaces", type=int, default=100)
    parser.add_argument("--deployments", type=int, default=10, help="per namespace")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 64])
    args = parser.parse_args()
    floor = args.namespaces * args.deployments
    print(
        f"failover of {args.namespaces} namespaces x {args.deployments} Deployments, {args.latency_ms:g} ms "
        f"per request; floor: {floor} writes (one per workload)"
    )
    print(
        f"{'concurrency':>11} {'workloads':>9} {'brought up':>10} {'seconds':>8} {'requests':>8} "
        f"{'writes':>6} {'writes/floor':>12} {'requests/floor':>14}"
    )
    for concurrency in args.concurrency:
        r = run_once(args.namespaces, args.deployments, args.latency_ms, concurrency)
        print(
            f"{r['concurrency']:>11} {r['workloads']:>9} {r['brought_up']:>10} {r['seconds']:>8.2f} "
            f"{r['requests']:>8} {r['writes']:>6} {r['writes'] / floor:>12.2f} {r['requests'] / floor:>14.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main_bench())
