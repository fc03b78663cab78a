"""Fault injection and request counters of one simulated cluster."""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")
WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")
# 409 only on writes, where kube-apiserver answers it (Conflict on update/patch/delete with a stale
# resourceVersion or precondition, AlreadyExists on create)
INJECTABLE_CODES = (409, 429, 500, 503)
WRITE_ONLY_CODES = frozenset({409})


@dataclass
class FaultSettings:
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    # verb (or "verb/resource") → {HTTP code: probability}
    error_rates: dict[str, dict[int, float]] = field(default_factory=dict)
    retry_after_s: int = 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "latency_ms": self.latency_ms,
            "jitter_ms": self.jitter_ms,
            "retry_after_s": self.retry_after_s,
            "error_rates": {
                verb: {str(code): p for code, p in rates.items()} for verb, rates in self.error_rates.items()
            },
        }


def _normalise_rates(rates: Mapping[str, Mapping[Any, Any]]) -> dict[str, dict[int, float]]:
    out: dict[str, dict[int, float]] = {}
    for target, by_code in rates.items():
        verb = str(target).split("/", 1)[0]
        if verb not in VERBS:
            raise ValueError(f"unknown verb {verb!r} in error_rates; verbs are {', '.join(VERBS)}")
        out[str(target)] = {}
        for code, probability in by_code.items():
            code_int, p = int(code), float(probability)
            if code_int not in INJECTABLE_CODES:
                raise ValueError(f"error code {code_int} cannot be injected; use one of {INJECTABLE_CODES}")
            if code_int in WRITE_ONLY_CODES and verb not in WRITE_VERBS:
                raise ValueError(f"error code {code_int} is answered to writes only, not to {verb}")
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"error rate {p} for {target} {code_int} is not a probability")
            out[str(target)][code_int] = p
    return out


class Faults:
    """Latency and error rates applied to API requests (not to the /_sim admin endpoint)."""

    def __init__(self) -> None:
        self._settings = FaultSettings()
        self._random = random.Random()

    @property
    def settings(self) -> FaultSettings:
        return self._settings

    def set(
        self,
        latency_ms: float | None = None,
        jitter_ms: float | None = None,
        error_rates: Mapping[str, Mapping[Any, Any]] | None = None,
        retry_after_s: int | None = None,
    ) -> None:
        """Change the given settings; the others keep their value."""
        current = self._settings
        self._settings = FaultSettings(
            latency_ms=float(latency_ms) if latency_ms is not None else current.latency_ms,
            jitter_ms=float(jitter_ms) if jitter_ms is not None else current.jitter_ms,
            error_rates=_normalise_rates(error_rates) if error_rates is not None else current.error_rates,
            retry_after_s=int(retry_after_s) if retry_after_s is not None else current.retry_after_s,
        )

    def clear(self) -> None:
        self._settings = FaultSettings()

    def delay_s(self) -> float:
        s = self._settings
        if not s.latency_ms and not s.jitter_ms:
            return 0.0
        return max(0.0, s.latency_ms + self._random.uniform(-s.jitter_ms, s.jitter_ms)) / 1000.0

    def pick_error(self, verb: str, resource: str) -> int | None:
        rates = self._settings.error_rates
        if not rates:
            return None
        for target in (f"{verb}/{resource}", verb):
            by_code = rates.get(target)
            if by_code:
                draw = self._random.random()
                for code, probability in by_code.items():
                    if draw < probability:
                        return code
                    draw -= probability
                return None
        return None


class Counters:
    """Requests received per verb and resource (faulted ones included: they reached the server), the
    discovery requests (`/api`, `/apis` and their group versions), and the body bytes of the answers
    and of watch events, which is what a client reads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, dict[str, int]] = {}
        self.bytes_sent = 0
        self.discovery = 0

    def count_discovery(self) -> None:
        with self._lock:
            self.discovery += 1

    def count(self, verb: str, resource: str) -> None:
        by_resource = self._counts.get(verb)
        if by_resource is None:
            with self._lock:
                by_resource = self._counts.setdefault(verb, {})
        by_resource[resource] = by_resource.get(resource, 0) + 1

    def sent(self, size: int) -> None:
        with self._lock:
            self.bytes_sent += size

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {verb: dict(by_resource) for verb, by_resource in self._counts.items()}

    def writes(self) -> int:
        snapshot = self.snapshot()
        return sum(sum(snapshot.get(verb, {}).values()) for verb in WRITE_VERBS)

    def reset(self) -> None:
        with self._lock:
            self._counts = {}
            self.bytes_sent = 0
            self.discovery = 0
