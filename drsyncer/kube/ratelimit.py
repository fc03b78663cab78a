"""Per-cluster token buckets: a request budget (`RemoteCluster.spec.rateLimit`) for the whole fleet.

The bucket is a reservation: taking a token may drive the count below zero, and the caller waits
until its token would have been refilled. Every process shares one bucket per cluster through Redis
(one hash, updated by one Lua script on Redis's clock, so process clocks never disagree); without a
Redis URL each process keeps its own bucket, which is then a per-process budget.

Far from the budget a process takes a batch of tokens from Redis at once and spends them locally
for a short while (`BatchPlan`), so most requests cost no Redis call (one thread at a time asks, the
others spend what it brings); near the budget it takes one token per request as before. Either way
the fleet never sends more than `qps + burst` requests in any one second (see `BatchPlan` for why).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from drsyncer.redis_target import client_from_url

log = logging.getLogger(__name__)

KEY_PREFIX = "drsyncer:ratelimit:"


@dataclass(frozen=True)
class RateBudget:
    qps: float = 50.0
    burst: int = 100

    def __post_init__(self) -> None:
        if self.qps <= 0 or self.burst < 1:
            raise ValueError("rateLimit needs qps > 0 and burst >= 1")


def reserve(
    tokens: float, last: float, now: float, budget: RateBudget, n: float = 1.0
) -> tuple[float, float, float]:
    """Take `n` tokens from a bucket last updated at `last`: (tokens left, new timestamp, wait seconds).

    The per-process bucket (`LocalRateLimiter`); the shared one is `take`.
    """
    now = max(now, last)  # a clock that stepped back must not mint tokens
    tokens = min(float(budget.burst), tokens + (now - last) * budget.qps) - n
    delay = -tokens / budget.qps if tokens < 0 else 0.0
    return tokens, now, delay


# a batch taken from Redis is spent within this long, and holds at most this many tokens
BATCH_HOLD_MAX_S = 0.25
BATCH_MAX = 50


@dataclass(frozen=True)
class BatchPlan:
    """How a process of the fleet takes tokens from the shared bucket for `budget`.

    `size` tokens are taken at once when the bucket holds that many and is at least half full (else
    one, queued as a reservation); a batch's tokens not spent within `hold_s` seconds are dropped. The shared
    bucket is given `burst - qps * hold_s` as its burst: a request sent in a given second then
    spent a token the bucket handed out in that second or at most `hold_s` before it, and the bucket
    hands out at most `shared_burst + qps * (1 + hold_s) = qps + burst` tokens in `1 + hold_s`
    seconds. Budgets too small for batches of two keep `size` 1, `hold_s` 0 and the whole burst.
    """

    size: int
    hold_s: float
    shared_burst: float

    @classmethod
    def of(cls, budget: RateBudget) -> BatchPlan:
        hold = min(BATCH_HOLD_MAX_S, budget.burst / (2 * budget.qps))
        # half of what the hold could spend at qps: a process rarely drops tokens it took
        size = min(BATCH_MAX, math.floor(budget.qps * hold / 2))
        if size < 2:
            return cls(1, 0.0, float(budget.burst))
        return cls(size, hold, budget.burst - budget.qps * hold)


def take(
    tokens: float, last: float, now: float, qps: float, burst: float, want: int
) -> tuple[float, float, int, float]:
    """Take `want` tokens if the bucket holds them and is at least half full (far from the budget, so
    tokens a batch may leave unspent are not missed), else reserve one: (tokens left, new timestamp,
    tokens granted, wait seconds). The Lua script below is this function, line for line."""
    now = max(now, last)  # a clock that stepped back must not mint tokens
    tokens = min(burst, tokens + (now - last) * qps)
    if want > 1 and tokens >= max(want, burst / 2):
        return tokens - want, now, want, 0.0
    tokens -= 1
    delay = -tokens / qps if tokens < 0 else 0.0
    return tokens, now, 1, delay


_TAKE_LUA = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local last = tonumber(state[2])
if tokens == nil or last == nil then
  tokens = burst
  last = now
end
if now < last then now = last end
tokens = math.min(burst, tokens + (now - last) * rate)
local granted = 1
local delay = 0
if want > 1 and tokens >= math.max(want, burst / 2) then
  granted = want
  tokens = tokens - want
else
  tokens = tokens - 1
  if tokens < 0 then delay = -tokens / rate end
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'ts', string.format('%.6f', now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst / rate + delay) * 1000) + 60000)
return granted .. ' ' .. string.format('%.6f', delay)
"""


class RateLimiter(Protocol):
    def reserve(self) -> float:
        """Take one request's token now; returns the seconds the caller must wait before sending."""
        ...

    def acquire(self) -> float:
        """Take one request's token, waiting as long as the budget requires; returns seconds waited."""
        ...


