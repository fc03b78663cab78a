"""A Replication with more targets than its status lists: the status stays small and lists the
targets that did not complete first, says how many it left out, and its recovery points count every
namespace, each one's last success carried in its run record. On simulated clusters and on real
control planes, where etcd refuses a status that lists every target of a large Replication."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from drsyncer.api.replication import LISTED_TARGETS
from drsyncer.errors import CategorisedError, Category
from drsyncer.kube import client_from_kubeconfig
from drsyncer.status import replication as replication_status
from drsyncer.status.replication import NamespaceRecord, run_status
from drsyncer.status.writer import patch_status
from drsyncer.sync.result import DeploymentScale, Outcome, TargetResult
from tests.fixtures.polling import builtin_ref
from tests.integration.pipeline.conftest import (
    SECRETS,
    Pipeline,
    eventually,
    on_both_backends,  # noqa: F401 (the pipeline on both)
)

RESOURCE_QUOTAS = builtin_ref("resourcequotas")
NAMESPACES_SYNCED = LISTED_TARGETS // 2 + 2  # into dr1 and dr2: 4 targets more than the status lists
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _when(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def _last_successes(pipe: Pipeline, name: str, cluster: str) -> dict[str, float]:
    """Each source namespace's last completed sync into `cluster`, as its run record carries it."""
    return {
        ns: next(s["at"] for s in record["last_success"] if s["cluster"] == cluster)
        for ns, record in pipe.run_records(name).items()
    }


def _fail_secret_writes(pipe: Pipeline, namespace: str) -> None:
    """The next run cannot copy the Secret of `namespace` into dr2: its copy is gone and dr2 refuses
    Secrets (the simulator answers 500; a real cluster has a ResourceQuota of no Secrets there)."""
    pipe.client("dr2").delete(SECRETS, namespace, "db")
    if pipe.backend == "sim":
        pipe.sim("dr2").faults.set(error_rates={"create/secrets": {500: 1.0}})
    else:
        dr2 = pipe.client("dr2")
        none = {"count/secrets": "0"}
        dr2.create(RESOURCE_QUOTAS, namespace, {"metadata": {"name": "no-secrets"}, "spec": {"hard": none}})
        # no resourcequota controller runs in the test clusters: its usage is written here, and
        # admission enforces a quota only once its status says it
        status = {"status": {"hard": none, "used": none}}
        dr2.patch(RESOURCE_QUOTAS, namespace, "no-secrets", status, subresource="status")


def test_a_run_over_more_targets_than_the_status_lists_keeps_every_namespaces_recovery_point(
    pipe: Pipeline,
) -> None:
    team = pipe.unique("capped")
    names = [f"{team}-{i:03d}" for i in range(NAMESPACES_SYNCED)]
    for ns in names:
        pipe.seed(ns, 1, labels={"team": team})
    failing = names[-1]  # last in namespace order: listed first only because it failed
    pipe.source.create(
        SECRETS, failing, {"metadata": {"name": "db"}, "type": "Opaque", "data": {"password": "cGFzcw=="}}
    )
    pipe.apply_replication(
        "capped",
        namespaceSelector={"matchLabels": {"team": team}},
        replicationMode="Manual",
        retryConfig={"maxRetries": 0},  # a failed namespace waits for the next run
    )
    eventually(lambda: pipe.status("capped").get("phase") == "Pending", what="the watcher to see it")

    pipe.annotate("capped", {"dr-syncer.io/sync-now": "first"})
    first = eventually(
        lambda: (s := pipe.status("capped")).get("phase") == "Completed" and s,
        timeout_s=120,
        what="the first run to complete",
    )
    assert len(first["targets"]) == LISTED_TARGETS
    assert first["targetsOmitted"] == 2 * NAMESPACES_SYNCED - LISTED_TARGETS
    first_successes = _last_successes(pipe, "capped", "dr2")
    assert set(first_successes) == set(names)

    _fail_secret_writes(pipe, failing)
    try:
        pipe.annotate("capped", {"dr-syncer.io/sync-now": "second"})
        second = eventually(
            lambda: (s := pipe.status("capped")).get("phase") == "PartiallyFailed" and s,
            timeout_s=120,
            what="the second run to be reported",
        )
    finally:
        if pipe.backend == "sim":
            pipe.sim("dr2").faults.clear()

    listed = second["targets"]
    assert (
        len(listed) == LISTED_TARGETS and second["targetsOmitted"] == 2 * NAMESPACES_SYNCED - LISTED_TARGETS
    )
    head = listed[0]
    assert (head["sourceNamespace"], head["cluster"]) == (failing, "dr2")
    assert head["phase"] == "PartiallyFailed"  # its ConfigMap is there, its Secret is not
    assert all(t["phase"] == "Completed" for t in listed[1:])
    assert failing not in {t["sourceNamespace"] for t in listed[1:]}  # its dr1 target is left out
    # the failed namespace keeps the last success of the first run, carried in its run record
    kept = first_successes[failing]
    assert _last_successes(pipe, "capped", "dr2")[failing] == kept
    assert _when(head["lastSuccessfulSyncTime"]) == pytest.approx(kept, abs=1e-3)
    # recovery points: the oldest last success over every namespace, listed in the status or not
    points = {p["cluster"]: p for p in second["recoveryPoints"]}
    for cluster in ("dr1", "dr2"):
        successes = _last_successes(pipe, "capped", cluster)
        assert set(successes) == set(names)
        point = points[cluster]
        assert point["namespaces"] == NAMESPACES_SYNCED
        assert _when(point["lastSuccessfulSyncTime"]) == pytest.approx(min(successes.values()), abs=1e-3)
    assert (points["dr1"].get("notCompleted", 0), points["dr2"]["notCompleted"]) == (0, 1)
    assert _when(points["dr2"]["lastSuccessfulSyncTime"]) == pytest.approx(kept, abs=1e-3)


