"""`drsyncer failover --check --to CONTEXT`: what a failover now would bring up, and what would be
missing. Writes nothing.

From the DR cluster alone: the standby copies and what bringing each up would do (the plan of
`drsyncer failover --dry-run`), and what their pod templates and claims need that the cluster lacks
(`drsyncer.sync.readiness`). With `--controller`: per Replication, the recovery point of this
destination and what its last run failed to copy or held back, or that it no longer keeps its copies
here in step (deleted, or this cluster dropped from its destinations), which the check counts as
something to act on.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rich.console import Console

from drsyncer.api.replication import destinations_as_written
from drsyncer.errors import CategorisedError, DrsyncerError
from drsyncer.kube import ClusterClient
from drsyncer.ops import dr_copies
from drsyncer.ops.controller import (
    REMOTE_CLUSTERS,
    Target,
    connect,
    make_console,
    print_document,
    replications_ref,
)
from drsyncer.ops.dr_copies import Report, Selection
from drsyncer.ops.failover import DRY_RUN_COLUMNS
from drsyncer.ops.failover_record import split
from drsyncer.ops.status import ago
from drsyncer.sync import readiness
from drsyncer.sync.command import CLI_REPLICATION_NAMESPACE
from drsyncer.sync.ownership import owner_of
from drsyncer.sync.standby import Outcome, release

EXIT_READY = 0
EXIT_GAPS = 3  # as `drsyncer status`: the command worked and found something to act on
NEEDED = ("configmaps", "secrets", "persistentvolumeclaims", "serviceaccounts")


def present_objects(client: ClusterClient, namespaces: Iterable[str]) -> set[tuple[str, str, str]]:
    """(kind, namespace, name) of what pod templates may need, in the given namespaces."""
    found: set[tuple[str, str, str]] = set()
    for resource in NEEDED:
        ref = client.resolve(resource)
        for namespace in sorted(set(namespaces)):
            found |= {(ref.kind, namespace, o["metadata"]["name"]) for o in client.list(ref, namespace)}
    return found


def storage_class_names(client: ClusterClient) -> set[str] | None:
    try:
        return {o["metadata"]["name"] for o in client.list(client.resolve("storageclasses.storage.k8s.io"))}
    except CategorisedError:
        return None  # not served (or not readable): classes are not checked, and the output says so


def claims(client: ClusterClient, selection: Selection) -> list[dict[str, Any]]:
    ref = client.resolve("persistentvolumeclaims")
    namespaces: list[str | None] = [*sorted(selection.namespaces)] or [None]
    return [
        c
        for ns in namespaces
        for c in client.list(ref, ns, label_selector=selection.server_selector())
        if selection.wants(c)
    ]


@dataclass
class ControllerReport:
    """What the controller cluster says of the Replications whose copies are checked: a line per
    Replication (and per error of its last run there), and how many no longer keep their copies in
    this cluster in step (deleted, or this cluster, a RemoteCluster of theirs, no longer among their
    destinations)."""

    lines: list[str] = field(default_factory=list)
    unkept: int = 0


def controller_lines(
    controller: ClusterClient, replications: Iterable[str], cluster: str, now: datetime
) -> ControllerReport:
    """Per Replication: the recovery point of `cluster` and what its last run left out there, or
    that nothing keeps its copies there in step any more."""
    report = ControllerReport()
    lines = report.lines
    for replication in sorted(replications):
        namespace, name = split(replication)
        try:
            obj = controller.get(replications_ref(controller), namespace, name)
        except CategorisedError as exc:
            lines.append(f"Replication {replication}: reading it failed: {exc.message}")
            continue
        if obj is None and namespace == CLI_REPLICATION_NAMESPACE:
            # the mark `drsyncer sync` writes: copies of a one-shot run, which no Replication was
            # meant to keep in step, so they make no cluster less ready than its operator chose
            lines.append(
                f"copies made by `drsyncer sync` from context {name} -> {cluster}: one-shot copies, kept "
                f"in step by no Replication; they hold what the last such run copied"
            )
            continue
        if obj is None:
            report.unkept += 1
            lines.append(
                f"Replication {replication} -> {cluster}: the Replication is gone (deleted from the "
                f"controller cluster): nothing keeps its copies in {cluster} in step; they hold what "
                "its last run before the deletion copied"
            )
            continue
        destinations = destinations_as_written(obj.get("spec"))
        if destinations and cluster not in destinations:
            if _remote_cluster_named(controller, namespace, cluster):
                report.unkept += 1
                lines.append(
                    f"Replication {replication} -> {cluster}: {cluster} is not among its destinations "
                    f"any more ({', '.join(destinations)}): nothing keeps its copies in {cluster} in step"
                )
            else:  # a context name that is not the RemoteCluster's: nothing is known of the copies
                lines.append(
                    f"Replication {replication} -> {cluster}: no RemoteCluster {namespace}/{cluster}; "
                    f"its destinations are {', '.join(destinations)}: pass --cluster with the "
                    "RemoteCluster name of this cluster"
                )
            continue
        status: Mapping[str, Any] = obj.get("status") or {}
        point = next((p for p in status.get("recoveryPoints") or () if p.get("cluster") == cluster), None)
        if point is None:
            lines.append(
                f"Replication {replication} -> {cluster}: no recovery point recorded (no run has "
                f"reported for {cluster} yet, or --cluster is not its RemoteCluster name)"
            )
            continue
        when = point.get("lastSuccessfulSyncTime")
        lines.append(
            f"Replication {replication} -> {cluster}: recovery point "
            f"{ago(when, now) if when else 'none (never completed)'}; "
            f"{point.get('notCompleted', 0)} of {point.get('namespaces', 0)} namespaces not completed, "
            f"{point.get('heldBack', 0)} held back, {point.get('failed', 0)} failed"
        )
        listed = [t for t in status.get("targets") or () if t.get("cluster") == cluster]
        for target in listed:
            error = (target.get("lastError") or {}).get("message")
            if error:
                lines.append(f"  {target.get('destinationNamespace')}: {error}")
        # the status lists a bounded number of targets, those that did not complete first
        unlisted = int(point.get("notCompleted") or 0) - sum(
            1 for t in listed if t.get("phase") != "Completed"
        )
        if unlisted > 0:
            lines.append(f"  and {unlisted} more namespaces not completed, not listed in the status")
        if (status.get("failover") or {}).get("active"):
            lines.append(f"  failover to {status['failover'].get('cluster')} already active")
    return report


def _remote_cluster_named(controller: ClusterClient, namespace: str, name: str) -> bool:
    """Whether the controller cluster holds RemoteCluster `namespace/name`; False when it cannot say."""
    try:
        return controller.get(controller.resolve(REMOTE_CLUSTERS), namespace, name) is not None
    except CategorisedError:
        return False


def run_check(args: argparse.Namespace) -> int:
    """0 when a failover now would bring every copy up with nothing missing; 3 when something is."""
    kubeconfig = dr_copies.kubeconfig_path(args)
    selection = Selection.from_args(args)
    cluster = args.cluster or args.to
    console = make_console()
    client = dr_copies.connect_cluster(kubeconfig, args.to, concurrency=args.concurrency)
    controller = None
    try:
        started = time.monotonic()
        copies = dr_copies.list_copies(client, selection)
        results = dr_copies.apply_plan(client, copies, release, dry_run=True, concurrency=args.concurrency)
        report = Report(cluster, results, time.monotonic() - started)
        namespaces = {c["metadata"]["namespace"] for c in copies}
        classes = storage_class_names(client)
        gaps = readiness.gaps(
            [*copies, *claims(client, selection)],
            present_objects(client, namespaces),
            classes,
            cluster=cluster,
        )
        notes = (
            [] if classes is not None else [f"storage classes of {cluster} could not be read: not checked"]
        )
        if args.controller:
            try:
                controller = connect(Target(args.controller_kubeconfig or kubeconfig, args.controller, None))
            except DrsyncerError as exc:
                print(f"warning: {exc}; recovery points not shown", file=sys.stderr)
        said = (
            controller_lines(
                controller, {owner_of(c) or "" for c in copies} - {""}, cluster, datetime.now(UTC)
            )
            if controller is not None
            else ControllerReport()
        )
        if args.output:
            doc = dr_copies.document(report, command="failover --check", dry_run=True)
            doc["missing"] = [
                {"namespace": g.namespace, "kind": g.kind, "name": g.name, "message": g.message} for g in gaps
            ]
            doc["controller"] = said.lines
            doc["unkept"] = said.unkept
            print_document(doc, args.output)
        else:
            _print(console, report, gaps, notes, said)
        return EXIT_GAPS if gaps or report.failed or said.unkept else EXIT_READY
    finally:
        client.close()
        if controller is not None:
            controller.close()


def _print(
    console: Console, report: Report, gaps: list[readiness.Gap], notes: list[str], said: ControllerReport
) -> None:
    if report.results:
        missing = Counter(g.namespace for g in gaps)
        console.print(
            dr_copies.per_namespace_table(
                report,
                DRY_RUN_COLUMNS,
                extra=("MISSING", missing),
                title=f"failover check for {report.cluster}",
            )
        )
    else:
        console.print(
            f"no standby copies made by drsyncer in {report.cluster} match the selection", markup=False
        )
    if gaps:
        console.print("missing in " + report.cluster + ":", markup=False)
        for gap in gaps:
            console.print(f"  {gap.kind} {gap.namespace}/{gap.name}: {gap.message}", markup=False)
    if report.failed:
        console.print("could not be brought up:", markup=False)
        dr_copies.print_problems(console, report)
    for note in notes:
        console.print(f"note: {note}", markup=False)
    for line in said.lines:
        console.print(f"controller: {line}", markup=False)
    up = report.count(Outcome.CHANGE)
    verdict = "ready" if not gaps and not report.failed and not said.unkept else "NOT ready"
    unkept = f", {said.unkept} Replication(s) no longer keeping their copies in step" if said.unkept else ""
    console.print(
        f"{verdict}: a failover to {report.cluster} now would bring up {up} workloads "
        f"({report.count(Outcome.DONE)} already up); {len(gaps)} missing, {report.failed} "
        f"unreadable{unkept}",
        markup=False,
    )
