"""Peak memory of syncing a namespace of 10,000 ConfigMaps of 1 KiB each into one destination.

This process does only the sync (the simulator runs in a child process, whose memory is not
counted); the peak resident set size comes from `getrusage`. Two syncs run: the first copies
everything into an empty namespace, the second is an unchanged resync, which reads both sides as
metadata and holds a few strings per copy (its marks), not the copies.

    python bench/sync_memory.py [--objects 10000] [--size 1024]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from sync_sim import NAMESPACE, SimProcess

from drsyncer.kube import client_from_kubeconfig_file
from drsyncer.sync.execute import Limits
from drsyncer.sync.namespace_sync import Destination, sync_namespace
from drsyncer.sync.result import Phase, TargetResult
from drsyncer.sync.rules import Rules

TARGET_MB = 250.0


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def current_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def one_sync(kubeconfig: Path, concurrency: int) -> tuple[float, TargetResult]:
    source = client_from_kubeconfig_file(kubeconfig, context="source", max_connections=concurrency)
    dest = client_from_kubeconfig_file(kubeconfig, context="dr1", max_connections=concurrency)
    rules = Rules.from_spec(
        {"resourceTypes": ["configmaps"]}, replication="bench/memory", source_cluster="source"
    )
    started = time.monotonic()
    (result,) = sync_namespace(
        source,
        [Destination(dest, NAMESPACE)],
        rules,
        source_namespace=NAMESPACE,
        limits=Limits(concurrency=concurrency),
    )
    elapsed = time.monotonic() - started
    source.close()
    dest.close()
    if result.phase != Phase.COMPLETED:
        raise SystemExit(f"the sync did not complete: {result.error or result.errors[:3]}")
    return elapsed, result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--size", type=int, default=1024, help="bytes of data per ConfigMap")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()

    with SimProcess({"kind": "configmaps", "count": args.objects, "size": args.size}) as sims:
        baseline = peak_mb()
        print(f"{args.objects} ConfigMaps of {args.size} bytes; simulator in process of its own")
        print(f"peak RSS after imports and setup: {baseline:.0f} MB")
        copy_s, copied = one_sync(sims.kubeconfig, args.concurrency)
        after_copy = peak_mb()
        print(
            f"copy:   {copied.totals.created} created in {copy_s:.1f}s, peak RSS {after_copy:.0f} MB "
            f"(now {current_mb():.0f} MB)"
        )
        sims.reset_counters("dr1")
        resync_s, resynced = one_sync(sims.kubeconfig, args.concurrency)
        after_resync = peak_mb()
        print(
            f"resync: {resynced.totals.unchanged} unchanged in {resync_s:.1f}s, "
            f"peak RSS {after_resync:.0f} MB, destination writes {sims.writes('dr1')}"
        )
    verdict = "meets" if after_resync < TARGET_MB else "MISSES"
    print(f"peak RSS over both syncs: {after_resync:.0f} MB ({verdict} the {TARGET_MB:.0f} MB target)")
    return 0 if after_resync < TARGET_MB else 1


if __name__ == "__main__":
    sys.exit(main())
