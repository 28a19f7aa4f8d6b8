"""Token buckets: the pure ``take_token``, the in-memory limiter, and the client using it."""

from __future__ import annotations

import math
import re

import pytest

from amazon_settings.spapi import (
    OPERATION_LIMITS,
    BucketState,
    InMemoryTokenBucket,
    RateLimit,
    SpApiThrottled,
    take_token,
)

from .support import ENDPOINT

LIMIT = RateLimit(rate=0.5, burst=2)  # one token every 2 s, two at most


def test_a_new_bucket_is_full():
    state, wait = take_token(None, LIMIT, now=100.0)

    assert wait == 0.0
    assert state == BucketState(tokens=1.0, updated_at=100.0)


def test_an_empty_bucket_reserves_the_next_token_and_says_how_long():
    state, wait = take_token(BucketState(tokens=0.0, updated_at=100.0), LIMIT, now=100.0)

    assert wait == pytest.approx(2.0)
    assert state.tokens == pytest.approx(-1.0)  # reserved: the next caller queues behind

    state, wait = take_token(state, LIMIT, now=100.0)
    assert wait == pytest.approx(4.0)


def test_refill_follows_the_rate_and_stops_at_burst():
    state, wait = take_token(BucketState(tokens=0.0, updated_at=100.0), LIMIT, now=101.0)
    assert wait == pytest.approx(1.0)  # half a token refilled, half to go

    state, wait = take_token(BucketState(tokens=0.0, updated_at=100.0), LIMIT, now=1000.0)
    assert wait == 0.0
    assert state.tokens == pytest.approx(1.0)  # refilled to burst (2), then one taken


def test_too_long_a_wait_takes_nothing():
    before = BucketState(tokens=0.0, updated_at=100.0)

    state, wait = take_token(before, LIMIT, now=100.0, max_wait=1.0)

    assert wait == pytest.approx(2.0)
    assert state.tokens == pytest.approx(0.0)


def test_a_clock_stepping_back_refills_nothing():
    state, wait = take_token(BucketState(tokens=0.0, updated_at=100.0), LIMIT, now=50.0)

    assert wait == pytest.approx(2.0)
    assert state.tokens == pytest.approx(-1.0)


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_in_memory_bucket_allows_the_burst_then_waits_for_the_rate():
    fake = FakeTime()
    bucket = InMemoryTokenBucket(clock=fake.clock, sleep=fake.sleep)
    limit = RateLimit(rate=2.0, burst=3)

    waits = [bucket.acquire("seller-1:Reports.getReport", limit, max_wait=60) for _ in range(5)]

    assert waits == [0.0, 0.0, 0.0, pytest.approx(0.5), pytest.approx(0.5)]
    assert fake.sleeps == [pytest.approx(0.5), pytest.approx(0.5)]


def test_in_memory_bucket_keeps_keys_apart():
    fake = FakeTime()
    bucket = InMemoryTokenBucket(clock=fake.clock, sleep=fake.sleep)
    limit = RateLimit(rate=0.0167, burst=1)

    bucket.acquire("seller-1:Reports.createReport", limit, max_wait=0)
    bucket.acquire("seller-2:Reports.createReport", limit, max_wait=0)

    assert fake.sleeps == []


def test_in_memory_bucket_refuses_to_wait_past_max_wait():
    fake = FakeTime()
    bucket = InMemoryTokenBucket(clock=fake.clock, sleep=fake.sleep)
    limit = RateLimit(rate=0.0167, burst=1)
    bucket.acquire("k", limit, max_wait=0)

    with pytest.raises(SpApiThrottled) as caught:
        bucket.acquire("k", limit, max_wait=30)

    assert caught.value.retry_after == pytest.approx(1 / 0.0167)
    assert caught.value.status is None
    assert fake.sleeps == []
    # Nothing was reserved by the refusal: after a full refill the token is there.
    fake.now += 60
    assert bucket.acquire("k", limit, max_wait=0) == 0.0


def test_client_throttles_locally_without_calling_amazon(make_client, mocked, records):
    fake = FakeTime()
    bucket = InMemoryTokenBucket(clock=fake.clock, sleep=fake.sleep)
    client = make_client(rate_limiter=bucket, limiter_key="seller-1:", max_wait=30)
    mocked.post(f"{ENDPOINT}/reports/2021-06-30/reports", status=202, json={"reportId": "1"})
    for _ in range(15):  # createReport's burst
        client.create_report(report_type="GET_AFN_INVENTORY_DATA", marketplace_ids=["X"])
    assert len(mocked.calls) == 15

    with pytest.raises(SpApiThrottled) as caught:
        client.create_report(report_type="GET_AFN_INVENTORY_DATA", marketplace_ids=["X"])

    assert len(mocked.calls) == 15  # the 16th never left the machine
    assert len(records) == 15
    assert caught.value.operation == "Reports.createReport"
    assert str(caught.value) == (
        "Too many calls to Reports.createReport; the next one is allowed in 60 s, "
        "so it was not sent (LocalRateLimit)"
    )


def test_client_waits_for_a_token_within_max_wait(make_client, mocked):
    fake = FakeTime()
    bucket = InMemoryTokenBucket(clock=fake.clock, sleep=fake.sleep)
    client = make_client(rate_limiter=bucket, limiter_key="s:", max_wait=60)
    mocked.get(
        f"{ENDPOINT}/reports/2021-06-30/reports/1",
        json={
            "reportId": "1",
            "reportType": "T",
            "processingStatus": "IN_QUEUE",
            "createdTime": "2025-01-01T00:00:00Z",
        },
    )

    for _ in range(16):  # getReport: burst 15, then 2 per second
        client.get_report("1")

    assert fake.sleeps == [pytest.approx(0.5)]


def _usage_plan(operation: dict) -> RateLimit:
    match = re.search(r"\|\s*([0-9.]+)\s*\|\s*([0-9]+)\s*\|", operation["description"])
    assert match, operation["operationId"]
    return RateLimit(rate=float(match.group(1)), burst=int(match.group(2)))


def test_operation_limits_match_the_models_usage_plans(
    reports_model, sellers_model, tokens_model, notifications_model
):
    expected = {}
    for prefix, model in (
        ("Reports", reports_model),
        ("Sellers", sellers_model),
        ("Tokens", tokens_model),
        ("Notifications", notifications_model),
    ):
        for operations in model["paths"].values():
            for operation in operations.values():
                if isinstance(operation, dict) and "operationId" in operation:
                    expected[f"{prefix}.{operation['operationId']}"] = _usage_plan(operation)

    for name, limit in OPERATION_LIMITS.items():
        assert name in expected, name
        assert math.isclose(limit.rate, expected[name].rate), name
        assert limit.burst == expected[name].burst, name
    # Every Reports operation is covered (the client implements them all).
    assert {n for n in expected if n.startswith("Reports.")} <= set(OPERATION_LIMITS)
