"""The retry policy: which errors are retried, how long to wait between tries, and when to give up.

Every caller that retries a connector uses this one policy. Only a transient connector error
(``RetryableError``) is retried. The wait after the n-th error in a row is ``initial`` * 2^(n-1) seconds
plus up to 1 s of jitter, at most ``cap``, and never less than the server's Retry-After (itself capped
at ``retry_after_cap``, by default 5 * ``cap``). Retries stop after ``attempts`` errors in a row or
``max_seconds`` without progress, whichever comes first.

    policy = RetryPolicy.from_env()                 # HUB_SYNC_RETRY_ATTEMPTS, HUB_SYNC_RETRY_MAX_SECONDS
    policy.delay(3, retry_after=10.0)               # -> 10.0 (the server asked for more than 2.5 s + jitter)
    policy.exhausted(streak=8, waited=12.0)         # -> True: 8 errors in a row
    records = policy.call(lambda: list(fetch()))    # within one call: sleep and try again, then re-raise

A sync run does not wait in its worker: the runner asks ``delay`` and ``exhausted`` and lets the run wait
(status ``retrying``). Callers that must finish within one call (org-unit sync, ``Runner.execute``) use
``call``. An attempt that ends (crash, or retries spent) is queued again after ``attempt_pause``.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, stop_after_delay

from hub.errors import RetryableError

T = TypeVar("T")

#: The longest Retry-After an HTTP answer is read as (hub.sync.http_errors), in seconds: a server asking for
#: longer (or naming a date far ahead) gets this. The default policy honours as much (5 * its 60 s cap).
RETRY_AFTER_CAP = 300.0


@dataclass(frozen=True)
class RetryPolicy:
    """How transient connector errors are retried (see the module docstring)."""

    attempts: int = 8
    max_seconds: float = 600.0
    initial: float = 0.5
    cap: float = 60.0
    #: The longest Retry-After honoured; None: 5 * ``cap`` (300 s for the default cap).
    retry_after_cap: float | None = None

    @classmethod
    def from_env(cls) -> RetryPolicy:
        """The default policy, with HUB_SYNC_RETRY_ATTEMPTS and HUB_SYNC_RETRY_MAX_SECONDS where they are set."""
        default = cls()
        return cls(attempts=int(os.environ.get("HUB_SYNC_RETRY_ATTEMPTS", default.attempts)),
                   max_seconds=float(os.environ.get("HUB_SYNC_RETRY_MAX_SECONDS", default.max_seconds)))

    def delay(self, failures: int, retry_after: float | None = None) -> float:
        """Seconds to wait after the ``failures``-th error in a row (backoff with jitter, or Retry-After)."""
        try:
            backoff = self.initial * 2 ** (failures - 1) + random.uniform(0, 1)
        except OverflowError:
            backoff = self.cap
        longest = self.cap * 5 if self.retry_after_cap is None else self.retry_after_cap
        return max(min(backoff, self.cap), min(float(retry_after or 0.0), longest))

    def exhausted(self, streak: int, waited: float) -> bool:
        """Whether ``streak`` errors in a row over ``waited`` seconds without progress spend the budget."""
        return streak >= self.attempts or waited >= self.max_seconds

    @staticmethod
    def retryable(exc: BaseException) -> bool:
        """Whether ``exc`` is worth another try: only a transient connector error is."""
        return isinstance(exc, RetryableError)

    def call(self, fn: Callable[[], T], *, on_retry: Callable[[int, RetryableError], None] | None = None,
             sleep: Callable[[float], None] = time.sleep) -> T:
        """``fn()``, tried again after each RetryableError while the budget lasts (tenacity); the last error
        is re-raised.

        ``on_retry(n, error)`` is told before the n-th wait (to count or log the retry).
        """
        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            if on_retry is not None and isinstance(exc, RetryableError):
                on_retry(state.attempt_number, exc)

        retrying = Retrying(retry=retry_if_exception_type(RetryableError), wait=self._wait, sleep=sleep,
                            stop=stop_after_attempt(self.attempts) | stop_after_delay(self.max_seconds),
                            before_sleep=before_sleep, reraise=True)
        return retrying(fn)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        return self.delay(state.attempt_number, getattr(exc, "retry_after", None))

    @staticmethod
    def attempt_pause(attempts: int) -> float:
        """Seconds before the next attempt of a run whose ``attempts``-th attempt ended: 5, doubling, at most 60."""
        return min(5.0 * 2 ** max(attempts - 1, 0), 60.0)


#: One try and no wait: outbound runs write once per step, and a transient write error ends the step.
NO_RETRY = RetryPolicy(attempts=1)
