"""`drsyncer sync`: copy namespaces between kubeconfig contexts once, now, and print what happened.

No Redis, no Celery, no Replication object: the options are turned into the same `Rules` a
Replication spec gives (`Rules.from_spec`), and the run is prepared and synced by `prepare_run` like
a scheduled sync.
Copies are marked as written by the Replication `drsyncer-sync/<source context>`, so a later run
with `--prune` deletes only what an earlier `drsyncer sync` from the same source wrote, and objects
managed by a real Replication are left alone (reported as conflicts).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Sequence

import yaml
from rich import box
from rich.console import Console
from rich.table import Table

from drsyncer.api.modifiers import unknown_clusters
from drsyncer.api.names import check_dns_label, unique_in_order
from drsyncer.errors import CategorisedError, DrsyncerError
from drsyncer.kube import ClusterClient, client_from_kubeconfig_file
from drsyncer.kube.client import NAMESPACES
from drsyncer.kube.retry import INTERACTIVE
from drsyncer.sync.execute import Limits, not_written_log
from drsyncer.sync.result import Outcome, Phase, Skip, TargetResult, total_counts
from drsyncer.sync.rules import Rules
from drsyncer.sync.run import prepare_run

# the namespace part of the Replication name written into the ownership marks of CLI copies
CLI_REPLICATION_NAMESPACE = "drsyncer-sync"
# a cluster that does not answer /version after this is reported unreachable before anything runs
_MAX_WARNINGS = 20
_PIPE_WIDTH = 200  # columns when the output is not a terminal
_NAMES_PER_REASON = 3  # objects named per skip reason when they are grouped
KUBECONFIG_ENV = "DRSYNCER_KUBECONFIG"


def run(args: argparse.Namespace) -> int:
    """Run the sync; 0 when every destination of every namespace Completed, 1 otherwise."""
    # piped output (a log, a test) is not cut at 80 columns: long kind names stay whole
    console = Console(soft_wrap=True, highlight=False, width=None if sys.stdout.isatty() else _PIPE_WIDTH)
    pairs = namespace_pairs(args.namespace)
    source_context = args.source_context.strip()
    dest_contexts = destination_contexts(args.dest_context)
    if not dest_contexts:
        raise DrsyncerError("--dest-context names no context")
    if source_context in dest_contexts:
        raise DrsyncerError(f"context {source_context} is both the source and a destination")
    if args.concurrency < 1:
        raise DrsyncerError("--concurrency must be at least 1")
    rules = rules_from_args(args, source_context)
    _check_modifier_clusters(args, rules, dest_contexts)
    kubeconfig = args.kubeconfig or os.environ.get(KUBECONFIG_ENV, "")
    if not kubeconfig:
        raise DrsyncerError(f"no kubeconfig: pass --kubeconfig or set {KUBECONFIG_ENV}")

    clients: dict[str, ClusterClient] = {}
    try:
        for context in (source_context, *dest_contexts):
            clients[context] = client_from_kubeconfig_file(
                kubeconfig, context=context, name=context, max_connections=max(args.concurrency, 4)
            )
        for context, client in clients.items():
            _check_reachable(client, context)
        _check_source(clients[source_context], rules, [source for source, _ in pairs])
        prepared = prepare_run(
            rules,
            clients[source_context],
            [(src, c, dst) for src, dst in pairs for c in dest_contexts],
            clients.__getitem__,
        )
        with _quiet(not_written_log):
            results = prepared.sync(limits=Limits(concurrency=args.concurrency))
    finally:
        for client in clients.values():
            client.close()
    for result in results:
        print_result(console, result, verbose=bool(getattr(args, "verbose", False)))
    return 0 if all(r.phase == Phase.COMPLETED for r in results) else 1


@contextlib.contextmanager
def _quiet(logger: logging.Logger) -> Iterator[None]:
    """`logger` passes errors only while the block runs: every object it would name as not written
    is listed in the printed result (`errors:`), and a second line on stderr would only repeat it."""
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def destination_contexts(values: Sequence[str]) -> list[str]:
    """The contexts of every `--dest-context` (each comma-separated), in order, each once."""
    return unique_in_order(c.strip() for value in values for c in value.split(",") if c.strip())


def namespace_pairs(values: Sequence[str]) -> list[tuple[str, str]]:
    """`NS` or `NS:DEST` → (source, destination) pairs; DrsyncerError on a malformed one, so a name
    the destination would refuse is reported before anything is written rather than as a failed row."""
    pairs: list[tuple[str, str]] = []
    for value in values:
        source, sep, dest = value.partition(":")
        source, dest = source.strip(), (dest.strip() if sep else source.strip())
        if not source or not dest:
            raise DrsyncerError(f"--namespace {value!r}: expected NS or NS:DEST")
        if ":" in dest:
            raise DrsyncerError(f"--namespace {value!r}: expected NS or NS:DEST, with one ':' at most")
        for role, name in (("source", source), ("destination", dest)):
            try:
                check_dns_label(name)
            except ValueError as exc:
                raise DrsyncerError(f"--namespace {value!r}: {role} namespace {exc}") from None
        pairs.append((source, dest))
    return pairs


def rules_from_args(args: argparse.Namespace, source_context: str) -> Rules:
    spec: dict[str, object] = {
        "scaleToZero": not args.no_scale_to_zero,
        "pruneDeleted": bool(args.prune),
        "dryRun": bool(args.dry_run),
        # references to one copied namespace from another follow its new name too
        "namespaceMappings": [
            {"source": source, "destination": dest} for source, dest in namespace_pairs(args.namespace or ())
        ],
    }
    if getattr(args, "modifiers", None):
        spec["modifiers"] = _read_modifiers(args.modifiers)
    if args.types:
        types = [t.strip() for t in args.types.split(",") if t.strip()]
        if not types:
            raise DrsyncerError("--types names no resource type")
        spec["resourceTypes"] = types
    return Rules.from_spec(
        spec, replication=f"{CLI_REPLICATION_NAMESPACE}/{source_context}", source_cluster=source_context
    )


def _read_modifiers(path: str) -> object:
    """The rules of a `--modifiers` file (validated by `Rules.from_spec`, which names the field at fault)."""
    try:
        with open(path, encoding="utf-8") as handle:
            rules = yaml.safe_load(handle)
    except OSError as exc:
        raise DrsyncerError(f"--modifiers {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise DrsyncerError(f"--modifiers {path}: not valid YAML: {exc}") from None
    if not isinstance(rules, list):
        raise DrsyncerError(f"--modifiers {path}: must hold a list of rules (spec.modifiers)")
    return rules


def _check_modifier_clusters(args: argparse.Namespace, rules: Rules, dest_contexts: list[str]) -> None:
    """A rule's `clusters` names destination contexts here; one naming none of them would do nothing,
    a typo the Replication path refuses too (drsyncer.api.modifiers.unknown_clusters)."""
    problems = unknown_clusters(
        [rule.spec.clusters for rule in rules.modifiers], dest_contexts, "destination context"
    )
    if problems:
        found = "; ".join(f"spec.{path}: {message}" for path, message in problems)
        raise DrsyncerError(
            f"--modifiers {args.modifiers}: {found} (--dest-context {','.join(dest_contexts)})"
        )


def _check_reachable(client: ClusterClient, context: str) -> None:
    policy = client.retry
    client.retry = INTERACTIVE
    try:
        client.server_version()
    except CategorisedError as exc:
        raise DrsyncerError(f"context {context}: cluster unreachable: {exc.message}") from None
    finally:
        client.retry = policy


def _check_source(source: ClusterClient, rules: Rules, namespaces: list[str]) -> None:
    """Types and namespaces that the source does not have are a typo until proven otherwise: say so
    in one line before anything is written."""
    try:
        source.discovery.resolve_many(rules.resource_types)
        missing = [ns for ns in namespaces if source.get(NAMESPACES, None, ns) is None]
    except CategorisedError as exc:
        raise DrsyncerError(f"context {source.name}: {exc.message}") from None
    if missing:
        raise DrsyncerError(f"context {source.name}: no namespace {', '.join(missing)}")


def print_result(console: Console, result: TargetResult, *, verbose: bool = False) -> None:
    """One destination's outcome: a per-kind table, then copies held back, why objects were skipped
    (grouped by reason, or one line each with `verbose`), errors, replica changes and warnings."""
    dry = " (dry run: counts show what would be written; nothing was)" if result.dry_run else ""
    console.print(
        f"{result.source_namespace} → {result.destination_cluster}/{result.destination_namespace}: "
        f"{result.phase.value} in {result.duration_s:.2f}s{dry}",
        markup=False,
    )
    if result.counts:
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        table.add_column("kind", no_wrap=True, min_width=max(len(k) for k in result.counts))
        for outcome in Outcome:
            table.add_column(outcome.value, justify="right")
        for kind, counts in sorted(result.counts.items()):
            table.add_row(kind, *(str(getattr(counts, o.value)) for o in Outcome))
        total = total_counts(result.counts.values())
        table.add_row("total", *(str(getattr(total, o.value)) for o in Outcome), style="bold")
        console.print(table)
    print_skips(console, result.skips, verbose=verbose)
    if result.error:
        category = result.error_category.value if result.error_category else "Error"
        console.print(f"  {category}: {result.error}", markup=False)
    if result.errors:
        console.print("  errors:")
        for error in result.errors:
            console.print(f"    {error}", markup=False)
    for scale in result.deployment_scales:
        if scale.replicas != scale.original_replicas:
            console.print(
                f"  {scale.kind} {scale.namespace}/{scale.name}: {scale.original_replicas} → "
                f"{scale.replicas} replicas",
                markup=False,
            )
    # a held-back copy is listed once, above, though the executor also records it as a warning
    # (`...; not written` when applied, the planner's note in a dry run)
    held = tuple(f"{s.kind} {s.ref}: " for s in result.skips if s.held_back)
    warnings = [w for w in result.warnings if not w.startswith(held)]
    if warnings:
        console.print("  warnings:")
        for warning in warnings[:_MAX_WARNINGS]:
            console.print(f"    {warning}", markup=False)
        if len(warnings) > _MAX_WARNINGS:
            console.print(f"    … and {len(warnings) - _MAX_WARNINGS} more")
    console.print()


def print_skips(console: Console, skips: list[Skip], *, verbose: bool = False, indent: str = "  ") -> None:
    """Held-back copies one per line (each is a stale copy someone has to resolve), then the other
    skips: one per line with `verbose`, else one line per reason naming the first objects."""
    held = [s for s in skips if s.held_back]
    if held:
        console.print(f"{indent}held back (the DR copy keeps its old state until resolved):")
        for skip in held:
            console.print(f"{indent}  {skip}", markup=False)
    others = [s for s in skips if not s.held_back]
    if not others:
        return
    console.print(f"{indent}skipped:")
    if verbose:
        for skip in others:
            console.print(f"{indent}  {skip}", markup=False)
        return
    by_reason: dict[str, list[Skip]] = {}
    for skip in others:
        by_reason.setdefault(skip.reason, []).append(skip)
    for reason, group in by_reason.items():
        names = ", ".join(
            f"{s.kind} {s.namespace}/{s.name}" if s.namespace else f"{s.kind} {s.name}"
            for s in group[:_NAMES_PER_REASON]
        )
        more = f" and {len(group) - _NAMES_PER_REASON} more" if len(group) > _NAMES_PER_REASON else ""
        console.print(f"{indent}  {reason} ({len(group)}): {names}{more}", markup=False)
