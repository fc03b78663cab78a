"""The `drsyncer` command.

Each subcommand's options are declared here; its handler lives in the room that owns the work and is
imported (by a function-level import below) only when that subcommand runs, so `drsyncer --help`
stays fast and light. The CLI is every process's entry point, so it alone may import the scheduler
and the workers (pyproject.toml's import-linter contracts name these imports).
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Callable, Sequence

from drsyncer import __version__
from drsyncer.errors import CategorisedError, DrsyncerError

Handler = Callable[[argparse.Namespace], int]


# -- handlers: each imports its room only when its subcommand runs, so `drsyncer --help` stays light


def run_sim(args: argparse.Namespace) -> int:
    from drsyncer.sim.command import run

    return run(args)


def run_crds(args: argparse.Namespace) -> int:
    from drsyncer.api.command import crds

    return crds(args)


def run_validate(args: argparse.Namespace) -> int:
    from drsyncer.api.command import validate

    return validate(args)


def run_plugins(args: argparse.Namespace) -> int:
    from drsyncer.plugins.command import run

    return run(args)


def run_sync(args: argparse.Namespace) -> int:
    from drsyncer.sync.command import run

    return run(args)


def run_watcher(args: argparse.Namespace) -> int:
    from scheduler.command import run

    return run(args)


def run_worker(args: argparse.Namespace) -> int:
    from workers.command import worker

    return worker(args)


def run_beat(args: argparse.Namespace) -> int:
    from workers.command import beat

    return beat(args)


def run_flower(args: argparse.Namespace) -> int:
    from workers.command import flower

    return flower(args)


def run_probe(args: argparse.Namespace) -> int:
    from workers.probes import run

    return run(args)


def run_demo(args: argparse.Namespace) -> int:
    from drsyncer.demo.command import run

    return run(args)


def run_status(args: argparse.Namespace) -> int:
    from drsyncer.ops.status import run

    return run(args)


def run_sync_now(args: argparse.Namespace) -> int:
    from drsyncer.ops.sync_now import run

    return run(args)


def run_plan(args: argparse.Namespace) -> int:
    from drsyncer.ops.plan import run

    return run(args)


def run_failover(args: argparse.Namespace) -> int:
    from drsyncer.ops.failover import run

    return run(args)


def run_failback(args: argparse.Namespace) -> int:
    from drsyncer.ops.failback import run

    return run(args)


def run_migrate(args: argparse.Namespace) -> int:
    from drsyncer.ops.migrate import run

    return run(args)


def _add_sim(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sim",
        help="serve simulated Kubernetes clusters and write a kubeconfig for them",
        description="Start one simulated Kubernetes API server per cluster name, write a kubeconfig "
        "with one context per cluster (named after it) and serve until Ctrl-C.",
    )
    p.add_argument(
        "--clusters",
        default="controller,source,dr1,dr2",
        help="comma-separated cluster names (default: %(default)s)",
    )
    p.add_argument("--kubeconfig", required=True, help="path of the kubeconfig file to write")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    p.add_argument(
        "--base-port",
        type=int,
        default=0,
        help="first port; clusters take consecutive ports (default: free ports)",
    )
    p.add_argument("--tls", action="store_true", help="serve HTTPS with a generated CA")
    p.add_argument("--token", action="store_true", help="require a generated bearer token per cluster")
    p.set_defaults(handler=run_sim)


def _add_crds(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "crds",
        help="print the CustomResourceDefinitions as YAML",
        description="Print the dr-syncer.io CRDs generated from drsyncer's API models.",
    )
    p.add_argument("--output-dir", help="write one file per CRD into this directory instead")
    p.set_defaults(handler=run_crds)


def _add_validate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate",
        help="check RemoteCluster/Replication/NamespaceMapping YAML offline",
        description="Validate custom resources in a YAML file (or - for stdin) without "
        "a cluster; prints field-level errors and exits non-zero if any.",
    )
    p.add_argument("file", help="YAML file with one or more documents, or - for standard input")
    p.set_defaults(handler=run_validate)


def _add_plugins(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plugins",
        help="list the plugins installed beside drsyncer",
        description="List the plugins (entry points in the drsyncer.plugins group) a worker would "
        "load: name, distribution, version and hooks; exits 1 if one cannot be loaded (docs/plugins.md).",
    )
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.set_defaults(handler=run_plugins)


def _add_sync(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sync",
        help="copy namespaces from one cluster to others once, now",
        description="One-shot sync between kubeconfig contexts, without Redis or Celery: plans and "
        "applies, then prints a per-kind table of the result.",
    )
    p.add_argument(
        "--kubeconfig", default=None, help="kubeconfig holding the contexts [env DRSYNCER_KUBECONFIG]"
    )
    p.add_argument("--source-context", required=True, help="context of the source cluster")
    p.add_argument(
        "--dest-context",
        action="append",
        required=True,
        metavar="CONTEXT[,CONTEXT...]",
        help="destination context(s), comma-separated; repeatable, each adds to the list",
    )
    p.add_argument(
        "-n",
        "--namespace",
        action="append",
        required=True,
        metavar="NS[:DEST]",
        help="source namespace, optionally mapped to another destination name (both DNS-1123 "
        "labels); repeatable",
    )
    p.add_argument("--types", help="comma-separated resource types (default: the Replication defaults)")
    p.add_argument("--dry-run", action="store_true", help="plan and report, write nothing")
    p.add_argument(
        "--modifiers",
        metavar="FILE",
        help="YAML file holding a list of modifier rules, as in a Replication's spec.modifiers "
        "(docs/modifiers.md); the destination context names stand for the RemoteClusters in `clusters`",
    )
    p.add_argument(
        "--prune", action="store_true", help="delete destination objects this sync owns whose source is gone"
    )
    p.add_argument(
        "--no-scale-to-zero",
        action="store_true",
        help="let the copies run: keep replica counts, do not suspend Jobs and CronJobs or hold "
        "DaemonSets off their nodes",
    )
    p.add_argument("--concurrency", type=int, default=16, help="requests in flight per destination")
    p.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="list every skipped object with its reason (default: grouped by reason)",
    )
    p.set_defaults(handler=run_sync)


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
    p.set_defaults(handler=run_watcher)


def _add_worker(sub: argparse._SubParsersAction) -> None:
    from drsyncer import config

    p = sub.add_parser(
        "worker",
        help="run a Celery worker: namespace syncs, cleanups and RemoteCluster checks",
        description="Run a Celery worker (prefork, CONCURRENCY processes) on the given queues, with "
        "Prometheus metrics of all its processes on METRICS_PORT and a heartbeat file for `drsyncer "
        "probe worker`. Every flag has an environment variable (see docs/configuration.md); the flag wins.",
    )
    config.add_arguments(p, config.WORKER_SETTINGS, config.WORKER_DEFAULTS)
    p.set_defaults(handler=run_worker)


def _add_beat(sub: argparse._SubParsersAction) -> None:
    from drsyncer import config

    p = sub.add_parser(
        "beat",
        help="run Celery beat with the RedBeat schedule the watcher writes (one replica)",
        description="Run Celery beat with the RedBeat scheduler: it turns due schedule entries into "
        "tasks. Its lock in Redis keeps a second beat idle. Every flag has an environment variable.",
    )
    config.add_arguments(p, config.BEAT_SETTINGS)
    p.set_defaults(handler=run_beat)


def _add_flower(sub: argparse._SubParsersAction) -> None:
    from drsyncer import config

    p = sub.add_parser(
        "flower",
        help="run Flower (task monitoring) behind HTTP basic auth",
        description="Run Flower on FLOWER_PORT. Refuses to start without DRSYNCER_FLOWER_BASIC_AUTH "
        "unless --insecure-no-auth is given.",
    )
    config.add_arguments(p, config.FLOWER_SETTINGS)
    p.add_argument(
        "--insecure-no-auth",
        action="store_true",
        help="serve Flower and its API without authentication (local development only)",
    )
    p.set_defaults(handler=run_flower)


def _add_probe(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "probe",
        help="liveness check of a worker or beat by the age of its heartbeat file (exit 0 or 1)",
        description="Exit 0 when the heartbeat file of the worker or beat on this host is younger than "
        "--max-age seconds, 1 otherwise. Cheap: reads a file's time, nothing else.",
    )
    p.add_argument("role", choices=("worker", "beat"))
    p.add_argument("--max-age", type=float, default=60.0, help="seconds (default: %(default)s)")
    p.add_argument(
        "--heartbeat-file",
        default=None,
        help="heartbeat file [env DRSYNCER_HEARTBEAT_FILE; default /tmp/drsyncer-<role>.heartbeat]",
    )
    p.set_defaults(handler=run_probe)


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="run everything on this machine against simulated clusters and show a first sync",
        description="Start simulated clusters (controller, source, dr1, dr2), a Redis (redis-server "
        "from PATH, else an embedded one), the watcher, beat, workers and Flower as child processes; seed a "
        "sample application, replicate it to both DR clusters, follow the first sync and summarise it. "
        "Runs until Ctrl-C.",
    )
    p.add_argument(
        "--once", action="store_true", help="stop after the first sync; exit 0 only if everything synced"
    )
    p.add_argument(
        "--workdir", help="directory for the kubeconfig and the logs (default: a new temporary one)"
    )
    p.add_argument("--workers", type=int, default=2, help="worker processes (default: %(default)s)")
    p.add_argument(
        "--concurrency", type=int, default=2, help="pool processes per worker (default: %(default)s)"
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=240.0,
        help="seconds to wait for the first sync (default: %(default)s)",
    )
    p.add_argument(
        "--redis",
        choices=("auto", "server", "embedded"),
        default="auto",
        help="auto: redis-server from PATH if there, else embedded; server; embedded (default: %(default)s)",
    )
    p.add_argument("--no-flower", dest="flower", action="store_false", help="do not start Flower")
    p.set_defaults(handler=run_demo)


def _add_controller_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--kubeconfig",
        default=None,
        help="kubeconfig of the controller cluster [env DRSYNCER_KUBECONFIG, then KUBECONFIG; default: "
        "in-cluster]",
    )
    p.add_argument(
        "--context",
        default=None,
        help="context in it [env DRSYNCER_KUBE_CONTEXT; default: its current-context]",
    )
    p.add_argument(
        "-n",
        "--namespace",
        default=None,
        help="namespace of the Replications [env DRSYNCER_WATCH_NAMESPACE; default: all for "
        "status, else default]",
    )


def _add_output(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-o",
        "--output",
        choices=("json", "yaml"),
        default=None,
        help="print a JSON or YAML document instead of the table",
    )


def _add_status(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "status",
        help="show Replications and how their last sync went",
        description="A table of the Replications in the controller cluster (mode, phase, "
        "last and next sync, synced and failed counts, and the reason of a failed or waiting "
        "one); with NAME, its per-target detail and last error.",
        epilog="exit status: 0 when no Replication shown failed; 3 when one is Failed or "
        "PartiallyFailed or has an invalid spec; 1 when the command itself failed (controller "
        "unreachable, Replication not found); 2 for a usage error.",
    )
    p.add_argument("name", nargs="?", help="one Replication")
    _add_controller_flags(p)
    _add_output(p)
    p.set_defaults(handler=run_status)


def _add_sync_now(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sync-now",
        help="ask for a sync of a Replication now (dr-syncer.io/sync-now)",
        description="Set the dr-syncer.io/sync-now annotation; the watcher sends the run "
        "and removes it. With --wait, follow the run until its status shows it finished.",
        epilog="exit status: 0 when the sync was requested (with --wait: when the run it asked for "
        "Completed); 1 when, with --wait, that run ended PartiallyFailed or Failed, none finished within "
        "--timeout, or the Replication would never run (an invalid spec, a namespace selector matching "
        "nothing: refused before asking), or when the command itself failed (controller unreachable, "
        "Replication not found); 2 for a usage error.",
    )
    p.add_argument("name", help="the Replication")
    p.add_argument("--wait", action="store_true", help="follow the run until it finishes")
    p.add_argument(
        "--timeout", type=float, default=600.0, help="seconds to wait with --wait (default: %(default)s)"
    )
    _add_controller_flags(p)
    p.set_defaults(handler=run_sync_now)


def _add_plan(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plan",
        help="dry run of a Replication: what would be created, updated, pruned",
        description="Read the Replication, its RemoteClusters and their kubeconfig Secrets "
        "from the controller cluster and plan every source namespace against every "
        "destination without writing anything anywhere.",
    )
    p.add_argument("name", help="the Replication")
    p.add_argument(
        "--diff",
        action="store_true",
        help="also show, per object, a unified diff of YAML from the source object to the copy it "
        "would write (built-in transforms, plugins, ownership marks); Secret values are redacted",
    )
    _add_controller_flags(p)
    _add_output(p)
    p.set_defaults(handler=run_plan)


def _add_failover(sub: argparse._SubParsersAction) -> None:
    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--kubeconfig",
            default=None,
            help="kubeconfig holding the contexts [env DRSYNCER_KUBECONFIG, then KUBECONFIG]",
        )
        p.add_argument(
            "--cluster",
            default=None,
            help="name of the DR cluster in status and Events (default: its context name)",
        )
        p.add_argument(
            "--replication",
            action="append",
            metavar="[NS/]NAME",
            help="only copies made by this Replication; repeatable",
        )
        p.add_argument(
            "-n",
            "--namespace",
            action="append",
            metavar="NS",
            help="only copies in this namespace of the DR cluster; repeatable",
        )
        p.add_argument("-l", "--selector", help="only copies matching this label selector")
        p.add_argument("--dry-run", action="store_true", help="show the plan, write nothing anywhere")
        p.add_argument(
            "--controller",
            metavar="CONTEXT",
            default=None,
            help="context of the controller cluster, for pausing/resuming the Replications and "
            "recording status.failover and Events",
        )
        p.add_argument(
            "--controller-kubeconfig",
            default=None,
            help="kubeconfig of --controller when it is not --kubeconfig",
        )
        p.add_argument("--concurrency", type=int, default=16, help="writes in flight (default: %(default)s)")
        p.add_argument("-v", "--verbose", action="store_true", help="list every workload changed")
        _add_output(p)

    p = sub.add_parser(
        "failover",
        help="bring the standby copies in a DR cluster up (only that cluster needs to answer)",
        description="Undo what the standby transform did to drsyncer's copies in the DR cluster: replicas "
        "back to the recorded original (a larger scale-override kept), CronJobs and Jobs resumed, "
        "DaemonSets schedulable again. With --controller, the Replications are paused first and the "
        "failover is recorded in their status. Running it again changes nothing. See docs/failover.md.",
        epilog="exit status: 0 when every selected copy is up (with --check: when nothing is missing); 1 "
        "when one could not be brought up, --wait timed out or the command failed; 2 for a usage error; "
        "3 when --check finds something missing or unreadable.",
    )
    p.add_argument("--to", required=True, metavar="CONTEXT", help="context of the DR cluster to bring up")
    common(p)
    p.add_argument(
        "--check",
        action="store_true",
        help="say what a failover now would bring up and what would be missing; change nothing",
    )
    p.add_argument("--wait", action="store_true", help="wait until the workloads brought up are running")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds for --wait (default: %(default)s)")
    p.set_defaults(handler=run_failover)

    p = sub.add_parser(
        "failback",
        help="put the copies a failover brought up back in standby and resume syncing",
        description="Write back the standby values the failover recorded on each copy it brought up in the "
        "DR cluster and, with --controller, resume the Replications the failover paused. See "
        "docs/failover.md.",
        epilog="exit status: 0 when every copy is back in standby; 1 otherwise; 2 for a usage error.",
    )
    p.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="CONTEXT",
        help="context of the DR cluster that was brought up",
    )
    p.add_argument(
        "--copy-back-to",
        metavar="CONTEXT",
        default=None,
        help="first write what changed in the DR cluster since the failover into this (source) "
        "cluster, so resumed syncing does not overwrite it",
    )
    common(p)
    p.set_defaults(handler=run_failback)


def _add_migrate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "migrate",
        help="convert legacy NamespaceMapping YAML to Replication YAML",
        description="Print the file with every NamespaceMapping rewritten as a Replication "
        "(other documents unchanged); warnings about dropped fields go to standard error.",
    )
    p.add_argument("file", help="YAML file, or - for standard input")
    p.set_defaults(handler=run_migrate)


def _add_version(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "version",
        help="print drsyncer's version",
        description="Print the version of drsyncer (the same as drsyncer --version).",
    )
    p.set_defaults(handler=print_version)


def print_version(args: argparse.Namespace) -> int:
    print(f"drsyncer {__version__}")
    return 0


SUBCOMMANDS = (
    _add_sim,
    _add_crds,
    _add_validate,
    _add_plugins,
    _add_sync,
    _add_watcher,
    _add_worker,
    _add_beat,
    _add_flower,
    _add_probe,
    _add_demo,
    _add_status,
    _add_sync_now,
    _add_plan,
    _add_migrate,
    _add_failover,
    _add_version,
)


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


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _check_command(parser: argparse.ArgumentParser, argv: Sequence[str]) -> None:
    """An unknown subcommand fails with the closest known ones, before argparse lists them all."""
    commands = _subparsers(parser)
    if not argv or argv[0].startswith("-") or argv[0] in commands:
        return
    word = argv[0]
    close = difflib.get_close_matches(word, list(commands), n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    parser.error(f"unknown command {word!r}{hint} (drsyncer --help lists them)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    _check_command(parser, argv)
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        # the subcommand's own usage, not the top-level one, names the options it takes
        command = _subparsers(parser).get(getattr(args, "command", None) or "", parser)
        command.error(f"unrecognized arguments: {' '.join(unknown)}")
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        handler: Handler = args.handler
        return handler(args)
    except CategorisedError as exc:
        # the category is for status and metrics; at a terminal the message is what to act on
        print(f"drsyncer {args.command}: {exc.message}", file=sys.stderr)
        return 1
    except DrsyncerError as exc:
        print(f"drsyncer {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
