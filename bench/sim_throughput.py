"""Throughput of one simulated cluster: GETs/s, creates/s, and 500 requests in flight at 50 ms latency.

The cluster runs in this process; the load comes from a separate process with a concurrent aiohttp
client, so client and server do not share an interpreter lock.

    python bench/sim_throughput.py [--seconds 3] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from drsyncer.sim import SimCluster

TARGETS = {"get": 1000.0, "create": 500.0}


@dataclass
class Result:
    name: str
    requests: int
    errors: int
    seconds: float
    note: str = ""

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


async def _closed_loop(url: str, verb: str, seconds: float, concurrency: int) -> tuple[int, int, float]:
    """`concurrency` workers send requests back to back for `seconds`; returns (ok, errors, elapsed)."""
    ok = errors = 0
    deadline = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker(worker_id: int) -> None:
            nonlocal ok, errors
            n = 0
            while time.monotonic() < deadline:
                n += 1
                if verb == "get":
                    request = session.get(f"{url}/api/v1/namespaces/bench/configmaps/cm-{n % 100}")
                else:
                    body = {
                        "metadata": {"name": f"w{worker_id}-{n}", "labels": {"bench": "yes"}},
                        "data": {"key": "value" * 10},
                    }
                    request = session.post(f"{url}/api/v1/namespaces/bench/configmaps", json=body)
                async with request as response:
                    await response.read()
                    if response.status in (200, 201):
                        ok += 1
                    else:
                        errors += 1

        started = time.monotonic()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        return ok, errors, time.monotonic() - started


async def _burst(url: str, count: int) -> tuple[int, int, float]:
    """`count` GETs started at once, twice: the first round opens the connections, the second is measured
    (a real client keeps its connections). Returns (ok, errors, elapsed) of the second round."""
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one(n: int) -> bool:
            try:
                async with session.get(f"{url}/api/v1/namespaces/bench/configmaps/cm-{n % 100}") as response:
                    await response.read()
                    return response.status == 200
            except aiohttp.ClientError:
                return False

        warm_up = await asyncio.gather(*(one(n) for n in range(count)))
        started = time.monotonic()
        results = await asyncio.gather(*(one(n) for n in range(count)))
        elapsed = time.monotonic() - started
        errors = warm_up.count(False) + results.count(False)
        return sum(results), errors, elapsed


async def _paged_list(url: str, page: int) -> tuple[int, int, float]:
    """Read the `bulk` namespace page by page, as drsyncer reads a source namespace."""
    items = errors = 0
    async with aiohttp.ClientSession() as session:
        started = time.monotonic()
        token = ""
        while True:
            params = {"limit": str(page)}
            if token:
                params["continue"] = token
            async with session.get(f"{url}/api/v1/namespaces/bulk/configmaps", params=params) as response:
                if response.status != 200:
                    errors += 1
                    break
                body = await response.json()
            items += len(body["items"])
            token = body["metadata"].get("continue", "")
            if not token:
                break
        return items, errors, time.monotonic() - started


def _client(url: str, task: str, seconds: float, concurrency: int, out: Any) -> None:
    if task == "list":
        out.send(asyncio.run(_paged_list(url, concurrency)))
    elif task == "burst":
        out.send(asyncio.run(_burst(url, concurrency)))
    else:
        out.send(asyncio.run(_closed_loop(url, task, seconds, concurrency)))


def run_in_client_process(url: str, task: str, seconds: float, concurrency: int) -> tuple[int, int, float]:
    receiver, sender = multiprocessing.Pipe(duplex=False)
    proc = multiprocessing.get_context("spawn").Process(
        target=_client, args=(url, task, seconds, concurrency, sender)
    )
    proc.start()
    result: tuple[int, int, float] = receiver.recv()
    proc.join()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each closed-loop run")
    parser.add_argument("--concurrency", type=int, default=64, help="client workers in the closed-loop runs")
    parser.add_argument("--in-flight", type=int, default=500, help="requests started at once in the burst")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="injected latency for the burst")
    parser.add_argument("--bulk", type=int, default=10_000, help="objects in the paged-list run")
    args = parser.parse_args(argv)

    results: list[Result] = []
    with SimCluster("bench") as cluster:
        cluster.store.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}})
        for n in range(100):
            cluster.store.put(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": f"cm-{n}", "namespace": "bench"},
                    "data": {"n": str(n)},
                }
            )
        for verb in ("get", "create"):
            ok, errors, elapsed = run_in_client_process(cluster.url, verb, args.seconds, args.concurrency)
            results.append(Result(f"{verb} (concurrency {args.concurrency})", ok, errors, elapsed))
        cluster.store.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bulk"}})
        for n in range(args.bulk):
            cluster.store.put(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": f"cm-{n:05d}", "namespace": "bulk", "labels": {"n": str(n)}},
                    "data": {"payload": "x" * 200},
                }
            )
        items, errors, elapsed = run_in_client_process(cluster.url, "list", 0, 500)
        results.append(
            Result(f"paged list of {args.bulk} objects (limit 500)", items, errors, elapsed, "objects/s")
        )
        cluster.faults.set(latency_ms=args.latency_ms)
        cluster.api.max_in_flight = 0
        ok, errors, elapsed = run_in_client_process(cluster.url, "burst", 0, args.in_flight)
        results.append(
            Result(
                f"burst of {args.in_flight} GETs at {args.latency_ms:.0f} ms latency",
                ok,
                errors,
                elapsed,
                f"max in flight {cluster.api.max_in_flight}",
            )
        )
        stored = sum(1 for _ in cluster.store.iter_objects(("", "configmaps"), "bench"))

    print(f"{'run':<44} {'requests':>9} {'errors':>7} {'seconds':>8} {'req/s':>9}  note")
    for r in results:
        print(f"{r.name:<44} {r.requests:>9} {r.errors:>7} {r.seconds:>8.2f} {r.rate:>9.0f}  {r.note}")
    print(f"configmaps stored after the create run: {stored}")
    get_rate, create_rate, burst = results[0].rate, results[1].rate, results[3]
    verdicts = [
        ("GETs/s", get_rate, TARGETS["get"]),
        ("creates/s", create_rate, TARGETS["create"]),
    ]
    failed = False
    for name, value, target in verdicts:
        ok = value >= target
        failed |= not ok
        print(f"{name}: {value:.0f} (target >= {target:.0f}) {'ok' if ok else 'BELOW TARGET'}")
    burst_ok = burst.errors == 0 and burst.requests == args.in_flight
    failed |= not burst_ok
    print(
        f"in flight at {args.latency_ms:.0f} ms: {burst.requests}/{args.in_flight} ok, "
        f"{burst.errors} errors, "
        f"{burst.note}, {burst.seconds:.2f} s {'ok' if burst_ok else 'FAILED'}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
