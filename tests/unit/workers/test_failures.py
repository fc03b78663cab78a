"""How a namespace sync that did not complete ends its task: which exception, with what message."""

from __future__ import annotations

from drsyncer.errors import Category
from drsyncer.status.replication import NamespaceRecord, RetryPlan
from drsyncer.sync.result import ObjectError, Outcome, TargetResult
from drsyncer.task_contract import ReplicationRef, SyncJob, Target
from workers.failures import CleanupFailed, SyncFailed, SyncPartiallyFailed, cleanup_failure, failure_of

JOB = SyncJob(
    ReplicationRef("Replication", "dr-system", "shop", "uid-1", 3),
    "prod",
    "shop",
    (Target("dr1", "shop"), Target("dr2", "shop-dr")),
    trigger="sync-now",
)


def _ok(cluster: str, namespace: str) -> TargetResult:
    result = TargetResult(cluster, "shop", namespace)
    result.record("ConfigMap", Outcome.CREATED, 2)
    return result.finish(0.1)


def _down(cluster: str, namespace: str) -> TargetResult:
    return TargetResult(
        cluster,
        "shop",
        namespace,
        error=f"destination cluster {cluster}: cannot connect",
        error_category=Category.RETRYABLE,
    ).finish(0.0)


def _record(*targets: TargetResult) -> NamespaceRecord:
    return NamespaceRecord("shop", list(targets), 0.0, 1.0)


def test_a_completed_namespace_ends_its_task_normally() -> None:
    assert failure_of(JOB, _record(_ok("dr1", "shop"), _ok("dr2", "shop-dr")), None) is None


def test_one_destination_down_is_a_partial_failure_naming_category_error_and_target() -> None:
    failure = failure_of(JOB, _record(_ok("dr1", "shop"), _down("dr2", "shop-dr")), None)
    assert type(failure) is SyncPartiallyFailed
    assert str(failure) == (
        "Retryable: destination cluster dr2: cannot connect (Replication "
        "dr-system/shop, namespace shop: 1 of 2 target(s) not completed: dr2/shop-dr; "
        "0 object(s) failed)"
    )


def test_nothing_synced_is_a_failure_and_says_when_the_retry_comes() -> None:
    retry = RetryPlan(attempt=2, delay_s=30.0, remaining=1, at=0.0)
    failure = failure_of(JOB, _record(_down("dr1", "shop"), _down("dr2", "shop-dr")), retry)
    assert type(failure) is SyncFailed
    assert str(failure).startswith("Retryable: destination cluster dr1: cannot connect (")
    assert str(failure).endswith(
        "2 of 2 target(s) not completed: dr1/shop, dr2/shop-dr; 0 object(s) failed; retry 2 in 30s)"
    )


def test_an_object_error_is_named_with_its_kind_and_destination() -> None:
    partial = _ok("dr1", "shop")
    partial.fail(
        "Service",
        ObjectError("Service", "shop", "web", Category.NON_RETRYABLE, "spec.clusterIP: field is immutable"),
    )
    failure = failure_of(JOB, _record(partial.finish(0.1), _ok("dr2", "shop-dr")), None)
    assert type(failure) is SyncPartiallyFailed
    assert str(failure).startswith(
        "NonRetryable: Service shop/web: spec.clusterIP: field is immutable "
        "(in dr1/shop) (Replication dr-system/shop, namespace shop: 1 of 2"
    )
    assert "1 object(s) failed" in str(failure)


def test_task_arguments_show_as_replication_namespace_and_destinations_without_uid() -> None:
    shown = JOB.kwargsrepr()
    assert shown == repr(
        {
            "replication": "dr-system/shop",
            "source": "prod/shop",
            "destinations": "dr1/shop, dr2/shop-dr",
            "trigger": "sync-now",
        }
    )
    assert "uid-1" not in shown


def test_a_cleanup_that_left_copies_behind_is_a_failure_naming_the_destination() -> None:
    assert cleanup_failure(JOB, [_ok("dr1", "shop"), _ok("dr2", "shop-dr")]) is None
    failure = cleanup_failure(JOB, [_ok("dr1", "shop"), _down("dr2", "shop-dr")])
    assert type(failure) is CleanupFailed
    assert str(failure) == (
        "Retryable: destination cluster dr2: cannot connect (cleanup of Replication "
        "dr-system/shop, namespace shop: 1 of 2 target(s) not cleaned up: dr2/shop-dr)"
    )


def test_a_credential_an_error_quotes_is_masked_in_the_exception_flower_shows() -> None:
    leaky = TargetResult(
        "dr2",
        "shop",
        "shop-dr",
        error="destination cluster dr2: cannot connect to https://admin:hunter2@10.0.0.9:6443",
        error_category=Category.RETRYABLE,
    ).finish(0.0)
    failure = failure_of(JOB, _record(_ok("dr1", "shop"), leaky), None)
    cleanup = cleanup_failure(JOB, [leaky])
    for shown in (str(failure), str(cleanup)):
        assert "https://admin:***@10.0.0.9:6443" in shown and "hunter2" not in shown


def test_the_failed_objects_after_the_first_are_named_too() -> None:
    target = TargetResult("dr1", "shop", "shop")
    for i, code in enumerate((409, 429, 429, 500, 500)):
        target.fail(
            "ConfigMap", ObjectError("ConfigMap", "shop", f"cm-{i}", Category.RETRYABLE, f"{code} answer")
        )
    failure = failure_of(JOB, _record(target.finish(0.1)), None)
    assert str(failure).startswith(
        "Retryable: ConfigMap shop/cm-0: 409 answer (in dr1/shop) (and 4 more failed objects: ConfigMap "
        "shop/cm-1, ConfigMap shop/cm-2, ConfigMap shop/cm-3, ...)"
    )
