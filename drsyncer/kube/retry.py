"""When to try a failed request again, and how long to wait first.

`retry_delay` is the whole policy as a pure function of (attempt, error); the two loops below only
call it, sleep and repeat, so the policy is tested without a server or a clock:

- `call_with_retries`: one request, resent on throttling, server errors and timeouts (the client
  wraps every request in it);
- `retry_on_conflict`: a read-modify-write, run again from the read on 409. Every conflict-retrying
  writer of drsyncer goes through it: `ClusterClient.update`, the status writer, the watcher's
  patches of Replications and the sync executor's updates.

Every policy drsyncer uses is named here (`DEFAULT_POLICY`, `NO_RETRY`, `STATUS_WRITES`,
`CR_PATCHES`, `INTERACTIVE`, `WATCHER_SOURCES`, `DEMO_SEEDING`); a client carries its own for its
requests and for the executor's updates.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from drsyncer.errors import CategorisedError, Category
from drsyncer.kube.errors import AlreadyExists, ApiError, Conflict, Gone

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6  # every try counts, the first included
    base_delay_s: float = 0.2  # first backoff; doubles per attempt
    max_delay_s: float = 10.0
    max_retry_after_s: float = 30.0  # a server asking for longer is waited for this long only
    jitter: float = 0.5  # fraction of a backoff that is random, so retrying workers spread out
    conflict_attempts: int = 8  # read-modify-write rounds on 409 before giving up


@dataclass(frozen=True)
class Attempt:
    """A request's attempt made already, elsewhere (a create sent in a batch): the error it came to
    and when that came (`time.monotonic()`), so a retry waits only what is left of its pause."""

    error: CategorisedError
    at: float


DEFAULT_POLICY = RetryPolicy()
NO_RETRY = RetryPolicy(max_attempts=1, conflict_attempts=1)
# status subresource writes of many workers and the watcher race on one object: short, spread pauses
STATUS_WRITES = RetryPolicy(base_delay_s=0.05, conflict_attempts=8)
# the watcher's merge patches of a Replication (finalizer, annotations, status)
CR_PATCHES = RetryPolicy(base_delay_s=0.05, conflict_attempts=5)
# a person waiting at the command line (`drsyncer status|plan|sync-now|sync` checks): fail fast
INTERACTIVE = RetryPolicy(max_attempts=2, base_delay_s=0.2, max_delay_s=0.5)
# the watcher's source-cluster clients (namespaces, Continuous watches): the next resync tries again
WATCHER_SOURCES = RetryPolicy(max_attempts=2)
# the demo seeding simulated clusters that are still starting
DEMO_SEEDING = RetryPolicy(max_attempts=3, base_delay_s=0.2, max_delay_s=1.0)


def retry_delay(policy: RetryPolicy, attempt: int, error: BaseException, rand: float) -> float | None:
    """Seconds to wait before attempt `attempt + 1`, or None to give up.

    `attempt` counts the tries made so far (1 after the first failure); `rand` is uniform in [0, 1).
    409 Conflict is retried here only with a short pause: the caller must re-read before writing.
    """
    if not isinstance(error, ApiError) or error.category is not Category.RETRYABLE:
        return None
    if isinstance(error, Gone):
        return None  # an expired list or watch position: the caller must start over, not resend
    if isinstance(error, Conflict | AlreadyExists):
        if attempt >= policy.conflict_attempts:
            return None
        return rand * policy.base_delay_s
    if attempt >= policy.max_attempts:
        return None
    if error.retry_after is not None:
        # honour the server (capped), plus a little jitter so throttled workers do not return together
        return min(error.retry_after, policy.max_retry_after_s) + rand * policy.base_delay_s
    backoff = min(policy.max_delay_s, policy.base_delay_s * 2 ** (attempt - 1))
    return backoff * (1 - policy.jitter) + backoff * policy.jitter * rand


OnRetry = Callable[[int, ApiError, float], None]


def call_with_retries(
    operation: Callable[[], T],
    policy: RetryPolicy = DEFAULT_POLICY,
    *,
    sleep: Callable[[float], None] = time.sleep,
    rand: Callable[[], float] = random.random,
    on_retry: OnRetry | None = None,
    previous: Attempt | None = None,
    clock: Callable[[], float] = time.monotonic,
    give_up: Callable[[ApiError], bool] | None = None,
) -> T:
    """Run `operation`, retrying throttling, server errors and timeouts; never 409 (see below).

    `previous` is an attempt already made elsewhere: it counts as the first, so `operation` runs only
    if the policy would retry its error, once what is left of the pause the policy calls for after it
    has passed (`clock`); otherwise its error is raised. An error `give_up` says True of is raised at
    once, whatever the policy would do."""
    attempt = 0
    if previous is not None:
        attempt = 1
        error = previous.error
        if isinstance(error, Conflict | AlreadyExists):
            raise error
        if give_up is not None and isinstance(error, ApiError) and give_up(error):
            raise error
        delay = retry_delay(policy, attempt, error, rand())
        if delay is None or not isinstance(error, ApiError):
            raise error
        if on_retry is not None:
            on_retry(attempt, error, delay)
        left = delay - (clock() - previous.at)
        if left > 0:
            sleep(left)
    while True:
        attempt += 1
        try:
            return operation()
        except (Conflict, AlreadyExists):
            raise  # the same body would conflict again; retry_on_conflict re-reads first
        except ApiError as exc:
            delay = (
                None if give_up is not None and give_up(exc) else retry_delay(policy, attempt, exc, rand())
            )
            if delay is None:
                raise
            if on_retry is not None:
                on_retry(attempt, exc, delay)
            sleep(delay)


def retry_on_conflict(
    read_modify_write: Callable[[], T],
    policy: RetryPolicy = DEFAULT_POLICY,
    *,
    sleep: Callable[[float], None] = time.sleep,
    rand: Callable[[], float] = random.random,
) -> T:
    """Run a read-modify-write again while it fails with 409 (Conflict, or AlreadyExists from a create
    of an object that appeared meanwhile), up to `policy.conflict_attempts` runs with a short random
    pause between them; the last 409 is raised.

    `read_modify_write` must read the object fresh (or know that its last write conflicted and read
    first), rebuild the body from it and write it; `ClusterClient.update` is the usual one.
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            return read_modify_write()
        except (Conflict, AlreadyExists) as exc:
            delay = retry_delay(policy, attempt, exc, rand())
            if delay is None:
                raise
            sleep(delay)
