"""The one retry policy: what is retried, how long it waits, when it gives up."""

from __future__ import annotations

import pytest

from hub.errors import AuthError, PermanentError, RetryableError
from hub.sync.retry import NO_RETRY, RetryPolicy


class Flaky:
    """Fails with ``errors`` in turn, then returns "ok"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors, self.calls = list(errors), 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    policy = RetryPolicy(initial=0.5, cap=60.0)
    for failures, base in [(1, 0.5), (2, 1.0), (3, 2.0), (6, 16.0)]:
        assert base <= policy.delay(failures) <= base + 1.0
    assert policy.delay(20) == 60.0
    assert policy.delay(10_000) == 60.0  # no overflow


def test_retry_after_is_honoured_up_to_its_cap() -> None:
    policy = RetryPolicy(retry_after_cap=300.0)
    assert policy.delay(1, retry_after=42.0) == 42.0
    assert policy.delay(1, retry_after=10_000.0) == 300.0
    assert policy.delay(1, retry_after=None) <= 1.5
    assert RetryPolicy().delay(1, retry_after=10_000.0) == 300.0  # by default 5 * the 60 s cap
    assert RetryPolicy(cap=0.5).delay(1, retry_after=7.0) == 2.5  # a fast test policy waits little


def test_budget_is_attempts_or_seconds() -> None:
    policy = RetryPolicy(attempts=3, max_seconds=10.0)
    assert not policy.exhausted(2, 9.9)
    assert policy.exhausted(3, 0.0)
    assert policy.exhausted(1, 10.0)


def test_call_retries_only_retryable_errors_and_waits_as_told() -> None:
    waits: list[float] = []
    told: list[int] = []
    flaky = Flaky(RetryableError("503", retry_after=7.0), RetryableError("timeout"))
    result = RetryPolicy().call(flaky, on_retry=lambda n, e: told.append(n), sleep=waits.append)
    assert result == "ok" and flaky.calls == 3 and told == [1, 2]
    assert waits[0] == 7.0 and 1.0 <= waits[1] <= 2.0
    for error in (PermanentError("400"), AuthError("401"), ValueError("bug")):
        once = Flaky(error)
        with pytest.raises(type(error)):
            RetryPolicy().call(once, sleep=waits.append)
        assert once.calls == 1


def test_call_gives_up_after_its_attempts_with_the_last_error() -> None:
    flaky = Flaky(*[RetryableError(f"down {i}") for i in range(5)])
    with pytest.raises(RetryableError, match="down 2"):
        RetryPolicy(attempts=3).call(flaky, sleep=lambda s: None)
    assert flaky.calls == 3
    once = Flaky(RetryableError("down"))
    with pytest.raises(RetryableError):
        NO_RETRY.call(once, sleep=lambda s: None)
    assert once.calls == 1


def test_attempt_pause_doubles_to_a_minute() -> None:
    assert [RetryPolicy.attempt_pause(n) for n in (1, 2, 3, 4, 5, 9)] == [5.0, 10.0, 20.0, 40.0, 60.0, 60.0]
