"""The demo's summary: per destination cluster, what the Replication's status says the first run did,
checked against what is really in that cluster."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from drsyncer.api import keys
from drsyncer.api.durations import parse_duration
from drsyncer.errors import CategorisedError
from drsyncer.kube import ClusterClient
from drsyncer.sync.objects import is_builtin_group

COUNTED = ("created", "updated", "unchanged", "failed")


@dataclass
class DestinationSummary:
    """One destination cluster, from status (counts) and from the cluster itself (found)."""

    cluster: str
    phases: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTED, 0))
    duration: str = ""
    scaled: list[str] = field(default_factory=list)  # "shop-frontend/web 3→0"
    expected: dict[str, int] = field(default_factory=dict)  # "namespace/Kind/name" → source replicas
    problems: list[str] = field(default_factory=list)
    found: int = 0

    @property
    def ok(self) -> bool:
        return (
            not self.problems
            and self.counts["failed"] == 0
            and bool(self.phases)
            and all(p == "Completed" for p in self.phases)
        )


def summarize(status: Mapping[str, Any], destinations: Sequence[str]) -> dict[str, DestinationSummary]:
    """Per destination cluster: the status's targets added up, and its recorded scale-downs."""
    out = {name: DestinationSummary(name) for name in destinations}
    for target in status.get("targets") or []:
        summary = out.get(str(target.get("cluster")))
        if summary is None:
            continue
        summary.phases.append(str(target.get("phase")))
        stats = target.get("syncStats") or {}
        for key in COUNTED:
            summary.counts[key] += int(stats.get(key) or 0)
        # destinations run side by side, namespaces one per task: the slowest target is the duration
        duration = str(target.get("lastSyncDuration") or "")
        if duration and _seconds(duration) >= _seconds(summary.duration or "0s"):
            summary.duration = duration
        error = (target.get("lastError") or {}).get("message")
        if error:
            summary.problems.append(f"{target.get('destinationNamespace')}: {error}")
    for scale in status.get("deploymentScales") or []:
        summary = out.get(str(scale.get("cluster")))
        if summary is not None:
            key = f"{scale.get('namespace')}/{scale.get('kind', 'Deployment')}/{scale['name']}"
            summary.expected[key] = int(scale.get("originalReplicas") or 0)
    for name, summary in out.items():
        if not summary.phases:
            summary.problems.append(f"the status has no result for {name}")
    return out


def _seconds(duration: str) -> float:
    try:
        return parse_duration(duration).total_seconds()
    except ValueError:
        return 0.0


def verify(
    summary: DestinationSummary,
    client: ClusterClient,
    source: ClusterClient,
    types: Sequence[str],
    namespaces: Sequence[str],
) -> None:
    """Check the destination against the source: every source object of the synced types has a copy
    carrying drsyncer's ownership label, copies of Deployments run zero replicas with the source's
    count recorded, and the copies found match the status's count of objects in step."""
    selector = f"{keys.LABEL_MANAGED_BY}={keys.MANAGED_BY_VALUE}"
    in_step = summary.counts["created"] + summary.counts["updated"] + summary.counts["unchanged"]
    copied_crds = 0
    client.discovery.invalidate()  # the sample CRD was copied after this client last looked
    try:
        for name in types:
            ref = source.resolve(name)
            wanted = {
                (o["metadata"]["namespace"], o["metadata"]["name"])
                for o in source.list(ref)
                if o["metadata"].get("namespace") in namespaces
            }
            try:
                there = client.resolve(name)
            except CategorisedError:
                summary.problems.append(f"{name} is not served in {summary.cluster}")
                continue
            copies = {
                (o["metadata"]["namespace"], o["metadata"]["name"]): o
                for o in client.list(there, label_selector=selector)
                if o["metadata"].get("namespace") in namespaces
            }
            summary.found += len(copies)
            for ns, obj_name in sorted(wanted - set(copies)):
                summary.problems.append(f"{there.kind} {ns}/{obj_name} has no copy")
            if there.kind == "Deployment":
                _check_scaled(summary, copies)
            if not is_builtin_group(there.group):
                copied_crds += 1  # its CRD is counted once per target namespace
    except CategorisedError as exc:
        summary.problems.append(f"reading {summary.cluster} failed: {exc.message}")
        return
    per_target_crds = copied_crds * len(summary.phases)
    if summary.found + per_target_crds != in_step:
        summary.problems.append(
            f"status counts {in_step} objects in step, the cluster holds {summary.found} "
            f"copies (+{per_target_crds} CRD writes)"
        )


def _check_scaled(summary: DestinationSummary, copies: Mapping[tuple[str, str], Mapping[str, Any]]) -> None:
    for (ns, name), obj in sorted(copies.items()):
        replicas = (obj.get("spec") or {}).get("replicas")
        original = (obj["metadata"].get("annotations") or {}).get(keys.ANNOTATION_ORIGINAL_REPLICAS)
        recorded = summary.expected.get(f"{ns}/Deployment/{name}")
        if replicas != 0:
            summary.problems.append(f"Deployment {ns}/{name} runs {replicas} replicas, not 0")
        elif recorded is None or str(recorded) != str(original):
            summary.problems.append(
                f"Deployment {ns}/{name}: original replicas {original} in the copy, {recorded} in the status"
            )
        else:
            summary.scaled.append(f"{ns}/{name} {recorded}→0")


def print_summary(console: Console, summaries: Mapping[str, DestinationSummary]) -> None:
    table = Table(box=box.SIMPLE_HEAD, title="first sync, per destination", title_justify="left")
    table.add_column("cluster")
    for key in COUNTED:
        table.add_column(key, justify="right")
    table.add_column("duration", justify="right")
    table.add_column("copies found", justify="right")
    table.add_column("check")
    for summary in summaries.values():
        duration = summary.duration if summary.duration not in ("", "0s") else "<1s"
        check = "[green]ok[/]" if summary.ok else f"[red]{len(summary.problems) or 1} problem(s)[/]"
        table.add_row(
            summary.cluster, *(str(summary.counts[k]) for k in COUNTED), duration, str(summary.found), check
        )
    console.print(table)
    for summary in summaries.values():
        if summary.scaled:
            console.print(
                f"  {summary.cluster}: scaled to zero: {', '.join(summary.scaled)}",
                markup=False,
                soft_wrap=True,
            )
        for problem in summary.problems:
            console.print(f"  {summary.cluster}: {problem}", markup=False, style="red", soft_wrap=True)
