"""Per-cluster request counts, kept here until metrics are wired to them through `observers`."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

# (cluster, verb, status) for every response or failure; status 0 means no response arrived
RequestObserver = Callable[[str, str, int], None]


class RequestCounters:
    """Thread-safe counts of requests, throttled (429) responses, retries and rate-limit waits."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()
        self._waited_s: dict[str, float] = {}
        self.observers: list[RequestObserver] = []

    def record(self, cluster: str, verb: str, status: int) -> None:
        with self._lock:
            self._counts[(cluster, "requests")] += 1
            if status == 429:
                self._counts[(cluster, "throttled")] += 1
            if status == 0 or status >= 400:
                self._counts[(cluster, "errors")] += 1
        for observe in self.observers:
            observe(cluster, verb, status)

    def record_retry(self, cluster: str) -> None:
        with self._lock:
            self._counts[(cluster, "retries")] += 1

    def record_wait(self, cluster: str, seconds: float) -> None:
        if seconds > 0:
            with self._lock:
                self._waited_s[cluster] = self._waited_s.get(cluster, 0.0) + seconds

    def get(self, cluster: str, name: str) -> int:
        """`name` is one of requests, throttled, errors, retries."""
        with self._lock:
            return self._counts[(cluster, name)]

    def snapshot(self) -> dict[str, dict[str, float]]:
        with self._lock:
            out: dict[str, dict[str, float]] = {}
            for (cluster, name), value in self._counts.items():
                out.setdefault(cluster, {})[name] = value
            for cluster, waited in self._waited_s.items():
                out.setdefault(cluster, {})["rate_limit_wait_seconds"] = waited
            return out