def _records(namespaces: int, clusters: tuple[str, ...]) -> list[NamespaceRecord]:
    """A run of `namespaces` namespaces each into `clusters`, named as teams name them, each with a
    Deployment written scaled to zero."""
    records = []
    for i in range(namespaces):
        ns = f"team-{i:04d}-payments-service"
        targets = []
        for cluster in clusters:
            target = TargetResult(cluster, ns, ns)
            target.record("ConfigMap", Outcome.UNCHANGED, 12)
            target.record("Deployment", Outcome.UPDATED)
            target.deployment_scales.append(DeploymentScale("Deployment", ns, "api", 3, 0))
            targets.append(target.finish(0.8))
        started = NOW.timestamp() - 600 + i * 0.37
        records.append(NamespaceRecord(ns, targets, started, started + 1.531, run_id="r"))
    return records


def test_the_status_of_three_thousand_targets_is_written_where_listing_them_all_is_refused(
    pipe: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """1,500 namespaces into 2 clusters, a Deployment scaled to zero in each: a status listing every
    target and every scale (1.7 MB) is over etcd's 1.5 MiB request limit and a real cluster refuses
    it (the simulator as well, as kube-apiserver answers), at once and for good: no retry makes it
    fit; the status as drsyncer writes it (58 KB) is accepted."""
    pipe.apply_replication("large", sourceNamespace="large", replicationMode="Manual")
    records = _records(1500, ("dr1-eu-west-1", "dr2-us-east-1"))
    ref = pipe.resolve("replications.dr-syncer.io")

    def build(obj: dict[str, Any]) -> dict[str, Any]:
        return run_status(
            records, replication="large", previous=obj.get("status") or {}, generation=1, now=NOW
        )

    written = patch_status(pipe.controller, ref, pipe.ns, "large", build)
    assert written is not None
    status = written["status"]
    assert len(status["targets"]) == LISTED_TARGETS and status["targetsOmitted"] == 3000 - LISTED_TARGETS
    assert [p["namespaces"] for p in status["recoveryPoints"]] == [1500, 1500]

    # what drsyncer wrote before it bounded the lists: every target and every scaled Deployment
    monkeypatch.setattr(replication_status, "LISTED_TARGETS", 3000)
    monkeypatch.setattr(replication_status, "LISTED_SCALES", 3000)
    # etcd's refusal is a 500, but one no retry can change: said once, with why, and not sent again
    patches: list[int] = []
    client = client_from_kubeconfig(pipe.clusters["controller"].kubeconfig_dict())
    client.counters.observers.append(
        lambda _c, verb, status: patches.append(status) if verb == "PATCH" else None
    )
    try:
        with pytest.raises(CategorisedError, match="etcdserver: request is too large") as refused:
            patch_status(client, ref, pipe.ns, "large", build)
    finally:
        client.close()
    # refused once, not sent again (a 409 before it is the watcher writing the status meanwhile)
    assert refused.value.category is Category.NON_RETRYABLE and patches.count(500) == 1
    assert patches[-1] == 500 and set(patches) <= {409, 500}, patches
    assert "larger than the cluster's etcd takes in one write" in str(refused.value)
