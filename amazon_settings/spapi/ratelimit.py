"""Client-side token buckets that mirror Amazon's usage plans, so we wait instead of 429.

Amazon meters each operation per seller and app with a token bucket (rate = tokens refilled
per second, burst = bucket size). ``take_token`` is that bucket as a pure function; both the
in-memory bucket here and a shared one on the Django cache use it, so they agree exactly.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from .errors import SpApiThrottled


@dataclass(frozen=True)
class RateLimit:
    """An Amazon usage plan: ``rate`` requests per second refill, ``burst`` bucket size."""

    rate: float
    burst: int


# Default usage plans from the operations' "Usage Plan" tables in Amazon's models (Reports
# 2021-06-30, Sellers v1, Tokens 2021-03-01: 1 rps / burst 10, Notifications v1); see also
# Amazon's "Usage Plans and Rate Limits" page. Amazon may grant a seller more; never less.
OPERATION_LIMITS: dict[str, RateLimit] = {
    "Sellers.getMarketplaceParticipations": RateLimit(rate=0.016, burst=15),
    "Reports.getReports": RateLimit(rate=0.0222, burst=10),
    "Reports.createReport": RateLimit(rate=0.0167, burst=15),
    "Reports.getReport": RateLimit(rate=2.0, burst=15),
    "Reports.cancelReport": RateLimit(rate=0.0222, burst=10),
    "Reports.getReportSchedules": RateLimit(rate=0.0222, burst=10),
    "Reports.createReportSchedule": RateLimit(rate=0.0222, burst=10),
    "Reports.getReportSchedule": RateLimit(rate=0.0222, burst=10),
    "Reports.cancelReportSchedule": RateLimit(rate=0.0222, burst=10),
    "Reports.getReportDocument": RateLimit(rate=0.0167, burst=15),
    "Tokens.createRestrictedDataToken": RateLimit(rate=1.0, burst=10),
    # Notifications v1: every operation 1 rps / burst 5 (the model's usage plans). The
    # grantless ones are metered per app, the others per seller.
    "Notifications.getDestinations": RateLimit(rate=1.0, burst=5),
    "Notifications.createDestination": RateLimit(rate=1.0, burst=5),
    "Notifications.getSubscription": RateLimit(rate=1.0, burst=5),
    "Notifications.createSubscription": RateLimit(rate=1.0, burst=5),
    "Notifications.deleteSubscriptionById": RateLimit(rate=1.0, burst=5),
}


@dataclass(frozen=True)
class BucketState:
    """Tokens left (may be negative: reserved by waiting callers) at clock time ``updated_at``."""

    tokens: float
    updated_at: float


def take_token(
    state: BucketState | None,
    limit: RateLimit,
    now: float,
    *,
    max_wait: float = math.inf,
) -> tuple[BucketState, float]:
    """Take one token, or say how long the caller would have to wait for one.

    Returns ``(new_state, wait_seconds)``:

    - ``wait == 0``: a token was free and is now taken; call Amazon right away;
    - ``0 < wait <= max_wait``: the token is *reserved* (``tokens`` goes below zero), so the
      caller sleeps ``wait`` seconds and then calls without asking again. Reserving keeps
      waiting callers in order and makes this one atomic step for a shared store;
    - ``wait > max_wait``: nothing is taken; ``new_state`` is only the refill. Store it or not,
      either is correct.

    A missing state is a full bucket. Pure: same input, same output.
    """
    if state is None:
        tokens = float(limit.burst)
    else:
        elapsed = max(0.0, now - state.updated_at)  # a clock that steps back refills nothing
        tokens = min(float(limit.burst), state.tokens + elapsed * limit.rate)
    if tokens >= 1.0:
        return BucketState(tokens=tokens - 1.0, updated_at=now), 0.0
    wait = (1.0 - tokens) / limit.rate
    if wait > max_wait:
        return BucketState(tokens=tokens, updated_at=now), wait
    return BucketState(tokens=tokens - 1.0, updated_at=now), wait


class RateLimiter(Protocol):
    """Something that hands out Amazon's tokens before each call.

    Implementations keep one bucket per ``key`` (the client uses limiter key + operation
    name, e.g. ``"seller:42:Reports.createReport"``) and must apply ``take_token`` atomically
    (a lock, or a compare-and-set loop on a shared cache).
    """

    def acquire(self, key: str, limit: RateLimit, *, max_wait: float) -> float:
        """Take a token, sleeping until one is free; return the seconds slept.

        Raises ``SpApiThrottled`` (status None, ``retry_after`` = the wait) without sleeping
        when the wait would exceed ``max_wait``; then no token is taken.
        """
        ...


def local_throttle(key: str, wait: float) -> SpApiThrottled:
    """The error a limiter raises when it will not wait that long; nothing was sent."""
    return SpApiThrottled(
        retry_after=wait,
        operation=key,
        code="LocalRateLimit",
    )


class InMemoryTokenBucket:
    """A ``RateLimiter`` for one process (thread-safe). Good for scripts and tests; a web app
    with several workers needs the shared, cache-backed limiter instead."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._states: dict[str, BucketState] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str, limit: RateLimit, *, max_wait: float) -> float:
        max_wait = max(0.0, max_wait)
        with self._lock:
            state, wait = take_token(self._states.get(key), limit, self._clock(), max_wait=max_wait)
            self._states[key] = state
        if wait > max_wait:
            raise local_throttle(key, wait)
        if wait > 0:
            # Sleep outside the lock: the token is already reserved for us.
            self._sleep(wait)
        return wait
