"""`drsyncer failback --from CONTEXT`: after the source cluster is back, put the copies a failover
brought up back in standby (exactly the values the failover recorded on them,
`drsyncer.sync.standby.restore`) and, with `--controller`, resume the Replications the failover paused.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime

from rich.console import Console

from drsyncer.errors import DrsyncerError
from drsyncer.ops import copy_back, dr_copies, failover_record
from drsyncer.ops.controller import Target, connect, make_console, print_document
from drsyncer.ops.dr_copies import FAILED, Report, Selection
from drsyncer.sync.standby import Outcome, restore

COLUMNS = (
    ("BACK IN STANDBY", (Outcome.CHANGE,)),
    ("NOT FAILED OVER", (Outcome.DONE,)),
    ("FAILED", (FAILED, Outcome.INVALID)),
)
DRY_RUN_COLUMNS = (("WOULD RETURN TO STANDBY", (Outcome.CHANGE,)), *COLUMNS[1:])


def summary_line(report: Report, *, dry_run: bool) -> str:
    back, failed = report.count(Outcome.CHANGE), report.failed
    timing = f"in {report.elapsed_s:.2f}s ({report.requests} requests to {report.cluster})"
    if dry_run:
        return (
            f"failback from {report.cluster} (dry run): would put {back} workloads back in standby, "
            f"{failed} failed; nothing written {timing}"
        )
    return f"failback from {report.cluster}: {back} workloads back in standby, {failed} failed {timing}"


def run(args: argparse.Namespace) -> int:
    """0 when every copy the failover brought up is back in standby and the Replications resumed."""
    if args.concurrency < 1:
        raise DrsyncerError("--concurrency must be at least 1")
    kubeconfig = dr_copies.kubeconfig_path(args)
    selection = Selection.from_args(args)
    cluster = args.cluster or args.source
    console = make_console()
    client = dr_copies.connect_cluster(kubeconfig, args.source, concurrency=args.concurrency)
    controller = None
    if args.controller and not args.dry_run:
        # unlike a failover, a failback is planned: the controller must answer, or the Replications
        # would stay paused with their copies in standby
        controller = connect(Target(args.controller_kubeconfig or kubeconfig, args.controller, None))
    source = None
    try:
        started = time.monotonic()
        before = client.counters.get(client.name, "requests")
        copies = dr_copies.list_copies(client, selection)
        namespaces = selection.namespaces or {c["metadata"]["namespace"] for c in copies}
        versions = dr_copies.recorded_versions(client, namespaces)
        copied: list[copy_back.CopiedBack] = []
        if args.copy_back_to:
            if not args.dry_run:
                source = dr_copies.connect_cluster(
                    kubeconfig, args.copy_back_to, concurrency=args.concurrency
                )
            # before the copies return to standby, so what is copied back is what ran
            copied = copy_back.run(client, source, versions, dry_run=args.dry_run)
        results = dr_copies.apply_plan(
            client, copies, restore, dry_run=args.dry_run, concurrency=args.concurrency
        )
        report = Report(
            cluster,
            results,
            time.monotonic() - started,
            client.counters.get(client.name, "requests") - before,
        )
        messages = []
        if controller is not None:
            now = datetime.now(UTC)
            for replication in report.replications():
                counts = report.counts_for(replication)
                messages.append(
                    failover_record.record_failback(
                        controller,
                        replication,
                        cluster=cluster,
                        now=now,
                        restored=counts[Outcome.CHANGE],
                        failed=counts[FAILED] + counts[Outcome.INVALID],
                    )
                )
        elif not args.dry_run:
            print(
                "warning: no --controller: the Replications stay paused; resume them with "
                '`kubectl patch replication NAME --type merge -p \'{"spec":{"paused":false}}\'`',
                file=sys.stderr,
            )
        if not args.dry_run and not report.failed and not any(c.outcome == "failed" for c in copied):
            dr_copies.clear_namespace_marks(client, versions)
        if args.output:
            print_document(dr_copies.document(report, command="failback", dry_run=args.dry_run), args.output)
            return 1 if report.failed else 0
        if report.results:
            console.print(
                dr_copies.per_namespace_table(
                    report,
                    DRY_RUN_COLUMNS if args.dry_run else COLUMNS,
                    title=f"failback from {report.cluster}",
                )
            )
        else:
            console.print(f"no copies made by drsyncer in {report.cluster} match the selection", markup=False)
        if args.verbose:
            dr_copies.print_changes(console, report, Outcome.CHANGE)
        if report.failed:
            console.print("not returned to standby:", markup=False)
            dr_copies.print_problems(console, report)
        _print_copied(console, copied, args.copy_back_to, versions, report.cluster)
        for message in messages:
            console.print(f"controller: {message}", markup=False)
        console.print(summary_line(report, dry_run=args.dry_run), markup=False)
        return 1 if report.failed or any(c.outcome == "failed" for c in copied) else 0
    finally:
        client.close()
        if source is not None:
            source.close()
        if controller is not None:
            controller.close()


def _print_copied(
    console: Console,
    copied: list[copy_back.CopiedBack],
    target: str | None,
    versions: Mapping[str, str],
    cluster: str,
) -> None:
    if target is None:
        if versions:
            console.print(
                f"changes made in {cluster} since the failover stay there (--copy-back-to SOURCE "
                "copies them back first)",
                markup=False,
            )
        return
    if not copied:
        console.print(f"nothing changed in {cluster} since the failover: nothing to copy back", markup=False)
    for c in copied:
        console.print(
            f"copy back to {target}: {c.kind} {c.namespace}/{c.name}: {c.outcome}"
            + (f" ({c.detail})" if c.detail else ""),
            markup=False,
        )