class LocalRateLimiter:
    """A thread-safe token bucket in this process."""

    def __init__(
        self,
        budget: RateBudget,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.budget = budget
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(budget.burst)
        self._last = clock()

    def reserve(self) -> float:
        """Take a token now; the seconds the caller must wait before sending."""
        with self._lock:
            self._tokens, self._last, delay = reserve(self._tokens, self._last, self._clock(), self.budget)
        return delay

    def acquire(self) -> float:
        delay = self.reserve()
        if delay > 0:
            self._sleep(delay)  # outside the lock: other threads reserve their own later slots
        return delay


class RedisRateLimiter:
    """A token bucket in Redis shared by every process that uses the same key and Redis; tokens are
    taken in batches while the bucket is far from empty (`BatchPlan`)."""

    def __init__(
        self,
        client: redis.Redis,
        cluster_key: str,
        budget: RateBudget,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        retry_redis_after_s: float = 10.0,
    ) -> None:
        self.budget = budget
        self.plan = BatchPlan.of(budget)
        self.key = KEY_PREFIX + cluster_key
        self._client = client
        self._script = client.register_script(_TAKE_LUA)
        self._sleep = sleep
        self._clock = clock
        self._fallback = LocalRateLimiter(budget, sleep=sleep)
        self._retry_redis_after = retry_redis_after_s
        self._redis_down_until = 0.0
        self._lock = threading.Lock()
        self._asking = threading.Lock()
        self._held = 0  # tokens of the last batch not yet spent
        self._held_until = 0.0

    def reserve(self) -> float:
        taken = self._spend_held()
        if taken is not None:
            return taken
        # one thread at a time asks Redis: the threads that ran out with it spend the batch it brings
        # rather than each taking (and mostly dropping) a batch of its own
        with self._asking:
            taken = self._spend_held()
            if taken is not None:
                return taken
            return self._take_from_redis()

    def _spend_held(self) -> float | None:
        """0.0 when a token of the batch in hand was spent, None when there is none."""
        with self._lock:
            if self._held > 0 and self._clock() < self._held_until:
                self._held -= 1
                return 0.0
        return None

    def _take_from_redis(self) -> float:
        if time.monotonic() < self._redis_down_until:
            return self._fallback.reserve()
        plan = self.plan
        try:
            reply: Any = self._script(keys=[self.key], args=[self.budget.qps, plan.shared_burst, plan.size])
        except redis.RedisError as exc:
            # an unreachable Redis must not stop syncs, nor slow every request with connect attempts:
            # keep a per-process budget for a while, then try Redis again
            self._redis_down_until = time.monotonic() + self._retry_redis_after
            log.warning(
                "rate limiter: Redis unavailable (%s); using a per-process budget for %s for %.0fs",
                type(exc).__name__,
                self.key,
                self._retry_redis_after,
            )
            return self._fallback.reserve()
        granted, delay = (reply.decode() if isinstance(reply, bytes) else str(reply)).split()
        if int(granted) > 1:
            with self._lock:  # this request spends one; the rest serve the next ones for hold_s
                self._held = int(granted) - 1
                self._held_until = self._clock() + plan.hold_s
        return float(delay)

    def acquire(self) -> float:
        delay = self.reserve()
        if delay > 0:
            self._sleep(delay)
        return delay


class Unlimited:
    """No budget: for tests and one-off reads."""

    def reserve(self) -> float:
        return 0.0

    def acquire(self) -> float:
        return 0.0


_redis_clients: dict[str, redis.Redis] = {}
_redis_lock = threading.Lock()


def redis_for(url: str) -> redis.Redis:
    """The process's Redis client for `url`: one connection pool per URL and process, shared by every
    cluster's limiter (and shared discovery); short timeouts, one quick retry."""
    with _redis_lock:
        client = _redis_clients.get(url)
        if client is None:
            # one quick retry, no backoff: a slow limiter would stall every request to the cluster
            client = client_from_url(
                url, socket_timeout=2.0, socket_connect_timeout=2.0, retry=Retry(NoBackoff(), 1)
            )
            _redis_clients[url] = client
        return client


def rate_limiter_for(cluster_key: str, budget: RateBudget, redis_url: str | None = None) -> RateLimiter:
    """The fleet-wide limiter for a cluster when `redis_url` is set, else a per-process one.

    `cluster_key` must name the cluster the same way in every process, e.g. `namespace/name` of
    its RemoteCluster.
    """
    if redis_url:
        return RedisRateLimiter(redis_for(redis_url), cluster_key, budget)
    return LocalRateLimiter(budget)
