"""The `drsyncer` command.

Each subcommand's options are declared here; its handler lives in the room that owns the work and is
imported only when that subcommand runs, so `drsyncer --help` stays fast and light.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from drsyncer import __version__
from drsyncer.errors import DrsyncerError

Handler = Callable[[argparse.Namespace], int]


def _add_sim(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sim",
        help="serve simulated Kubernetes clusters and write a kubeconfig for them",
        description="Start one simulated Kubernetes API server per cluster name, write a kubeconfig "
        "with one context per cluster (named after it) and serve until Ctrl-C.",
    )
    p.add_argument("--clusters", default="controller,source,dr1,dr2",
                   help="comma-separated cluster names (default: %(default)s)")
    p.add_argument("--kubeconfig", required=True, help="path of the kubeconfig file to write")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    p.add_argument("--base-port", type=int, default=0,
                   help="first port; clusters take consecutive ports (default: free ports)")
    p.add_argument("--tls", action="store_true", help="serve HTTPS with a generated CA")
    p.add_argument("--token", action="store_true", help="require a generated bearer token per cluster")
    p.set_defaults(handler="drsyncer.sim.command:run")


def _add_crds(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("crds", help="print the CustomResourceDefinitions as YAML",
                       description="Print the dr-syncer.io CRDs generated from drsyncer's API models.")
    p.add_argument("--output-dir", help="write one file per CRD into this directory instead")
    p.set_defaults(handler="drsyncer.api.command:crds")


def _add_validate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check RemoteCluster/Replication/NamespaceMapping YAML offline",
                       description="Validate custom resources in a YAML file (or - for stdin) without "
                       "a cluster; prints field-level errors and exits non-zero if any.")
    p.add_argument("file", help="YAML file with one or more documents, or - for standard input")
    p.set_defaults(handler="drsyncer.api.command:validate")


def _add_sync(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sync",
        help="copy namespaces from one cluster to others once, now",
        description="One-shot sync between kubeconfig contexts, without Redis or Celery: plans and "
        "applies, then prints a per-kind table of the result.",
    )
    p.add_argument("--kubeconfig", required=True, help="kubeconfig holding the contexts")
    p.add_argument("--source-context", required=True, help="context of the source cluster")
    p.add_argument("--dest-context", required=True, help="destination context(s), comma-separated")
    p.add_argument("--namespace", action="append", required=True, metavar="NS[:DEST]",
                   help="source namespace, optionally mapped to another destination name; repeatable")
    p.add_argument("--types", help="comma-separated resource types (default: the Replication defaults)")
    p.add_argument("--dry-run", action="store_true", help="plan and report, write nothing")
    p.add_argument("--prune", action="store_true",
                   help="delete destination objects this sync owns whose source is gone")
    p.add_argument("--no-scale-to-zero", action="store_true", help="keep Deployment replica counts")
    p.add_argument("--concurrency", type=int, default=16, help="requests in flight per destination")
    p.set_defaults(handler="drsyncer.sync.command:run")


def _add_watcher(sub: argparse._SubParsersAction) -> None:
    from drsyncer import config

    p = sub.add_parser(
        "watcher",
        help="watch Replications and keep their schedule in Redis (leader-elected)",
        description="Watch RemoteCluster, Replication and NamespaceMapping objects in the controller "
        "cluster and keep one redbeat schedule entry per (Replication, source namespace); send runs for "
        "the sync-now annotation; one replica of several is active (Lease). Every flag has an "
        "environment variable (see docs/configuration.md); the flag wins.",
    )
    config.add_arguments(p, config.WATCHER_SETTINGS)
    p.set_defaults(handler="scheduler.command:run")


def _add_worker(sub: argparse._SubParsersAction) -> None:
    from drsyncer import config

    p = sub.add_parser(
        "worker",
        help="run a Celery worker: namespace syncs, cleanups and RemoteCluster checks",
        description="Run a Celery worker (prefork, CONCURRENCY processes) on the given queues, with "
        "Prometheus metrics of all its processes on METRICS_PORT and a heartbeat file for `drsyncer "
        "probe worker`. Every flag has an environment variable (see docs/configuration.md); the flag wins.",
    )
    config.add_arguments(p, config.WORKER_SETTINGS)
    p.set_defaults(handler="workers.command:worker")


def _add_beat(sub: argparse._SubParsersAction) -> None:
    from drsyncer import config

    p = sub.add_parser(
        "beat",
        help="run Celery beat with the RedBeat schedule the watcher writes (one replica)",
        description="Run Celery beat with the RedBeat scheduler: it turns due schedule entries into "
        "tasks. Its lock in Redis keeps a second beat idle. Every flag has an environment variable.",
    )
    config.add_arguments(p, config.BEAT_SETTINGS)
    p.set_defaults(handler="workers.command:beat")


def _add_flower(sub: argparse._SubParsersAction) -> None:
    from drsyncer import config

    p = sub.add_parser(
        "flower",
        help="run Flower (task monitoring) behind HTTP basic auth",
        description="Run Flower on FLOWER_PORT. Refuses to start without DRSYNCER_FLOWER_BASIC_AUTH "
        "unless --insecure-no-auth is given.",
    )
    config.add_arguments(p, config.FLOWER_SETTINGS)
    p.add_argument("--insecure-no-auth", action="store_true",
                   help="serve Flower and its API without authentication (local development only)")
    p.set_defaults(handler="workers.command:flower")


def _add_probe(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "probe",
        help="liveness check of a worker or beat by the age of its heartbeat file (exit 0 or 1)",
        description="Exit 0 when the heartbeat file of the worker or beat on this host is younger than "
        "--max-age seconds, 1 otherwise. Cheap: reads a file's time, nothing else.",
    )
    p.add_argument("role", choices=("worker", "beat"))
    p.add_argument("--max-age", type=float, default=60.0, help="seconds (default: %(default)s)")
    p.add_argument("--heartbeat-file", default=None,
                   help="heartbeat file [env DRSYNCER_HEARTBEAT_FILE; default "
                   "/tmp/drsyncer-<role>.heartbeat]")
    p.set_defaults(handler="workers.probes:run")


SUBCOMMANDS = (_add_sim, _add_crds, _add_validate, _add_sync, _add_watcher, _add_worker, _add_beat,
               _add_flower, _add_probe)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="drsyncer",
        description="Keep disaster-recovery Kubernetes clusters in step with a source cluster.",
    )
    parser.add_argument("--version", action="version", version=f"drsyncer {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(sub)
    return parser


def _load(target: str) -> Handler:
    module_name, _, func = target.partition(":")
    handler: Handler = getattr(importlib.import_module(module_name), func)
    return handler


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return _load(args.handler)(args)
    except DrsyncerError as exc:
        print(f"drsyncer {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
