"""The standby copies in one DR cluster, as `drsyncer failover` and `drsyncer failback` find and write
them: listed by the ownership marks drsyncer put on them, each written with the step
`drsyncer.sync.standby` planned for it. Everything needed is on the copies, so only the DR cluster
has to answer.
"""

from __future__ import annotations

import argparse
import os
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from drsyncer.api import keys
from drsyncer.errors import CategorisedError, DrsyncerError
from drsyncer.kube import ApiError, ClusterClient, RetryPolicy, client_from_kubeconfig_file
from drsyncer.sync.objects import Obj, annotations_of
from drsyncer.sync.ownership import owner_of
from drsyncer.sync.standby import Outcome, Step

KUBECONFIG_ENV = "DRSYNCER_KUBECONFIG"
# resource names of the kinds the standby transform changes, as discovery resolves them
STANDBY_RESOURCES: tuple[str, ...] = (
    "deployments.apps",
    "statefulsets.apps",
    "replicasets.apps",
    "replicationcontrollers",
    "daemonsets.apps",
    "cronjobs.batch",
    "jobs.batch",
)
FAILED = "failed"  # a result's outcome when the write was refused (an Outcome otherwise)
CONFLICT_ATTEMPTS = 4  # someone else wrote the copy between our read and write: read and plan again
# at a terminal an unreachable cluster should be said quickly
QUICK_RETRY = RetryPolicy(max_attempts=2, base_delay_s=0.2, max_delay_s=0.5)

Plan = Callable[[Mapping[str, Any]], Step]


@dataclass(frozen=True)
class Selection:
    """Which copies a command acts on: all of drsyncer's, narrowed by Replication ("NS/NAME" or NAME),
    destination namespace and a label selector (all empty: no narrowing)."""

    replications: frozenset[str] = frozenset()
    namespaces: frozenset[str] = frozenset()
    label_selector: str | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Selection:
        return cls(frozenset(args.replication or ()), frozenset(args.namespace or ()), args.selector or None)

    def server_selector(self) -> str:
        """The labelSelector sent with each list: drsyncer's copies, and the user's selector if any."""
        managed = f"{keys.LABEL_MANAGED_BY}={keys.MANAGED_BY_VALUE}"
        return f"{managed},{self.label_selector}" if self.label_selector else managed

    def wants(self, copy: Mapping[str, Any]) -> bool:
        owner = owner_of(copy)
        if owner is None:
            return False
        if self.namespaces and (copy.get("metadata") or {}).get("namespace") not in self.namespaces:
            return False
        return (
            not self.replications
            or owner in self.replications
            or owner.partition("/")[2] in self.replications
        )


@dataclass(frozen=True)
class CopyResult:
    """What happened to one copy: its planned outcome (or FAILED) and the detail to show."""

    namespace: str
    kind: str
    name: str
    replication: str
    outcome: str
    detail: str
    failed_over: bool = False  # carries a failover's standby record (now, or after this write)


@dataclass
class Report:
    """The results of one command over a cluster, with its duration and the requests it sent."""

    cluster: str
    results: list[CopyResult] = field(default_factory=list)
    elapsed_s: float = 0.0
    requests: int = 0

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.results if r.outcome == outcome)

    @property
    def failed(self) -> int:
        return self.count(FAILED) + self.count(Outcome.INVALID)

    def replications(self) -> list[str]:
        """The Replications whose copies were looked at, sorted."""
        return sorted({r.replication for r in self.results})

    def counts_for(self, replication: str) -> Counter[str]:
        return Counter(r.outcome for r in self.results if r.replication == replication)

    def failover_counts(self, replication: str) -> dict[str, int]:
        """For status.failover: the Replication's copies looked at, those up because of a failover
        (this run or an earlier one), those up without one, and those that failed."""
        mine = [r for r in self.results if r.replication == replication]
        failed = sum(1 for r in mine if r.outcome in (FAILED, Outcome.INVALID))
        brought_up = sum(1 for r in mine if r.failed_over and r.outcome not in (FAILED, Outcome.INVALID))
        return {
            "workloads": len(mine),
            "broughtUp": brought_up,
            "alreadyUp": len(mine) - brought_up - failed,
            "failed": failed,
        }


