import threading

import pytest

from drsyncer.kube.ratelimit import BatchPlan, LocalRateLimiter, RateBudget, reserve, take

BUDGET = RateBudget(qps=10, burst=5)


@pytest.mark.parametrize(
    ("tokens", "last", "now", "left", "delay"),
    [
        (5.0, 0.0, 0.0, 4.0, 0.0),  # a full bucket serves at once
        (0.5, 0.0, 0.0, -0.5, 0.05),  # half a token short: wait for it at 10/s
        (0.0, 0.0, 0.1, 0.0, 0.0),  # 0.1 s refilled exactly one token
        (-3.0, 0.0, 0.0, -4.0, 0.4),  # queued behind three reservations
        (4.0, 0.0, 100.0, 4.0, 0.0),  # refill never exceeds the burst
        (1.0, 10.0, 5.0, 0.0, 0.0),  # clock stepped back: no refill, timestamp kept
    ],
)
def test_reserve(tokens: float, last: float, now: float, left: float, delay: float) -> None:
    new_tokens, new_last, wait = reserve(tokens, last, now, BUDGET)
    assert new_tokens == pytest.approx(left)
    assert wait == pytest.approx(delay)
    assert new_last == max(now, last)


def test_budget_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        RateBudget(qps=0, burst=1)
    with pytest.raises(ValueError):
        RateBudget(qps=1, burst=0)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_local_limiter_lets_a_burst_through_then_paces_at_qps() -> None:
    clock = FakeClock()
    limiter = LocalRateLimiter(BUDGET, clock=clock, sleep=clock.sleep)
    waits = [limiter.acquire() for _ in range(25)]
    assert waits[:5] == [0.0] * 5
    assert all(w > 0 for w in waits[5:])
    # 5 from the burst, then 20 more at 10/s
    assert clock.now == pytest.approx(2.0)


def test_local_limiter_is_shared_fairly_by_threads() -> None:
    clock = FakeClock()
    limiter = LocalRateLimiter(RateBudget(qps=100, burst=1), clock=clock, sleep=lambda _s: None)
    delays: list[float] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(50):
            delay = limiter.reserve()
            with lock:
                delays.append(delay)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # with a frozen clock every reservation queues one slot (10 ms) behind the previous one
    assert sorted(delays) == pytest.approx([i * 0.01 for i in range(200)])


@pytest.mark.parametrize(
    ("tokens", "last", "now", "want", "left", "granted", "delay"),
    [
        (30.0, 0.0, 0.0, 20, 10.0, 20, 0.0),  # far from the budget: a whole batch
        (19.0, 0.0, 0.0, 20, 18.0, 1, 0.0),  # near it: one token
        (19.0, 0.0, 0.0, 10, 18.0, 1, 0.0),  # a batch would fit, but the bucket is under half full
        (0.5, 0.0, 0.0, 20, -0.5, 1, 0.005),  # short: one reserved, wait for it at 100/s
        (0.0, 0.0, 0.2, 20, 0.0, 20, 0.0),  # 0.2 s refilled exactly a batch
        (10.0, 0.0, 100.0, 20, 20.0, 20, 0.0),  # refill stops at the burst (40)
        (30.0, 10.0, 5.0, 20, 10.0, 20, 0.0),  # clock stepped back: no refill
    ],
)
def test_take(
    tokens: float, last: float, now: float, want: int, left: float, granted: int, delay: float
) -> None:
    new_tokens, new_last, got, wait = take(tokens, last, now, 100.0, 40.0, want)
    assert (new_tokens, got) == (pytest.approx(left), granted)
    assert wait == pytest.approx(delay)
    assert new_last == max(now, last)


@pytest.mark.parametrize(
    ("qps", "burst", "size", "hold_s", "shared_burst"),
    [
        (100, 20, 5, 0.1, 10.0),  # the burst limits the hold: half the burst is kept back
        (5000, 5000, 50, 0.25, 3750.0),  # far above any sender: batches of BATCH_MAX
        (50, 100, 6, 0.25, 87.5),  # the RemoteCluster default
        (100, 100, 12, 0.25, 75.0),
        (1, 3, 1, 0.0, 3.0),  # too small for batches: one token per request, the whole burst
        (10, 2, 1, 0.0, 2.0),
        (10, 10, 1, 0.0, 10.0),  # 2.5 tokens per hold: batches of one are no batches
    ],
)
def test_batch_plan_never_lets_the_fleet_above_qps_plus_burst(
    qps: float, burst: int, size: int, hold_s: float, shared_burst: float
) -> None:
    plan = BatchPlan.of(RateBudget(qps, burst))
    assert (plan.size, plan.hold_s, plan.shared_burst) == (
        size,
        pytest.approx(hold_s),
        pytest.approx(shared_burst),
    )
    # tokens spent in any one second were handed out within 1 + hold_s seconds
    assert plan.shared_burst + qps * (1 + plan.hold_s) <= qps + burst + 1e-9
    assert plan.size <= plan.shared_burst
