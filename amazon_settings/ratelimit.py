"""The client-side token bucket shared by every web and worker process, kept in the database.

Amazon meters each operation per seller; several workers on several machines must therefore
share one bucket per (seller, operation). One database row per bucket, changed inside a
transaction with the row locked, makes `take_token` atomic across processes on PostgreSQL
(`SELECT … FOR UPDATE`) and SQLite (IMMEDIATE transactions serialise writers).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db import IntegrityError, transaction

from amazon_settings.models import RateLimitBucket
from amazon_settings.spapi.ratelimit import BucketState, RateLimit, local_throttle, take_token


class DatabaseTokenBucket:
    """A `RateLimiter` whose buckets live in the `RateLimitBucket` table."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        # Wall-clock time, not monotonic: the state is compared across processes and machines.
        self._clock = clock
        self._sleep = sleep

    def _take(self, key: str, limit: RateLimit, max_wait: float) -> float:
        with transaction.atomic():
            row = RateLimitBucket.objects.select_for_update().filter(key=key).first()
            state = BucketState(row.tokens, row.updated_at) if row else None
            new_state, wait = take_token(state, limit, self._clock(), max_wait=max_wait)
            if row is None:
                RateLimitBucket.objects.create(
                    key=key, tokens=new_state.tokens, updated_at=new_state.updated_at
                )
            else:
                row.tokens, row.updated_at = new_state.tokens, new_state.updated_at
                row.save(update_fields=["tokens", "updated_at"])
        return wait

    def acquire(self, key: str, limit: RateLimit, *, max_wait: float) -> float:
        max_wait = max(0.0, max_wait)
        try:
            wait = self._take(key, limit, max_wait)
        except IntegrityError:
            # Two processes created the same new bucket at once; the row exists now.
            wait = self._take(key, limit, max_wait)
        if wait > max_wait:
            raise local_throttle(key, wait)
        if wait > 0:
            self._sleep(wait)
        return wait
