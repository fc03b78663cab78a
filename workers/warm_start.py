"""A pool process gets ready as it starts, not in its first task.

What a process keeps for its whole life (workers.jobs.Context: the controller and Redis clients and
the Redis connection, the RemoteCluster informers, a client per RemoteCluster with its kubeconfig
read, its discovery and its request handles; the write threads and the destination threads of a
namespace sync) was built by whichever task came first.
With four pool processes per worker and several workers, that is some tens of milliseconds of CPU
per process, most of it the kernel giving the new process its own copy of each memory page it
touches, inside the first run after a start or a scale-up and paid again by every process
(docs/performance.md, "Worker start"). Here each process builds it right after the fork. Its first
task still costs more than the next ones (about 16 ms of CPU more in the benchmark: its memory
growing, its first connections, the Replication's spec parsed), which only a sync gets ready.

Both the worker's main process, just before it forks a pool process, and each pool process, once
its warm start is done, freeze the objects alive at that moment (`freeze_heap`): they live as long
as the process, and a full collection of CPython's garbage collector would otherwise walk and write
to every one of them again and again (docs/performance.md, "Garbage collection").

Best effort and bounded: nothing here raises, a RemoteCluster that cannot be reached or whose Secret
is missing is left to the first task that needs it (which reports why, as before), discovery is only
taken from the copy other processes share in Redis (never read from a cluster here), no request is
sent to a RemoteCluster, and Celery waits at most `WAIT_S` for it before the process takes tasks
(what is left goes on in the background; a task needing the same client waits for it as it would
have built it itself).
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from drsyncer.config import Settings
from drsyncer.kube import ClusterClient
from drsyncer.sync.execute import start_write_threads
from drsyncer.sync.namespace_sync import start_destination_threads
from workers import metrics
from workers.jobs import Context, context

log = logging.getLogger(__name__)

# Celery replaces a pool process that has not reported itself up within `worker_proc_alive_timeout`
# (4 s by default, celery/app/defaults.py); the process waits this long for its warm start, and
# lets it run on in the background beyond that
WAIT_S = 2.0
# write threads started, in `write_concurrency`s: the writes to two destinations at once (a
# Replication's usual DR pair); each RemoteCluster's client gets one `write_concurrency` of request
# handles, as many as one destination's writes use at once
WRITE_THREADS = 2


@dataclass
class WarmStart:
    """What a warm start got ready: RemoteCluster clients built, those whose discovery was in Redis,
    write threads and destination threads started, and the RemoteClusters left to their first task
    (with the first reason)."""

    clients: int = 0
    discovered: int = 0
    threads: int = 0
    destination_threads: int = 0
    skipped: int = 0
    first_problem: str = ""
    seconds: float = 0.0


def warm(ctx: Context, namespace: str | None, wait_s: float = WAIT_S) -> WarmStart:
    """Build the clients of every RemoteCluster in `namespace` (None: all namespaces) in `ctx` and take
    their discovery from Redis. Never raises."""
    started = time.monotonic()
    done = WarmStart()
    try:
        remote = ctx.remote_clusters.listed(namespace, wait_s)  # (the controller's discovery with it)
    except Exception as exc:  # the controller is unreachable: every task will say so
        done.first_problem = f"listing RemoteClusters: {exc}"
        remote = []
    clients: list[ClusterClient] = []
    for obj in remote:
        meta = obj.get("metadata") or {}
        try:
            client = ctx.clients.get(obj)
        except Exception as exc:  # a missing Secret, a bad kubeconfig: the first task reports it
            done.skipped += 1
            done.first_problem = done.first_problem or f"{meta.get('namespace')}/{meta.get('name')}: {exc}"
            continue
        clients.append(client)
        if client.discovery.load_shared():
            done.discovered += 1
    done.clients = len(clients)

    for client in clients:
        client.prepare_handles(ctx.settings.write_concurrency)
    metrics.show_clusters([ctx.controller.name, *(client.name for client in clients)])
    done.threads = start_write_threads(WRITE_THREADS * ctx.settings.write_concurrency, wait_s)
    # a namespace sync's steps per destination (its listing and namespace, then its writes): two
    # destinations' at once
    done.destination_threads = start_destination_threads(2 * WRITE_THREADS, wait_s)
    try:  # the connection a task's first Redis command would open
        ctx.redis.ping()
    except Exception as exc:  # Redis away: the first task reports it
        done.first_problem = done.first_problem or f"Redis: {exc}"
    done.seconds = time.monotonic() - started
    return done


def freeze_heap(**_: object) -> None:
    """Collect garbage once, then put every object alive now out of the garbage collector's reach
    for the rest of the process (`gc.freeze`); a `worker_before_create_process` receiver too.

    Why: a full (oldest-generation) collection visits every tracked object and writes to its header.
    In a pool process that is, besides its CPU, a private copy of every page of the parent's heap
    it shares: measured in a pool process syncing namespaces of 100 ConfigMaps, the first full
    collection came in its 9th task (the count of collections carries over from the parent) and
    took 55-66 ms of CPU and 4,700 page faults (about 18 MB that stops being shared), and each one
    after it walks the whole heap again. What is alive at a fork (modules, Celery, drsyncer's
    tables) or after the warm start (clients, informers, threads) lives as long as the process, so
    nothing is lost by never collecting it; frozen objects are still freed when their last reference
    goes (only a reference cycle among them would stay). This is what the `gc.freeze` documentation
    advises for processes that fork without exec (Python 3.7+).
    """
    gc.collect()
    gc.freeze()


def on_process_init(settings: Settings, worker: str) -> Callable[..., None]:
    """A `worker_process_init` receiver: warm start the pool process it runs in, waiting up to
    `WAIT_S` for it."""

    def receiver(**_: object) -> None:
        inherited = gc.get_freeze_count()  # what the worker froze just before it forked this process

        def run() -> None:
            try:
                done = warm(context(settings, worker), settings.watch_namespace or None)
            except Exception:  # building the context failed: the first task raises it properly
                log.debug("pool process %d: warm start failed", os.getpid(), exc_info=True)
                freeze_heap()
                return
            freeze_heap()
            log.info(
                "pool process %d ready in %.0f ms: %d RemoteCluster clients (%d with discovery from "
                "Redis), %d write threads, %d destination threads, %d left to their first task%s; "
                "objects frozen: %d at the fork, %d after the warm start",
                os.getpid(),
                done.seconds * 1000,
                done.clients,
                done.discovered,
                done.threads,
                done.destination_threads,
                done.skipped,
                f" ({done.first_problem})" if done.first_problem else "",
                inherited,
                gc.get_freeze_count() - inherited,
            )

        thread = threading.Thread(target=run, name="warm-start", daemon=True)
        thread.start()
        thread.join(WAIT_S)

    return receiver


__all__ = ["WAIT_S", "WarmStart", "on_process_init", "warm"]
