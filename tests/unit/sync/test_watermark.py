"""When a watermark lets a scheduled run skip reading: table-driven over the feed states."""

from __future__ import annotations

from typing import Any

import pytest

from drsyncer.kube.journal import DELETED
from drsyncer.sync.result import DeploymentScale, KindCounts, Outcome, Skip, TargetResult
from drsyncer.sync.watermark import FeedKey, FeedState, fingerprint, holds, make_mark, settled_result

SOURCE: FeedKey = ("src", "configmaps", "shop", "")
COPIES: FeedKey = ("dr1", "configmaps", "shop", "")
NAMESPACE: FeedKey = ("dr1", "namespaces", "", "shop")
NOW = 1_000_000.0


def _result(**counts: int) -> TargetResult:
    result = TargetResult("dr1", "shop", "shop")
    for outcome, n in counts.items():
        result.record("ConfigMap", Outcome(outcome), n)
    return result.finish(0.5)


def _states(
    source: dict[str, str], copies: dict[str, str], ns: dict[str, str], epoch: str = "e1"
) -> dict[FeedKey, FeedState | None]:
    return {SOURCE: ("e0", source), COPIES: (epoch, copies), NAMESPACE: (epoch, ns)}


def _mark(**overrides: Any) -> dict[str, Any]:
    # the run started with these states and wrote the copies alpha (now at 12) and bravo (13), and
    # the destination Namespace (now at 30)
    start = _states({"alpha": "5"}, {"old": "3"}, {})
    writes = {COPIES: {"alpha": "12", "bravo": "13"}, NAMESPACE: {"shop": "30", "other": "31"}}
    mark = make_mark("digest", NOW - 10, start, overrides.pop("result", _result(created=2)), writes)
    assert mark is not None
    return {**mark, **overrides}


HOLDS = _states({"alpha": "5"}, {"old": "3", "alpha": "12", "bravo": "13"}, {"shop": "30"})


@pytest.mark.parametrize(
    ("case", "states", "digest", "now", "trusted"),
    [
        ("nothing changed since the run (its own writes are its own)", HOLDS, "digest", NOW, True),
        ("a source object changed", {**HOLDS, SOURCE: ("e0", {"alpha": "6"})}, "digest", NOW, False),
        (
            "a source object appeared",
            {**HOLDS, SOURCE: ("e0", {"alpha": "5", "new": "7"})},
            "digest",
            NOW,
            False,
        ),
        (
            "a copy was edited after the run wrote it",
            {**HOLDS, COPIES: ("e1", {"old": "3", "alpha": "20", "bravo": "13"})},
            "digest",
            NOW,
            False,
        ),
        (
            "a copy was deleted",
            {**HOLDS, COPIES: ("e1", {"old": "3", "alpha": "12", "bravo": DELETED})},
            "digest",
            NOW,
            False,
        ),
        (
            "an object was created in the destination",
            {**HOLDS, COPIES: ("e1", {"old": "3", "alpha": "12", "bravo": "13", "x": "1"})},
            "digest",
            NOW,
            False,
        ),
        (
            "the destination Namespace changed",
            {**HOLDS, NAMESPACE: ("e1", {"shop": "40"})},
            "digest",
            NOW,
            False,
        ),
        (
            "the feed started again (new epoch)",
            {**HOLDS, COPIES: ("e2", {"old": "3", "alpha": "12", "bravo": "13"})},
            "digest",
            NOW,
            False,
        ),
        ("a feed is not running", {**HOLDS, SOURCE: None}, "digest", NOW, False),
        ("the rules changed", HOLDS, "other", NOW, False),
        ("the watermark is older than the full-read interval", HOLDS, "digest", NOW + 3600, False),
        ("the clock went back before the watermark", HOLDS, "digest", NOW - 3600, False),
    ],
)
def test_a_watermark_holds_only_while_nobody_changed_anything(
    case: str, states: dict[FeedKey, FeedState | None], digest: str, now: float, trusted: bool
) -> None:
    assert holds(_mark(), digest, states, now) is trusted, case


@pytest.mark.parametrize(
    ("case", "result", "dry_run", "states"),
    [
        ("a target that failed", TargetResult("dr1", "shop", "shop", error="unreachable"), False, HOLDS),
        ("an object that failed", _result(created=1, failed=1), False, HOLDS),
        ("a dry run", _result(created=1), True, HOLDS),
        ("a feed that did not run", _result(created=1), False, {**HOLDS, COPIES: None}),
    ],
)
def test_no_watermark_is_made_of_a_run_that_cannot_stand_for_the_next(
    case: str, result: TargetResult, dry_run: bool, states: dict[FeedKey, FeedState | None]
) -> None:
    result.dry_run = dry_run
    assert make_mark("digest", NOW, states, result) is None, case


def test_a_settled_run_reports_every_copy_unchanged_and_keeps_the_skips() -> None:
    result = _result(created=2, updated=1, unchanged=4, pruned=3)
    result.skip(Skip("ConfigMap", "shop", "kube-root-ca.crt", "generated"))
    result.deployment_scales.append(DeploymentScale("Deployment", "shop", "web", 3, 0))
    mark = _mark(result=result)

    settled = settled_result(mark)

    assert settled.counts == {"ConfigMap": KindCounts(unchanged=7, skipped=1)}
    assert [s.name for s in settled.skips] == ["kube-root-ca.crt"]
    assert not settled.errors and not settled.error
    assert settled.deployment_scales == []  # nothing was written


def test_a_fingerprint_is_the_state_after_the_writes_in_any_order() -> None:
    after = fingerprint(("e1", {"a": "1", "b": "2"}), {"b": "7", "c": "8"})
    assert after == fingerprint(("e1", {"c": "8", "b": "7", "a": "1"}))
    assert after != fingerprint(("e1", {"a": "1", "b": "2", "c": "8"}))
    assert after != fingerprint(("e2", {"a": "1", "b": "7", "c": "8"}))  # another epoch
    assert fingerprint(None, {"a": "1"}) is None


def test_a_cluster_scoped_feed_counts_only_the_object_it_names() -> None:
    assert fingerprint(("e1", {}), {"shop": "9", "other": "4"}, "shop") == fingerprint(("e1", {"shop": "9"}))