def kubeconfig_path(args: argparse.Namespace) -> str:
    path = args.kubeconfig or os.environ.get(KUBECONFIG_ENV) or os.environ.get("KUBECONFIG", "")
    if not path:
        raise DrsyncerError(f"no kubeconfig: pass --kubeconfig or set {KUBECONFIG_ENV} or KUBECONFIG")
    return str(path.split(os.pathsep)[0])


def connect_cluster(kubeconfig: str, context: str, *, concurrency: int = 16) -> ClusterClient:
    """A client of the DR cluster that has answered /version; DrsyncerError naming the context if not."""
    client = client_from_kubeconfig_file(
        kubeconfig,
        context=context or None,
        name=context or "cluster",
        retry=QUICK_RETRY,
        max_connections=max(concurrency, 4),
    )
    try:
        client.server_version()
    except CategorisedError as exc:
        client.close()
        raise DrsyncerError(f"context {context}: cluster unreachable: {exc.message}") from None
    return client


def list_copies(client: ClusterClient, selection: Selection) -> list[Obj]:
    """drsyncer's copies of the standby kinds the selection wants, in namespace, kind, name order.
    A kind the cluster does not serve is left out."""
    copies: list[Obj] = []
    namespaces: Sequence[str | None] = sorted(selection.namespaces) or [None]
    for resource in STANDBY_RESOURCES:
        try:
            ref = client.resolve(resource)
        except CategorisedError:
            continue
        for namespace in namespaces:
            try:
                listed = client.list(ref, namespace, label_selector=selection.server_selector())
                copies.extend(c for c in listed if selection.wants(c))
            except CategorisedError as exc:
                raise DrsyncerError(f"listing {resource} in {client.name} failed: {exc.message}") from None
    copies.sort(key=lambda c: (c["metadata"].get("namespace", ""), c.get("kind", ""), c["metadata"]["name"]))
    return copies


def apply_plan(
    client: ClusterClient, copies: Iterable[Obj], plan: Plan, *, dry_run: bool, concurrency: int
) -> list[CopyResult]:
    """Plan each copy and send its patch (none with `dry_run`), `concurrency` at a time. Each patch is
    conditional on the resourceVersion read; on a conflict the copy is read and planned again."""

    def one(copy: Obj) -> CopyResult:
        current: Obj | None = copy
        for _ in range(CONFLICT_ATTEMPTS):
            if current is None:
                return _result(copy, FAILED, "gone from the cluster")
            step = plan(current)
            if step.patch is None or dry_run:
                return _result(current, step.outcome, step.detail)
            meta = current["metadata"]
            body = {
                **step.patch,
                "metadata": {
                    **(step.patch.get("metadata") or {}),
                    "resourceVersion": meta.get("resourceVersion"),
                },
            }
            ref = client.ref_for(current)
            try:
                client.patch(ref, meta.get("namespace"), meta["name"], body)
                return _result(current, step.outcome, step.detail)
            except ApiError as exc:
                if not exc.conflict:
                    return _result(current, FAILED, exc.message)
            current = client.get(ref, meta.get("namespace"), meta["name"])
        return _result(copy, FAILED, "changed by someone else on every attempt")

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        return list(pool.map(one, copies))


def _result(copy: Mapping[str, Any], outcome: str, detail: str) -> CopyResult:
    meta = copy.get("metadata") or {}
    return CopyResult(
        str(meta.get("namespace") or ""),
        str(copy.get("kind") or ""),
        str(meta.get("name")),
        owner_of(copy) or "",
        str(outcome),
        detail,
        keys.ANNOTATION_FAILOVER_STANDBY in annotations_of(copy) or outcome == Outcome.CHANGE,
    )


