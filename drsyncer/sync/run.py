"""A run made ready: its rules, the source client and, per source namespace, the destination clients.

`prepare_run` is where every way of running a sync starts: the worker task (workers/jobs.py),
`drsyncer plan` (drsyncer/ops/plan.py) and `drsyncer sync` (drsyncer/sync/command.py). Each builds
its `Rules` (`Rules.from_replication` for a Replication, `Rules.from_spec` for CLI flags) and says
how a destination cluster is reached; the clusters are connected once each here, and a destination
that cannot be reached becomes that target's failure instead of the run's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from drsyncer.api.replication import Replication
from drsyncer.errors import CategorisedError, Category, DrsyncerError
from drsyncer.kube import ClusterClient
from drsyncer.kube.client import NAMESPACES
from drsyncer.sync.execute import Limits
from drsyncer.sync.namespace_sync import Destination, sync_namespace
from drsyncer.sync.result import TargetResult
from drsyncer.sync.rules import Rules
from drsyncer.sync.watermark import Watermarks

# (destination cluster, destination namespace)
TargetKey = tuple[str, str]


@dataclass(frozen=True)
class NamespaceWork:
    """One source namespace of a run and where it goes."""

    source_namespace: str
    targets: tuple[TargetKey, ...]  # every target, in the order results are reported
    # each target's destination client, or why its cluster could not be reached
    clients: Mapping[TargetKey, ClusterClient | DrsyncerError] = field(default_factory=dict)

    @property
    def destinations(self) -> list[Destination]:
        """The targets whose cluster was reached, in target order."""
        return [Destination(c, t[1]) for t in self.targets if isinstance(c := self.clients[t], ClusterClient)]

    @property
    def unreachable(self) -> dict[TargetKey, DrsyncerError]:
        return {t: c for t, c in self.clients.items() if isinstance(c, DrsyncerError)}

    def failed(self, target: TargetKey, error: DrsyncerError) -> TargetResult:
        """The result of a target that was not synced because of `error`."""
        return not_synced(target[0], self.source_namespace, target[1], error)


@dataclass(frozen=True)
class PreparedRun:
    rules: Rules
    source: ClusterClient
    work: tuple[NamespaceWork, ...]

    def sync(
        self,
        *,
        limits: Limits | None = None,
        watermarks: Watermarks | None = None,
        replication_uid: str = "",
        trusted: bool = False,
    ) -> list[TargetResult]:
        """Sync every source namespace into its destinations; one result per target, in target order.
        `watermarks`, `replication_uid`, `trusted`: as `sync_namespace` takes them."""
        results: list[TargetResult] = []
        for work in self.work:
            unreachable = work.unreachable
            synced = iter(
                sync_namespace(
                    self.source,
                    work.destinations,
                    self.rules,
                    source_namespace=work.source_namespace,
                    limits=limits,
                    watermarks=watermarks,
                    replication_uid=replication_uid,
                    trusted=trusted,
                )
            )
            results += [
                work.failed(t, unreachable[t]) if t in unreachable else next(synced) for t in work.targets
            ]
        return results

    def failed(self, error: CategorisedError) -> list[TargetResult]:
        """Every target's result when the run as a whole stopped with `error` (a time limit)."""
        return [
            work.failed(t, c if isinstance(c := work.clients[t], DrsyncerError) else error)
            for work in self.work
            for t in work.targets
        ]


def not_synced(
    cluster: str, source_namespace: str, namespace: str, error: DrsyncerError, *, of_source: bool = False
) -> TargetResult:
    """The Failed result of a destination that was not reached or not run, saying why; a
    `CategorisedError` keeps its category (else NonRetryable). `of_source`: the source cluster is
    what failed (its message names it), not this destination."""
    message = error.message if isinstance(error, CategorisedError) else str(error)
    category = error.category if isinstance(error, CategorisedError) else Category.NON_RETRYABLE
    result = TargetResult(
        cluster,
        source_namespace,
        namespace,
        error=message if of_source else f"destination cluster {cluster}: {message}",
        error_category=category,
    )
    return result.finish(0.0)


def prepare_run(
    rules: Rules,
    source: ClusterClient,
    targets: Iterable[tuple[str, str, str]],
    connect: Callable[[str], ClusterClient],
) -> PreparedRun:
    """`targets` are (source namespace, destination cluster, destination namespace) triples, grouped
    here by source namespace in first-seen order; `connect(cluster)` returns the client of a
    destination cluster or raises `DrsyncerError` (a `CategorisedError` keeps its category in the
    target's result). Each cluster is connected once."""
    clients: dict[str, ClusterClient | DrsyncerError] = {}
    grouped: dict[str, list[TargetKey]] = {}
    for source_namespace, cluster, namespace in targets:
        grouped.setdefault(source_namespace, []).append((cluster, namespace))
        if cluster not in clients:
            try:
                clients[cluster] = connect(cluster)
            except DrsyncerError as exc:
                clients[cluster] = exc
    work = [
        NamespaceWork(source_namespace, tuple(keys), {k: clients[k[0]] for k in keys})
        for source_namespace, keys in grouped.items()
    ]
    return PreparedRun(rules, source, tuple(work))


def source_namespaces(model: Replication, source: ClusterClient) -> dict[str, dict[str, str]] | None:
    """The source cluster's namespaces (name → labels) when the Replication selects namespaces by
    label, for `Replication.targets`; None when it names them. Raises `CategorisedError` when the
    namespaces cannot be listed."""
    if model.namespace_selector is None:
        return None
    # names and labels are metadata: every task of a selecting Replication asks, so ask for little
    return {
        str(ns["metadata"]["name"]): dict(ns["metadata"].get("labels") or {})
        for ns in source.list(NAMESPACES, metadata_only=True)
    }
