import pytest

from drsyncer.kube.errors import ApiError
from drsyncer.kube.retry import Attempt, RetryPolicy, call_with_retries, retry_delay, retry_on_conflict

POLICY = RetryPolicy(
    max_attempts=4, base_delay_s=0.1, max_delay_s=0.3, max_retry_after_s=5.0, jitter=0.5, conflict_attempts=3
)


def err(status: int, reason: str = "", retry_after: float | None = None) -> ApiError:
    return ApiError(status, reason or f"S{status}", "", retry_after=retry_after)


@pytest.mark.parametrize(
    ("attempt", "error", "rand", "expected"),
    [
        # exponential backoff with half of it jittered: base * 2**(attempt-1) * (0.5 + 0.5 * rand)
        (1, err(500), 0.0, 0.05),
        (1, err(500), 1.0, 0.1),
        (2, err(503), 0.0, 0.1),
        (3, err(504), 1.0, 0.3),  # capped at max_delay_s
        (1, err(0, "Timeout"), 0.0, 0.05),
        (1, err(0, "ConnectionError"), 1.0, 0.1),
        # Retry-After is honoured, plus up to one base delay of jitter, capped
        (1, err(429, retry_after=2.0), 0.0, 2.0),
        (1, err(429, retry_after=2.0), 1.0, 2.1),
        (1, err(429, retry_after=60.0), 0.0, 5.0),
        (1, err(429), 0.0, 0.05),  # no Retry-After: plain backoff
        # conflicts: a short pause, counted against conflict_attempts
        (1, err(409, "Conflict"), 0.5, 0.05),
        (2, err(409, "AlreadyExists"), 0.0, 0.0),
        (3, err(409, "Conflict"), 0.0, None),
        # out of attempts
        (4, err(500), 0.0, None),
        # never retried
        (1, err(0, "TLSError"), 0.0, None),
        (1, err(400), 0.0, None),
        (1, err(401), 0.0, None),
        (1, err(403), 0.0, None),
        (1, err(404), 0.0, None),
        (1, err(422, "Invalid"), 0.0, None),
        (1, err(410, "Expired"), 0.0, None),  # the list must start over
        (1, ValueError("not an API error"), 0.0, None),
    ],
)
def test_retry_policy(attempt: int, error: BaseException, rand: float, expected: float | None) -> None:
    delay = retry_delay(POLICY, attempt, error, rand)
    if expected is None:
        assert delay is None
    else:
        assert delay == pytest.approx(expected)


def test_call_with_retries_sleeps_between_attempts_and_returns_the_result() -> None:
    outcomes: list[object] = [err(429, retry_after=1.0), err(500), "ok"]
    slept: list[float] = []

    def operation() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return str(outcome)

    assert call_with_retries(operation, POLICY, sleep=slept.append, rand=lambda: 0.0) == "ok"
    assert slept == pytest.approx([1.0, 0.1])  # second failure: twice the base delay, half jittered


def test_call_with_retries_gives_up_after_the_last_attempt() -> None:
    calls = []

    def operation() -> None:
        calls.append(1)
        raise err(503)

    with pytest.raises(ApiError):
        call_with_retries(operation, POLICY, sleep=lambda _s: None)
    assert len(calls) == POLICY.max_attempts


def test_call_with_retries_leaves_conflicts_to_the_caller() -> None:
    calls = []

    def operation() -> None:
        calls.append(1)
        raise err(409, "Conflict")

    with pytest.raises(ApiError):
        call_with_retries(operation, POLICY, sleep=lambda _s: None)
    assert len(calls) == 1


def test_retry_on_conflict_runs_the_read_modify_write_again() -> None:
    rounds = []

    def read_modify_write() -> int:
        rounds.append(1)
        if len(rounds) < 3:
            raise err(409, "Conflict")
        return len(rounds)

    assert retry_on_conflict(read_modify_write, RetryPolicy(conflict_attempts=5), sleep=lambda _s: None) == 3


def test_retry_on_conflict_does_not_retry_other_errors() -> None:
    def read_modify_write() -> None:
        raise err(500)

    with pytest.raises(ApiError) as raised:
        retry_on_conflict(read_modify_write, POLICY, sleep=lambda _s: None)
    assert raised.value.status == 500


def test_call_with_retries_goes_on_from_an_attempt_made_elsewhere_as_its_first() -> None:
    calls = []
    slept: list[float] = []

    def operation() -> None:
        calls.append(1)
        raise err(503)

    # its 429 asked for a second's pause, of which 0.75 s have passed since it came
    previous = Attempt(err(429, retry_after=1.0), at=100.0)
    with pytest.raises(ApiError):
        call_with_retries(
            operation, POLICY, sleep=slept.append, rand=lambda: 0.0, previous=previous, clock=lambda: 100.75
        )
    # the batch's attempt counts: the policy's attempts in all, the first pause what is left of its own
    assert len(calls) == POLICY.max_attempts - 1
    assert slept[0] == pytest.approx(0.25)


@pytest.mark.parametrize("previous", [err(422, "Invalid"), err(409, "AlreadyExists"), err(403, "Forbidden")])
def test_call_with_retries_raises_an_earlier_attempts_error_the_policy_does_not_retry(
    previous: ApiError,
) -> None:
    calls = []
    with pytest.raises(ApiError) as raised:
        call_with_retries(
            lambda: calls.append(1), POLICY, sleep=lambda _s: None, previous=Attempt(previous, 0.0)
        )
    assert raised.value is previous and not calls
