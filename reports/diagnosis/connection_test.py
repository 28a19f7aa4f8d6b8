"""What "Orders missing?" says about its test call to Amazon: still waiting for the worker,
Amazon's answers, or that the worker did not answer and what to do about it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils.translation import gettext as _

from amazon_settings.models import SellerAccount
from amazon_settings.selectors import format_moment
from amazon_settings.services import ConnectionCheck
from reports.diagnosis.imports import WORKER_HOW_TO
from reports.diagnosis.results import format_age
from reports.models import ConnectionTest
from reports.selectors import worker_last_seen
from reports.services.connection_tests import PICKUP_WITHIN, answer_due_by, connection_checks

WAITING = "waiting"
FINISHED = "finished"
NO_ANSWER = "no-answer"


@dataclass(frozen=True)
class ConnectionTestStatus:
    """The page's view of the account's `ConnectionTest`."""

    test: ConnectionTest
    state: str  # WAITING, FINISHED or NO_ANSWER
    checks: list[ConnectionCheck] = field(default_factory=list)
    # With NO_ANSWER: what happened, and how to get the worker going.
    no_answer: str = ""
    how_to: str = ""

    @property
    def waiting(self) -> bool:
        return self.state == WAITING


def account_connection_test(account: SellerAccount) -> ConnectionTest | None:
    """The account's test, if there is one to show: none without an authorization to test."""
    if not account.has_token:
        return None
    return ConnectionTest.objects.filter(account=account).first()


def _worker_seen(now: datetime) -> str:
    last_seen = worker_last_seen()
    if last_seen is None:
        return _("The worker has never run on this installation.")
    return _("The worker was last seen %(moment)s (%(age)s ago).") % {
        "moment": format_moment(last_seen),
        "age": format_age(now - last_seen),
    }


def connection_test_status(
    test: ConnectionTest | None, *, now: datetime
) -> ConnectionTestStatus | None:
    """Where the test stands for a page rendered `now`; None without a test (no authorization).

    A test the worker has not answered by `answer_due_by` is given up on for this page, so that
    it does not wait forever: the page says so and how to start the worker.
    """
    if test is None:
        return None
    if test.state == ConnectionTest.State.FINISHED:
        return ConnectionTestStatus(test, FINISHED, connection_checks(test))
    due_by = answer_due_by(test)
    if due_by is None or now <= due_by:
        return ConnectionTestStatus(test, WAITING)
    if test.state == ConnectionTest.State.QUEUED:
        what = _(
            "The background worker did not start the test call asked for at %(moment)s within "
            "%(age)s: it is not running, or too busy."
        ) % {"moment": format_moment(test.requested_at), "age": format_age(PICKUP_WITHIN)}
    else:
        what = _(
            "The background worker started the test call at %(moment)s but did not finish it: "
            "it may have stopped."
        ) % {"moment": format_moment(test.started_at)}
    return ConnectionTestStatus(
        test,
        NO_ANSWER,
        no_answer=_("%(what)s %(worker)s The checks below use what was recorded before.")
        % {"what": what, "worker": _worker_seen(now)},
        how_to=_("%(how_to)s Then click Check again.") % {"how_to": WORKER_HOW_TO},
    )
