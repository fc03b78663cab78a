"""`drsyncer plan NAME`: what the next run of a Replication would do, per destination, writing nothing.

The Replication, its RemoteClusters and their kubeconfig Secrets are read from the controller
cluster; each source namespace is read once and planned against each destination with the same
functions a worker runs (`drsyncer.sync`). Only reads are sent, to every cluster.
"""

from __future__ import annotations

import argparse
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from drsyncer.api.parse import InvalidSpec, parse_remote_cluster, parse_replication
from drsyncer.api.remotecluster import RemoteCluster
from drsyncer.errors import CategorisedError, DrsyncerError
from drsyncer.kube import ClusterClient, ClusterClients
from drsyncer.ops.controller import (
    DEFAULT_NAMESPACE,
    REMOTE_CLUSTERS,
    Target,
    connect,
    exec_policy,
    get_replication,
    make_console,
    print_document,
)
from drsyncer.plugins import chain as plugins
from drsyncer.plugins.registry import installed
from drsyncer.sync.command import print_skips
from drsyncer.sync.copy_diff import copy_diff
from drsyncer.sync.namespace_sync import destination_version, read_destination, read_source
from drsyncer.sync.objects import key_of
from drsyncer.sync.plan import Action, Op, Plan, plan
from drsyncer.sync.result import Outcome
from drsyncer.sync.rules import Rules
from drsyncer.sync.run import prepare_run, source_namespaces

MAX_LISTED = 50
_MARK = {Op.CREATE: "+ create", Op.UPDATE: "~ update", Op.PRUNE: "- prune"}


def run(args: argparse.Namespace) -> int:
    target = Target.from_args(args)
    namespace = target.namespace or DEFAULT_NAMESPACE
    output = getattr(args, "output", None)
    # with -o the document is the whole output; the human one is still built, then dropped
    console = Console(quiet=True) if output else make_console()
    controller = connect(target)
    clients = ClusterClients(controller, exec_policy=exec_policy())
    try:
        obj = get_replication(controller, target.namespace, args.name)
        try:
            model = parse_replication(obj)
        except InvalidSpec as exc:
            raise DrsyncerError(f"Replication {namespace}/{args.name} is invalid: {exc.summary}") from None
        source_rc = _remote_cluster(controller, namespace, model.spec.source_cluster)
        source = _client(clients, controller, namespace, model.spec.source_cluster)
        try:
            known = source_namespaces(model, source)
        except CategorisedError as exc:
            raise DrsyncerError(
                f"listing the namespaces of source cluster {source.name} failed: {exc.message}"
            ) from None
        wanted = [(t.source_namespace, t.cluster, t.destination_namespace) for t in model.targets(known)]
        prepared = prepare_run(
            Rules.from_replication(model, source_rc),
            source,
            wanted,
            lambda cluster: _client(clients, controller, namespace, cluster),
        )
        rules = prepared.rules
        unusable = plugins.problems(rules.plugins, installed())
        if unusable:
            raise DrsyncerError(
                f"Replication {model.ref} cannot be planned here: {'; '.join(unusable)} "
                "(install the plugins it names where drsyncer plan runs)"
            )
        failures = 0
        document: dict[str, Any] = {"replication": model.ref, "targets": []}
        targets: list[dict[str, Any]] = document["targets"]
        if not prepared.work:
            console.print(f"Replication {model.ref}: no source namespace selected; nothing to plan")
            if output:
                print_document(document, output)
            return 0
        console.print(f"Replication {model.ref}: plan (dry run, nothing is written)\n")
        for work in prepared.work:
            source_ns = work.source_namespace
            try:
                snapshot = read_source(source, rules, source_ns)
            except CategorisedError as exc:
                console.print(f"{source_ns}: source cluster {source.name}: {exc}", markup=False)
                failures += len(work.targets)
                targets += [
                    {
                        "sourceNamespace": source_ns,
                        "cluster": c,
                        "namespace": d,
                        "error": f"source cluster {source.name}: {exc}",
                    }
                    for c, d in work.targets
                ]
                continue
            for cluster, dest_ns in work.targets:
                header = f"{source_ns} → {cluster}/{dest_ns}"
                client = work.clients[(cluster, dest_ns)]
                try:
                    if not isinstance(client, ClusterClient):
                        raise client  # the destination cluster could not be reached
                    existing = read_destination(client, snapshot, dest_ns)
                except (CategorisedError, DrsyncerError) as exc:
                    console.print(f"{header}: cannot plan: {exc}\n", markup=False)
                    failures += 1
                    targets.append(
                        {
                            "sourceNamespace": source_ns,
                            "cluster": cluster,
                            "namespace": dest_ns,
                            "error": str(exc),
                        }
                    )
                    continue
                the_plan = plan(
                    [*snapshot.crds, *snapshot.objects],
                    existing,
                    rules,
                    source_namespace=source_ns,
                    destination_namespace=dest_ns,
                    prune=rules.prune_deleted,
                    server_version=destination_version(client),
                    copied_kinds=snapshot.kinds,
                    destination_cluster=cluster,
                    source_namespace_created=((snapshot.namespace_object or {}).get("metadata") or {}).get(
                        "creationTimestamp"
                    ),
                )
                print_plan(console, header, the_plan)
                # an object that would fail (a modifier that does not apply) fails the plan, as it
                # would fail the run
                failures += len(the_plan.by_op(Op.FAIL))
                targets.append(
                    {
                        "sourceNamespace": source_ns,
                        "cluster": cluster,
                        "namespace": dest_ns,
                        **plan_document(the_plan),
                    }
                )
                if getattr(args, "diff", False):
                    sources = [*snapshot.crds, *snapshot.objects]
                    diffs = plan_diffs(
                        the_plan, sources, source_cluster=source.name, destination_cluster=cluster
                    )
                    print_diffs(console, diffs)
                    targets[-1]["diffs"] = [{"object": k, "diff": d} for k, d in diffs]
        if output:
            print_document(document, output)
        return 1 if failures else 0
    finally:
        clients.close()
        controller.close()


