"""The fleet-wide rate limit through a real Redis: several clients share one cluster's budget."""

import threading
import time

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from drsyncer.kube.ratelimit import RateBudget, RedisRateLimiter, rate_limiter_for
from tests.fixtures.ports import free_port


def test_reservations_queue_behind_the_burst_at_qps(redis_url: str) -> None:
    limiter = RedisRateLimiter(redis.Redis.from_url(redis_url), "ns/dr1", RateBudget(qps=1, burst=3))
    delays = [limiter.reserve() for _ in range(5)]
    assert delays[:3] == [0.0, 0.0, 0.0]
    # the script's maths: the 4th token is one second away, the 5th two (less the few ms elapsed)
    assert delays[3] == pytest.approx(1.0, abs=0.1)
    assert delays[4] == pytest.approx(2.0, abs=0.1)


def test_clusters_have_separate_buckets(redis_url: str) -> None:
    budget = RateBudget(qps=1, burst=1)
    client = redis.Redis.from_url(redis_url)
    first = RedisRateLimiter(client, "ns/dr1", budget)
    other = RedisRateLimiter(client, "ns/dr2", budget)
    assert first.reserve() == 0.0
    assert other.reserve() == 0.0
    assert first.reserve() > 0.5


def test_two_clients_together_stay_within_the_budget(redis_url: str) -> None:
    budget = RateBudget(qps=20, burst=5)
    # two independent Redis connections stand for two worker processes
    limiters = [
        rate_limiter_for("ns/shared", budget, redis_url),
        RedisRateLimiter(redis.Redis.from_url(redis_url), "ns/shared", budget),
    ]
    counts = [0, 0]
    start = time.monotonic()
    window = 1.5
    deadline = start + window

    def run(i: int) -> None:
        while True:
            limiters[i].acquire()
            if time.monotonic() > deadline:
                return
            counts[i] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    elapsed = min(time.monotonic(), deadline) - start
    allowed = budget.burst + budget.qps * elapsed
    total = sum(counts)
    assert total <= allowed + 2, (counts, allowed)
    # both clients got a share, and the budget was used rather than starved
    assert min(counts) > 0
    assert total >= 0.6 * allowed, (counts, allowed)


def test_an_unreachable_redis_falls_back_to_a_per_process_budget() -> None:
    dead = redis.Redis(
        host="127.0.0.1",
        port=free_port(),
        socket_connect_timeout=0.2,
        socket_timeout=0.2,
        retry=Retry(NoBackoff(), 0),
    )
    limiter = RedisRateLimiter(dead, "ns/dr1", RateBudget(qps=1, burst=2))
    assert [limiter.reserve(), limiter.reserve()] == [0.0, 0.0]
    assert limiter.reserve() > 0.5


def _script_calls(client: redis.Redis) -> int:
    stats = client.info("commandstats")
    return sum(int(stats.get(f"cmdstat_{c}", {}).get("calls", 0)) for c in ("evalsha", "eval"))


def test_far_from_the_budget_a_process_takes_its_tokens_from_redis_in_batches(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    limiter = RedisRateLimiter(client, "ns/batched", RateBudget(qps=5000, burst=5000))
    before = _script_calls(client)
    assert [limiter.acquire() for _ in range(500)] == [0.0] * 500
    # batches of 50 (BatchPlan): ten script calls, not five hundred
    assert _script_calls(client) - before <= 12


def test_batching_processes_never_exceed_qps_plus_burst_in_any_second_and_use_the_budget(
    redis_url: str,
) -> None:
    budget = RateBudget(qps=200, burst=40)
    assert RedisRateLimiter(redis.Redis.from_url(redis_url), "x", budget).plan.size > 1  # batches in play
    # three Redis connections stand for three worker processes, each with writer threads
    limiters = [RedisRateLimiter(redis.Redis.from_url(redis_url), "ns/fleet", budget) for _ in range(3)]
    sent: list[float] = []
    lock = threading.Lock()
    start = time.monotonic()
    deadline = start + 2.5

    def run(limiter: RedisRateLimiter) -> None:
        while True:
            limiter.acquire()
            now = time.monotonic()
            if now > deadline:
                return
            with lock:
                sent.append(now)

    threads = [threading.Thread(target=run, args=(lim,)) for lim in limiters for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    sent.sort()
    most, j = 0, 0
    for i, t in enumerate(sent):
        while t - sent[j] >= 1.0:
            j += 1
        most = max(most, i - j + 1)
    assert most <= budget.qps + budget.burst, most
    assert len(sent) >= 0.9 * budget.qps * (deadline - start), len(sent)


def test_threads_that_run_out_together_share_the_batch_one_of_them_takes(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    limiter = RedisRateLimiter(client, "ns/threads", RateBudget(qps=5000, burst=5000))
    start = threading.Barrier(16)

    def run() -> None:
        start.wait()
        for _ in range(25):
            limiter.acquire()

    threads = [threading.Thread(target=run) for _ in range(16)]
    before = _script_calls(client)
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    # 400 tokens in batches of 50: eight script calls (and one spare), not one per thread each time a
    # batch runs out
    assert _script_calls(client) - before <= 10
