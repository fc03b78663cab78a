"""Result values: counts, phases, and the JSON round trip they make through Redis."""

from __future__ import annotations

import json

import pytest

from drsyncer.errors import Category
from drsyncer.sync.result import (
    DeploymentScale,
    KindCounts,
    ObjectError,
    Outcome,
    Phase,
    RunSummary,
    TargetResult,
    count_key,
)


def _target(name: str = "dr1", failed: int = 0, created: int = 2, error: str = "") -> TargetResult:
    t = TargetResult(name, "shop", "shop-dr", dry_run=False, error=error)
    if created:
        t.record("ConfigMap", Outcome.CREATED, created)
        t.record("Deployment", Outcome.UNCHANGED)
    for i in range(failed):
        t.fail("Secret", ObjectError("Secret", "shop-dr", f"s{i}", Category.RETRYABLE, "server said 503"))
    t.deployment_scales.append(DeploymentScale("Deployment", "shop-dr", "web", 3, 0))
    t.warnings.append("Deployment shop-dr/web: label value ignored")
    return t.finish(1.25)


PHASES = [
    ("nothing failed", 0, 2, "", Phase.COMPLETED),
    ("some failed", 1, 2, "", Phase.PARTIALLY_FAILED),
    ("destination unreachable", 0, 0, "dr1 is unreachable", Phase.FAILED),
]


@pytest.mark.parametrize(
    ("failed", "created", "error", "phase"), [c[1:] for c in PHASES], ids=[c[0] for c in PHASES]
)
def test_target_phase_follows_the_counts(failed: int, created: int, error: str, phase: Phase) -> None:
    t = TargetResult("dr1", "shop", "shop-dr", error=error)
    t.record("ConfigMap", Outcome.CREATED, created)
    for _ in range(failed):
        t.fail("ConfigMap", ObjectError("ConfigMap", "shop-dr", "x", Category.NON_RETRYABLE, "no"))
    assert t.finish(0.1).phase == phase


def test_everything_failed_is_failed() -> None:
    t = TargetResult("dr1", "shop", "shop-dr")
    t.fail("ConfigMap", ObjectError("ConfigMap", "shop-dr", "x", Category.NON_RETRYABLE, "no"))
    t.record("ConfigMap", Outcome.SKIPPED)
    assert t.finish(0.1).phase == Phase.FAILED


def test_totals_sum_every_kind() -> None:
    t = _target(failed=2)
    assert t.totals == KindCounts(created=2, unchanged=1, failed=2)
    assert t.totals.total == 5


def test_merged_counts_add_up_every_outcome_and_the_held_back() -> None:
    every = KindCounts(**{o.value: i + 1 for i, o in enumerate(Outcome)}, held_back=7)
    total = KindCounts()
    total.merge(every)
    total.merge(every)
    assert total.to_dict() == {key: 2 * n for key, n in every.to_dict().items()}
    assert total.total == 2 * sum(range(1, len(Outcome) + 1))


def test_target_result_survives_a_json_round_trip() -> None:
    t = _target(failed=1)
    t.error, t.error_category = "dr1 answered 503", Category.RETRYABLE
    data = json.loads(json.dumps(t.to_dict()))
    assert TargetResult.from_dict(data) == t
    assert data["totals"]["failed"] == 1 and data["phase"] == "PartiallyFailed"


RUN_PHASES = [
    ("no targets", [], Phase.COMPLETED),
    ("all completed", [_target("a"), _target("b")], Phase.COMPLETED),
    ("one failed destination", [_target("a"), _target("b", created=0, error="down")], Phase.PARTIALLY_FAILED),
    ("all failed", [_target("a", created=0, error="down")], Phase.FAILED),
]


@pytest.mark.parametrize(("targets", "phase"), [c[1:] for c in RUN_PHASES], ids=[c[0] for c in RUN_PHASES])
def test_run_phase_aggregates_the_targets(targets: list[TargetResult], phase: Phase) -> None:
    assert RunSummary("dr-system/shop", targets).phase == phase


def test_run_summary_survives_a_json_round_trip_and_sums_counts() -> None:
    run = RunSummary("dr-system/shop", [_target("a"), _target("b", failed=1)], run_id="r-1")
    data = json.loads(json.dumps(run.to_dict()))
    again = RunSummary.from_dict(data)
    assert again == run
    assert again.totals.created == 4 and again.totals.failed == 1
    assert again.counts["ConfigMap"].created == 4
    assert [str(e) for e in again.errors] == ["Retryable: Secret shop-dr/s0: server said 503"]
    assert again.duration_s == 1.25


def test_custom_resources_are_counted_with_their_group() -> None:
    assert count_key("apps", "Deployment") == "Deployment"
    assert count_key("", "ConfigMap") == "ConfigMap"
    assert count_key("example.com", "Widget") == "Widget.example.com"


def test_a_crd_every_namespace_copies_counts_once_per_destination_cluster() -> None:
    # every namespace's sync copies the Replication's CRDs to each destination: one object there
    crd = count_key("apiextensions.k8s.io", "CustomResourceDefinition")

    def target(cluster: str, namespace: str, crd_outcome: Outcome) -> TargetResult:
        t = TargetResult(cluster, namespace, namespace, dry_run=False)
        t.record("ConfigMap", Outcome.CREATED, 3)
        t.record(crd, crd_outcome)
        return t

    summary = RunSummary(
        "dr-system/web",
        [
            target("dr1", "ops", Outcome.UNCHANGED),  # found it, written a moment before by "shop"
            target("dr1", "shop", Outcome.CREATED),
            target("dr1", "web", Outcome.UNCHANGED),
            target("dr2", "shop", Outcome.CREATED),
            target("dr2", "web", Outcome.FAILED),
        ],
    )
    assert summary.counts["ConfigMap"].created == 15
    # dr1: the namespace that wrote it; dr2: the failure is not hidden by the namespace that created it
    assert summary.counts[crd].to_dict() == KindCounts(created=1, failed=1).to_dict()
    assert (summary.totals.total, summary.totals.succeeded, summary.totals.failed) == (17, 16, 1)
    # each target still counts the definition it handled
    assert [t.totals.total for t in summary.targets] == [4, 4, 4, 4, 4]