def _remote_cluster(controller: ClusterClient, namespace: str, name: str) -> RemoteCluster:
    try:
        obj = controller.get(controller.resolve(REMOTE_CLUSTERS), namespace, name)
    except CategorisedError as exc:
        raise DrsyncerError(f"reading RemoteCluster {namespace}/{name} failed: {exc.message}") from None
    if obj is None:
        raise DrsyncerError(f"RemoteCluster {namespace}/{name} not found")
    try:
        return parse_remote_cluster(obj)
    except InvalidSpec as exc:
        raise DrsyncerError(f"RemoteCluster {namespace}/{name} is invalid: {exc.summary}") from None


def _client(clients: ClusterClients, controller: ClusterClient, namespace: str, name: str) -> ClusterClient:
    rc = _remote_cluster(controller, namespace, name)
    try:
        return clients.get(rc)
    except CategorisedError as exc:
        raise DrsyncerError(exc.message) from None


def _writes(the_plan: Plan) -> list[Action]:
    return [a for a in the_plan if a.op in _MARK and a.outcome is not Outcome.SKIPPED]


def plan_document(the_plan: Plan) -> dict[str, Any]:
    """One destination's plan for `-o json|yaml`: counts per kind, every write, the warnings."""
    return {
        "counts": {kind: c.to_dict() for kind, c in sorted(the_plan.counts().items())},
        "writes": [{"op": a.op.value, "object": str(a.key), "reason": a.reason} for a in _writes(the_plan)],
        "warnings": list(the_plan.warnings),
        # objects that would not be written: a modifier fails on them
        "failures": [{"object": str(a.key), "error": a.reason} for a in the_plan if a.op == Op.FAIL],
    }


def plan_diffs(
    the_plan: Plan, sources: list[dict[str, Any]], *, source_cluster: str, destination_cluster: str
) -> list[tuple[str, str]]:
    """(object, unified diff) from each source object to the copy the plan would leave in the
    destination (created, updated or already there), for those the transforms change; Secret values
    are redacted (drsyncer.sync.copy_diff)."""
    by_key = {key_of(o, the_plan.destination_namespace): o for o in sources}
    out: list[tuple[str, str]] = []
    for action in the_plan:
        source = by_key.get(action.key)
        if action.desired is None or source is None:
            continue
        where = f"{action.key.kind}/{action.key.name}"
        text = copy_diff(
            source,
            action.desired,
            source_label=f"{source_cluster}/{the_plan.source_namespace}/{where}",
            copy_label=f"{destination_cluster}/{the_plan.destination_namespace}/{where}",
        )
        if text:
            out.append((str(action.key), text))
    return out


def print_diffs(console: Console, diffs: list[tuple[str, str]]) -> None:
    for _, text in diffs:
        console.print(text, markup=False, highlight=False, emoji=False, soft_wrap=True, end="")
        console.print()


def print_plan(console: Console, header: str, the_plan: Plan) -> None:
    writes = _writes(the_plan)
    console.print(f"{header}: {len(writes)} write(s)", markup=False)
    counts = the_plan.counts()
    if counts:
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        table.add_column("kind", no_wrap=True, min_width=max(len(k) for k in counts))
        for outcome in Outcome:
            table.add_column(outcome.value, justify="right")
        for kind, c in sorted(counts.items()):
            table.add_row(kind, *(str(getattr(c, o.value)) for o in Outcome))
        console.print(table)
    for action in writes[:MAX_LISTED]:
        reason = f" ({action.reason})" if action.reason else ""
        console.print(f"  {_MARK[action.op]} {action.key}{reason}", markup=False)
    if len(writes) > MAX_LISTED:
        console.print(f"  … and {len(writes) - MAX_LISTED} more")
    for action in the_plan.by_op(Op.FAIL):
        console.print(f"  ! not written {action.key}: {action.reason}", markup=False)
    # why each object would be left alone; held-back copies (stale in the destination) first
    print_skips(console, [a.skip_record() for a in the_plan if a.outcome is Outcome.SKIPPED])
    for warning in the_plan.warnings[:MAX_LISTED]:
        console.print(f"  warning: {warning}", markup=False)
    console.print()
