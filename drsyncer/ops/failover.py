"""`drsyncer failover --to CONTEXT`: bring the standby copies in a DR cluster up.

Only the DR cluster has to answer: the copies are found by their ownership marks and brought up from
what the standby transform recorded on them (`drsyncer.sync.standby.release`). With `--controller`,
and when that cluster answers, the Replications whose copies these are are paused first (so no later
run puts the copies back in standby), and `status.failover` and Events record the outcome.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from rich.console import Console

from drsyncer.api.webhooks import WebhookEvent
from drsyncer.errors import DrsyncerError
from drsyncer.kube import ClusterClient
from drsyncer.ops import dr_copies, failover_record
from drsyncer.ops.controller import Target, connect, make_console, print_document
from drsyncer.ops.dr_copies import FAILED, Report, Selection
from drsyncer.sync.ownership import owner_of
from drsyncer.sync.standby import Outcome, release

COLUMNS = (
    ("BROUGHT UP", (Outcome.CHANGE,)),
    ("ALREADY UP", (Outcome.DONE,)),
    ("NOT STANDBY", (Outcome.NOT_STANDBY,)),
    ("FAILED", (FAILED, Outcome.INVALID)),
)
DRY_RUN_COLUMNS = (("WOULD BRING UP", (Outcome.CHANGE,)), *COLUMNS[1:])
WAIT_POLL_S = 1.0


def controller_for(args: argparse.Namespace, kubeconfig: str, console: Console) -> ClusterClient | None:
    """The controller cluster's client when `--controller` names it and it answers; a warning (not a
    failure) when it does not: the DR side of a failover must not depend on it."""
    if not args.controller:
        return None
    target = Target(args.controller_kubeconfig or kubeconfig, args.controller, None)
    try:
        return connect(target)
    except DrsyncerError as exc:
        print(
            f"warning: {exc}; Replications are not paused and no status is written: run this command "
            "again with --controller once the controller cluster is back",
            file=sys.stderr,
        )
        console.print(f"controller: unreachable ({target.label})", markup=False)
        return None


def is_running(copy: Mapping[str, Any]) -> bool:
    """True once a brought-up copy runs what its spec asks: ready replicas for Deployments and the
    like, available Pods on every scheduled node for a DaemonSet. CronJobs and Jobs count as running
    once resumed (their Pods come on their schedule)."""
    kind = copy.get("kind")
    spec = copy.get("spec") or {}
    status = copy.get("status") or {}
    meta = copy.get("metadata") or {}
    if status.get("observedGeneration") is not None and int(status["observedGeneration"]) < int(
        meta.get("generation") or 0
    ):
        return False
    if kind in ("Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"):
        wanted = 1 if spec.get("replicas") is None else int(spec["replicas"])
        return int(status.get("readyReplicas") or 0) >= wanted
    if kind == "DaemonSet":
        return (
            int(status.get("numberAvailable") or 0) >= int(status.get("desiredNumberScheduled") or 0)
            and status.get("observedGeneration") is not None
        )
    return True


def wait_running(client: ClusterClient, report: Report, timeout_s: float, console: Console) -> bool:
    """Poll the copies brought up until each runs (`is_running`) or `timeout_s` passes; False on timeout,
    after listing the ones still starting."""
    pending = {(r.kind, r.namespace, r.name) for r in report.results if r.outcome == Outcome.CHANGE}
    deadline = time.monotonic() + timeout_s
    refs = {}
    while pending:
        for kind, namespace, name in sorted(pending):
            if kind not in refs:
                refs[kind] = client.resolve(kind)
            obj = client.get(refs[kind], namespace, name)
            if obj is None or is_running(obj):
                pending.discard((kind, namespace, name))
        if not pending:
            break
        if time.monotonic() > deadline:
            console.print(f"still starting after {timeout_s:.0f}s:", markup=False)
            for kind, namespace, name in sorted(pending):
                console.print(f"  {kind} {namespace}/{name}", markup=False)
            return False
        time.sleep(WAIT_POLL_S)  # poll interval of --wait
    console.print(f"all {report.count(Outcome.CHANGE)} workloads brought up are running", markup=False)
    return True


def summary_line(report: Report, *, dry_run: bool) -> str:
    up, done, failed = report.count(Outcome.CHANGE), report.count(Outcome.DONE), report.failed
    timing = f"in {report.elapsed_s:.2f}s ({report.requests} requests to {report.cluster})"
    if dry_run:
        return (
            f"failover to {report.cluster} (dry run): would bring up {up}, {done} already up, "
            f"{failed} failed; nothing written {timing}"
        )
    if not up and not failed:
        return (
            f"failover to {report.cluster}: nothing changed, all {done} standby workloads already up {timing}"
        )
    return (
        f"failover to {report.cluster}: {up} workloads brought up, {done} already up, {failed} failed "
        f"{timing}"
    )


def run(args: argparse.Namespace) -> int:
    """0 when every selected copy is up (or would be, with --dry-run), 1 when one failed or --wait
    timed out."""
    if args.concurrency < 1:
        raise DrsyncerError("--concurrency must be at least 1")
    if args.check:
        from drsyncer.ops.readiness import run_check

        return run_check(args)
    kubeconfig = dr_copies.kubeconfig_path(args)
    selection = Selection.from_args(args)
    cluster = args.cluster or args.to
    console = make_console()
    client = dr_copies.connect_cluster(kubeconfig, args.to, concurrency=args.concurrency)
    controller = controller_for(args, kubeconfig, console) if not args.dry_run else None
    try:
        started_at, started = datetime.now(UTC), time.monotonic()
        before = client.counters.get(client.name, "requests")
        copies = dr_copies.list_copies(client, selection)
        paused: dict[str, bool] = {}
        if controller is not None:
            # paused before the copies change, so no run in flight can put them back in standby
            for replication in sorted({owner_of(c) or "" for c in copies} - {""}):
                paused[replication], message = failover_record.pause(
                    controller, replication, started_at, cluster
                )
                console.print(f"controller: {message}", markup=False)
                if paused[replication]:  # a failover this Replication had not seen yet
                    _warn(
                        failover_record.notify(
                            controller,
                            replication,
                            WebhookEvent.FAILOVER_STARTED,
                            cluster=cluster,
                            now=started_at,
                        )
                    )
        results = dr_copies.apply_plan(
            client, copies, release, dry_run=args.dry_run, concurrency=args.concurrency
        )
        if not args.dry_run and copies:
            # after the writes above: what is written later changed while dr served (failback --copy-back-to)
            dr_copies.mark_namespaces(
                client, {c["metadata"]["namespace"] for c in copies}, concurrency=args.concurrency
            )
        report = Report(
            cluster,
            results,
            time.monotonic() - started,
            client.counters.get(client.name, "requests") - before,
        )
        if controller is not None:
            finished_at = datetime.now(UTC)
            for replication in report.replications():
                problem = failover_record.record_failover(
                    controller,
                    replication,
                    report,
                    cluster=cluster,
                    started=started_at,
                    finished=finished_at,
                    paused_now=paused.get(replication, False),
                )
                if problem:
                    print(f"warning: {problem}", file=sys.stderr)
                    continue
                if paused.get(replication):
                    counts = {"broughtUp": report.failover_counts(replication)["broughtUp"]}
                    _warn(
                        failover_record.notify(
                            controller,
                            replication,
                            WebhookEvent.FAILOVER_ENDED,
                            cluster=cluster,
                            now=finished_at,
                            counts=counts,
                        )
                    )
                console.print(
                    f"controller: status.failover recorded on Replication {replication}", markup=False
                )
        if args.output:
            print_document(dr_copies.document(report, command="failover", dry_run=args.dry_run), args.output)
            return 1 if report.failed else 0
        _print_report(console, report, dry_run=args.dry_run, verbose=args.verbose)
        ok = not report.failed
        if args.wait and not args.dry_run:
            ok = wait_running(client, report, args.timeout, console) and ok
        return 0 if ok else 1
    finally:
        client.close()
        if controller is not None:
            controller.close()


def _warn(problems: list[str]) -> None:
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)


def _print_report(console: Console, report: Report, *, dry_run: bool, verbose: bool) -> None:
    if not report.results:
        console.print(
            f"no standby copies made by drsyncer in {report.cluster} match the selection", markup=False
        )
    else:
        console.print(
            dr_copies.per_namespace_table(
                report, DRY_RUN_COLUMNS if dry_run else COLUMNS, title=f"failover to {report.cluster}"
            )
        )
    if verbose:
        dr_copies.print_changes(console, report, Outcome.CHANGE)
    if report.failed:
        console.print("not brought up:", markup=False)
        dr_copies.print_problems(console, report)
    console.print(summary_line(report, dry_run=dry_run), markup=False)
