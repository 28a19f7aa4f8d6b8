"""The test call of "Orders missing?", made by the worker so that no page waits for Amazon.

A page asks for a test (`request_connection_test`); the worker makes it
(`run_connection_test`, the same calls as Settings' "Test connection") and stores Amazon's
answers on the account's `ConnectionTest` row, which the page polls. Many pages opened at once
share one test: a test finished less than `FRESH_FOR` ago is reused, and one that is queued or
running is not queued again. Both rules are a guarded `UPDATE` on the row, so two processes
asking at the same moment queue one test between them.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_q.tasks import async_task

from amazon_settings import services as account_services
from amazon_settings.exceptions import AmazonSettingsError
from amazon_settings.models import SellerAccount
from amazon_settings.services import ConnectionCheck
from reports.models import ConnectionTest
from reports.stored_texts import translate_stored

State = ConnectionTest.State

# How long Amazon's answers stand for every page that opens: pages opened within this time
# show the same test instead of calling Amazon again.
FRESH_FOR = timedelta(seconds=60)
# How long a queued test waits for the worker to start it before the page says the worker did
# not answer. The worker picks a task up within seconds unless it is stopped or swamped.
PICKUP_WITHIN = timedelta(seconds=60)


def running_bound() -> timedelta:
    """The longest a started test can take: a token refresh, then two calls, each with its
    retries, their timeouts and the longest wait for the rate limiter. Later, the worker that
    started it has stopped."""
    per_call = (
        settings.SPAPI_INTERACTIVE_RETRIES + 1
    ) * settings.SPAPI_TIMEOUT_SECONDS + settings.SPAPI_MAX_WAIT_SECONDS
    return timedelta(seconds=settings.SPAPI_TIMEOUT_SECONDS + 2 * per_call)


def answer_due_by(test: ConnectionTest) -> datetime | None:
    """When the worker should have answered a queued or running test; None once finished."""
    if test.state == State.QUEUED:
        return test.requested_at + PICKUP_WITHIN
    if test.state == State.RUNNING and test.started_at is not None:
        return test.started_at + running_bound()
    return None


def _may_be_replaced(now: datetime) -> Q:
    """The rows a new test may replace: finished and no longer fresh, or unanswered past the
    time `answer_due_by` gives (the same rule, as a filter)."""
    return (
        Q(state=State.FINISHED, finished_at__lt=now - FRESH_FOR)
        | Q(state=State.QUEUED, requested_at__lt=now - PICKUP_WITHIN)
        | Q(state=State.RUNNING, started_at__lt=now - running_bound())
    )


def _hand_out(test_id: int, run_id: str) -> None:
    transaction.on_commit(
        lambda: async_task(
            "reports.tasks.run_connection_test", test_id, run_id, group="connection_test"
        )
    )


def request_connection_test(
    account: SellerAccount, *, now: datetime | None = None
) -> ConnectionTest | None:
    """The account's current test: a fresh or pending one as it is, else a new one queued for
    the worker. Never calls Amazon. None when the account has no authorization to test.

    Safe under concurrency: of many simultaneous callers, one queues the test (the row's unique
    account on the first test, a guarded UPDATE afterwards) and the others get that test.
    """
    if not account.has_token:
        return None
    now = now or timezone.now()
    run_id = secrets.token_hex(8)
    test, created = ConnectionTest.objects.get_or_create(
        account=account, defaults={"run_id": run_id, "requested_at": now}
    )
    if created:
        _hand_out(test.pk, run_id)
        return test
    replaced = (
        ConnectionTest.objects.filter(pk=test.pk)
        .filter(_may_be_replaced(now))
        .update(
            state=State.QUEUED,
            run_id=run_id,
            requested_at=now,
            started_at=None,
            finished_at=None,
            results=[],
        )
    )
    if replaced:
        _hand_out(test.pk, run_id)
    test.refresh_from_db()
    return test


def run_connection_test(test_id: int, run_id: str) -> ConnectionTest | None:
    """The worker's part: make the test calls and store Amazon's answers on the row.

    Idempotent: only the queued test of this `run_id` is run, so a task delivered twice, or one
    for a test that a newer request replaced, does nothing (and returns None). The calls record
    their outcome on the account, as "Test connection" does.
    """
    started = ConnectionTest.objects.filter(pk=test_id, run_id=run_id, state=State.QUEUED).update(
        state=State.RUNNING, started_at=timezone.now()
    )
    if not started:
        return None
    test = ConnectionTest.objects.select_related("account").get(pk=test_id)
    try:
        checks = account_services.check_connection(test.account)
    except AmazonSettingsError as error:
        # Raised before any call, e.g. a stored token the configured keys cannot decrypt: the
        # page shows the sentence instead of waiting for an answer that never comes.
        checks = [ConnectionCheck("Authorization", False, str(error))]
    ConnectionTest.objects.filter(pk=test_id, run_id=run_id, state=State.RUNNING).update(
        state=State.FINISHED,
        finished_at=timezone.now(),
        results=[asdict(check) for check in checks],
    )
    test.refresh_from_db()
    return test


def connection_checks(test: ConnectionTest) -> list[ConnectionCheck]:
    """The finished test's answers, one per call, as the diagnosis checks read them."""
    if test.state != State.FINISHED:
        return []
    # The worker wrote the answers in English: each in the reader's language where it is ours.
    return [
        ConnectionCheck(**{**result, "message": translate_stored(result["message"])})
        for result in test.results
    ]
