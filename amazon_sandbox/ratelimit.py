"""Token buckets per (seller, region, operation), with Amazon's published rates and bursts.

In memory behind a lock: the sandbox is one server process, and a restart refilling every bucket
is what a client would see after waiting anyway. Buckets refill on a virtual clock (monotonic
time times SANDBOX_TIME_FACTOR, plus the sandbox clock offset), so advancing the sandbox clock
refills them as waiting would.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class UsagePlan:
    """An operation's published usage plan. `rate` is the header text, e.g. "0.0167"."""

    rate: str
    burst: int

    @property
    def per_second(self) -> float:
        return float(self.rate)


# The usage plans in Amazon's API models: Reports 2021-06-30, Sellers v1, for restricted
# reports Tokens 2021-03-01, and Notifications v1.
USAGE_PLANS: dict[str, UsagePlan] = {
    "getMarketplaceParticipations": UsagePlan("0.016", 15),
    "getReports": UsagePlan("0.0222", 10),
    "createReport": UsagePlan("0.0167", 15),
    "getReport": UsagePlan("2.0", 15),
    "cancelReport": UsagePlan("0.0222", 10),
    "getReportSchedules": UsagePlan("0.0222", 10),
    "createReportSchedule": UsagePlan("0.0222", 10),
    "getReportSchedule": UsagePlan("0.0222", 10),
    "cancelReportSchedule": UsagePlan("0.0222", 10),
    "getReportDocument": UsagePlan("0.0167", 15),
    "createRestrictedDataToken": UsagePlan("1.0", 10),
    # Notifications v1: the grantless operations are metered per app, the others per seller.
    "getDestinations": UsagePlan("1.0", 5),
    "createDestination": UsagePlan("1.0", 5),
    "getSubscription": UsagePlan("1.0", 5),
    "createSubscription": UsagePlan("1.0", 5),
    "getSubscriptionById": UsagePlan("1.0", 5),
    "deleteSubscriptionById": UsagePlan("1.0", 5),
}


class RateLimiter:
    """Thread-safe token buckets keyed by (seller, region, operation); full when first used."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str, str], tuple[float, float]] = {}

    def take(self, *, seller: str, region: str, operation: str, offset_seconds: float) -> bool:
        """Take one token; False when the bucket is empty (the caller answers 429)."""
        plan = USAGE_PLANS[operation]
        at = time.monotonic() * settings.SANDBOX_TIME_FACTOR + offset_seconds
        key = (seller, region, operation)
        with self._lock:
            tokens, last = self._buckets.get(key, (float(plan.burst), at))
            # max(): a reset clock offset must not drain a bucket.
            tokens = min(float(plan.burst), tokens + max(0.0, at - last) * plan.per_second)
            if tokens < 1:
                self._buckets[key] = (tokens, at)
                return False
            self._buckets[key] = (tokens - 1, at)
            return True

    def reset(self) -> None:
        """Forget every bucket (all full again)."""
        with self._lock:
            self._buckets.clear()


limiter = RateLimiter()