def document(report: Report, *, command: str, dry_run: bool) -> dict[str, Any]:
    """The `-o json|yaml` form of a report."""
    return {
        "command": command,
        "cluster": report.cluster,
        "dryRun": dry_run,
        "elapsedSeconds": round(report.elapsed_s, 3),
        "requests": report.requests,
        "copies": [
            {
                "namespace": r.namespace,
                "kind": r.kind,
                "name": r.name,
                "replication": r.replication,
                "outcome": r.outcome,
                "detail": r.detail,
            }
            for r in report.results
        ],
    }


def per_namespace_table(
    report: Report,
    columns: Sequence[tuple[str, tuple[str, ...]]],
    *,
    title: str,
    extra: tuple[str, Mapping[str, int]] | None = None,
) -> Table:
    """One row per namespace: the number of copies, then one column per (heading, outcomes counted),
    then an `extra` column of (heading, count by namespace) if given."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("NAMESPACE")
    table.add_column("WORKLOADS", justify="right")
    for heading, _ in columns:
        table.add_column(heading, justify="right")
    if extra is not None:
        table.add_column(extra[0], justify="right")
    by_ns: dict[str, Counter[str]] = {}
    for r in report.results:
        by_ns.setdefault(r.namespace, Counter())[r.outcome] += 1
    for namespace, counts in sorted(by_ns.items()):
        cells = [str(sum(counts[o] for o in outcomes)) for _, outcomes in columns]
        if extra is not None:
            cells.append(str(extra[1].get(namespace, 0)))
        table.add_row(namespace, str(sum(counts.values())), *cells)
    return table


def print_problems(console: Console, report: Report) -> None:
    """Every copy that failed or whose record could not be read, with the reason."""
    for r in report.results:
        if r.outcome in (FAILED, Outcome.INVALID):
            console.print(f"  {r.kind} {r.namespace}/{r.name}: {r.detail}", markup=False)


def print_changes(console: Console, report: Report, outcome: str) -> None:
    """Every copy with `outcome`, one line each (for -v)."""
    for r in report.results:
        if r.outcome == outcome:
            console.print(f"  {r.kind} {r.namespace}/{r.name}: {r.detail}", markup=False)


def mark_namespaces(client: ClusterClient, namespaces: Iterable[str], *, concurrency: int) -> str:
    """Record on each Namespace the cluster's resourceVersion now (a list's), unless a failover already
    did: later writes are the changes failback may copy back. One list, then one patch per namespace
    not yet marked. Returns the resourceVersion."""
    ref = client.resolve("namespaces")
    listed = client.list(ref)
    marked = {
        str(o["metadata"]["name"])
        for o in listed
        if keys.ANNOTATION_FAILOVER_RESOURCE_VERSION in annotations_of(o)
    }
    now = listed.resource_version
    patch = {"metadata": {"annotations": {keys.ANNOTATION_FAILOVER_RESOURCE_VERSION: now}}}
    todo = sorted(set(namespaces) - marked)
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        list(pool.map(lambda namespace: client.patch(ref, None, namespace, patch), todo))
    return now


def recorded_versions(client: ClusterClient, namespaces: Iterable[str]) -> dict[str, str]:
    """Namespace → the resourceVersion its failover recorded, for those that carry one."""
    ref = client.resolve("namespaces")
    found = {}
    for namespace in sorted(set(namespaces)):
        obj = client.get(ref, None, namespace)
        value = annotations_of(obj).get(keys.ANNOTATION_FAILOVER_RESOURCE_VERSION) if obj else None
        if value is not None:
            found[namespace] = value
    return found


def clear_namespace_marks(client: ClusterClient, namespaces: Iterable[str]) -> None:
    ref = client.resolve("namespaces")
    for namespace in sorted(set(namespaces)):
        client.patch(
            ref,
            None,
            namespace,
            {"metadata": {"annotations": {keys.ANNOTATION_FAILOVER_RESOURCE_VERSION: None}}},
        )
