"""The informer's pure parts: reconnect backoff and which copy of an object is newer."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any, cast

import pytest

from drsyncer.kube import ClusterClient
from drsyncer.kube.discovery import ResourceRef, offline_ref
from drsyncer.kube.errors import ApiError
from drsyncer.kube.informer import (
    MAX_BACKOFF_S,
    MIN_BACKOFF_S,
    Informer,
    backoff_delay,
    newer_or_equal,
    without_managed_fields,
)


@pytest.mark.parametrize(
    ("failures", "low", "high"),
    [
        (1, MIN_BACKOFF_S / 2, MIN_BACKOFF_S),
        (2, MIN_BACKOFF_S, 2 * MIN_BACKOFF_S),
        (30, MAX_BACKOFF_S / 2, MAX_BACKOFF_S),
    ],
)
def test_backoff_grows_and_is_bounded(failures: int, low: float, high: float) -> None:
    assert backoff_delay(failures, 0.0) == pytest.approx(low)
    assert backoff_delay(failures, 1.0) == pytest.approx(high)


def _obj(rv: str) -> dict[str, object]:
    return {"metadata": {"resourceVersion": rv}}


@pytest.mark.parametrize(
    ("candidate", "current", "expected"),
    [
        ("10", None, True),
        ("10", "9", True),
        ("10", "10", True),
        ("9", "10", False),
        ("abc", "10", True),  # not numbers: the later arrival wins
    ],
)
def test_newer_or_equal(candidate: str, current: str | None, expected: bool) -> None:
    assert newer_or_equal(_obj(candidate), _obj(current) if current else None) is expected


class FakeStream(list[dict[str, Any]]):
    resource_version = "5"


class FakeClient:
    """Lists one object; the first watch expires (410), later ones deliver one event and end."""

    def __init__(self) -> None:
        self.watches: list[str | None] = []
        self.lists = 0

    def list(self, ref: Any, namespace: str | None = None, **_options: Any) -> FakeStream:
        self.lists += 1
        return FakeStream([{"metadata": {"name": f"listed-{self.lists}", "resourceVersion": "5"}}])

    def watch(
        self,
        ref: Any,
        namespace: str | None = None,
        *,
        resource_version: str | None = None,
        timeout_s: int = 0,
    ) -> Iterator[dict[str, Any]]:
        self.watches.append(resource_version)
        if len(self.watches) == 1:
            raise ApiError(410, "Expired", "too old resource version")
        return iter([{"type": "ADDED", "object": {"metadata": {"name": "watched", "resourceVersion": "9"}}}])


def test_expired_watch_position_lists_again_then_watches_from_the_new_list() -> None:
    fake = FakeClient()
    changes: list[int] = []
    informer = Informer(
        lambda: cast(ClusterClient, fake),
        _ref(),
        None,
        lambda: changes.append(1),
        name="fake",
        watch_timeout_s=1,
    )
    stop_after = threading.Timer(5, informer.stop)
    # drive the loop in this thread; stop once a watch after the relist has ended
    original = fake.watch

    def watch(*args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
        if len(fake.watches) >= 2:
            informer.stop()
        return original(*args, **kwargs)

    fake.watch = watch  # type: ignore[method-assign]
    stop_after.start()
    try:
        informer.run()
    finally:
        stop_after.cancel()
    assert fake.lists == 2, "410 Gone lists again instead of resending the watch"
    # from the first list (Gone), from the relist, then resumed from the last event seen
    assert fake.watches == ["5", "5", "9"]
    assert {name for _, name in informer.objects()} == {"listed-2", "watched"}
    assert changes


def _ref() -> ResourceRef:
    ref = offline_ref("configmaps")
    assert ref is not None
    return ref


def test_copies_are_kept_without_managed_fields() -> None:
    managed = [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}]
    obj: dict[str, Any] = {
        "metadata": {"name": "a", "resourceVersion": "3", "managedFields": managed},
        "spec": {"x": 1},
    }
    kept = without_managed_fields(obj)
    assert kept == {"metadata": {"name": "a", "resourceVersion": "3"}, "spec": {"x": 1}}
    assert without_managed_fields({"metadata": {"name": "b"}}) == {"metadata": {"name": "b"}}
