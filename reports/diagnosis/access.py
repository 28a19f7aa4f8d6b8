"""The checks of Amazon's side: is the authorization there and valid, which operations Amazon
denies, when the authorization expires, and how often Amazon throttles."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, Max
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from amazon_settings.models import ApiCall, SellerAccount
from amazon_settings.selectors import connection_status, format_moment
from amazon_settings.services import ConnectionCheck
from reports.diagnosis.results import (
    OK,
    PROBLEM,
    WARNING,
    Check,
    Evidence,
    Fix,
    format_age,
    renew_fix,
)

THROTTLE_LOOK_BACK = timedelta(hours=24)
DENIAL_LOOK_BACK = timedelta(days=7)


def _test_fix(account: SellerAccount) -> Fix:
    return Fix(_("Test connection"), reverse("amazon_settings:test_connection", args=[account.pk]))


def check_authorization(
    account: SellerAccount, *, tests: list[ConnectionCheck], now: datetime
) -> Check:
    """Guide §1: is there an authorization, and does Amazon accept it right now?"""
    status = connection_status(account, now=now)
    evidence = [
        Evidence(
            _("%(operation)s: %(message)s")
            % {"operation": test.operation, "message": test.message},
            OK if test.ok else PROBLEM,
        )
        for test in tests
    ]
    evidence.append(
        Evidence(
            _("Connection status: %(status)s. %(explanation)s")
            % {"status": status.label, "explanation": status.explanation}
        )
    )
    if not account.has_token:
        return Check(
            "authorization",
            _("Authorization present and valid"),
            PROBLEM,
            _("No Amazon authorization is stored for this account: Amazon blocks every request."),
            tuple(evidence),
            (renew_fix(account),),
        )
    if status.key == "seller_mismatch":
        return Check(
            "authorization",
            _("Authorization present and valid"),
            PROBLEM,
            status.explanation,
            tuple(evidence),
            (
                Fix(
                    _("Open Settings"),
                    f"{reverse('amazon_settings:settings')}#account-{account.pk}",
                    method="get",
                ),
            ),
        )
    if status.key in {"authorization_revoked", "client_rejected", "disconnected", "expired"} or (
        tests and not tests[0].ok and status.tone == "danger"
    ):
        fixes = (renew_fix(account) if status.action == "renew" else _test_fix(account),)
        return Check(
            "authorization",
            _("Authorization present and valid"),
            PROBLEM,
            _("Amazon does not accept the authorization: %(status)s.") % {"status": status.label},
            tuple(evidence),
            fixes,
        )
    if status.key == "unreachable":
        return Check(
            "authorization",
            _("Authorization present and valid"),
            WARNING,
            _("Amazon could not be reached; the authorization could not be checked."),
            tuple(evidence),
            (_test_fix(account),),
        )
    if tests and tests[0].ok:
        summary = _("Amazon accepted a test call with this account's authorization.")
    elif account.last_success_at is None:
        # Shown while the worker's test call is on its way for an account never called yet.
        summary = _("No call to Amazon has been made with this authorization yet.")
    else:
        summary = _("Amazon accepted the last call at %(moment)s.") % {
            "moment": format_moment(account.last_success_at)
        }
    return Check(
        "authorization", _("Authorization present and valid"), OK, summary, tuple(evidence)
    )


def denied_operations(account: SellerAccount, *, now: datetime) -> dict[str, tuple[int, datetime]]:
    """Operations whose latest calls Amazon denied (403): operation → (denials, last denial).

    Only denials since the last grant and within a week count, and an operation that succeeded
    after its last denial is fine again.
    """
    since = now - DENIAL_LOOK_BACK
    if account.authorized_at and account.authorized_at > since:
        since = account.authorized_at
    calls = ApiCall.objects.filter(account=account, at__gte=since)
    denied = {
        row["operation"]: (row["n"], row["last"])
        for row in calls.filter(outcome=ApiCall.Outcome.DENIED)
        .values("operation")
        .annotate(n=Count("pk"), last=Max("at"))
    }
    successes = dict(
        calls.filter(outcome=ApiCall.Outcome.SUCCESS, operation__in=list(denied))
        .values("operation")
        .annotate(last=Max("at"))
        .values_list("operation", "last")
    )
    return {
        operation: value
        for operation, value in denied.items()
        if successes.get(operation) is None or successes[operation] < value[1]
    }


def check_access_rights(
    account: SellerAccount, *, tests: list[ConnectionCheck], now: datetime
) -> Check:
    """Guide §1-2: "Access to Reports … is denied": which operations Amazon refuses."""
    denied = denied_operations(account, now=now)
    evidence = [
        Evidence(
            ngettext(
                "%(operation)s: denied %(count)s time, last at %(moment)s.",
                "%(operation)s: denied %(count)s times, last at %(moment)s.",
                count,
            )
            % {"operation": operation, "count": count, "moment": format_moment(last)},
            PROBLEM,
            url=f"{reverse('amazon_settings:log')}?account={account.pk}&outcome=denied",
        )
        for operation, (count, last) in sorted(denied.items())
    ]
    failed_tests = [t for t in tests if not t.ok and "denied" in t.message.lower()]
    for test in failed_tests:
        if not any(test.operation.endswith(op.split(".")[-1]) for op in denied):
            evidence.append(
                Evidence(
                    _("%(operation)s (test call): %(message)s")
                    % {"operation": test.operation, "message": test.message},
                    PROBLEM,
                )
            )
    if evidence:
        return Check(
            "access_rights",
            _("Access rights"),
            PROBLEM,
            _(
                "Amazon denies this app some operations: it lacks a role for them or the "
                "authorization is missing. Renewing access grants the app's current roles."
            ),
            tuple(evidence),
            (renew_fix(account),),
        )
    granted = [t.operation for t in tests if t.ok]
    return Check(
        "access_rights",
        _("Access rights"),
        OK,
        _("Amazon denied no call in the last week. Granted in the test: %(operations)s.")
        % {"operations": ", ".join(granted)}
        if granted
        else _("Amazon denied no call in the last week."),
    )


def check_expiry(account: SellerAccount, *, now: datetime) -> Check:
    """Guide §2: the authorization lasts 365 days and must be renewed before it ends."""
    expires_at = account.authorization_expires_at
    if expires_at is None:
        return Check(
            "expiry",
            _("Authorization expiry"),
            WARNING if account.has_token else PROBLEM,
            _(
                "The date access was granted is unknown, so its expiry is too. Renew access to "
                "start a fresh 365 days."
            ),
            fixes=(renew_fix(account),),
        )
    remaining = expires_at - now
    evidence = (
        Evidence(
            _("Granted or renewed: %(moment)s") % {"moment": format_moment(account.authorized_at)}
        ),
    )
    if remaining <= timedelta(0):
        return Check(
            "expiry",
            _("Authorization expiry"),
            PROBLEM,
            _("The authorization expired on %(moment)s.") % {"moment": format_moment(expires_at)},
            evidence,
            (renew_fix(account),),
        )
    if remaining <= timedelta(days=30):
        return Check(
            "expiry",
            _("Authorization expiry"),
            WARNING,
            _("The authorization expires in %(age)s, on %(moment)s.")
            % {"age": format_age(remaining), "moment": format_moment(expires_at)},
            evidence,
            (renew_fix(account),),
        )
    return Check(
        "expiry",
        _("Authorization expiry"),
        OK,
        ngettext(
            "The authorization is valid until %(moment)s (%(days)s day).",
            "The authorization is valid until %(moment)s (%(days)s days).",
            remaining.days,
        )
        % {"moment": format_moment(expires_at), "days": remaining.days},
        evidence,
    )


def check_throttling(account: SellerAccount, *, now: datetime) -> Check:
    """Calls Amazon answered with 429 in the last 24 hours."""
    rows = (
        ApiCall.objects.filter(
            account=account, outcome=ApiCall.Outcome.THROTTLED, at__gte=now - THROTTLE_LOOK_BACK
        )
        .values("operation")
        .annotate(n=Count("pk"), last=Max("at"))
        .order_by("-n")
    )
    evidence = tuple(
        Evidence(
            ngettext(
                "%(operation)s: throttled %(count)s time, last at %(moment)s.",
                "%(operation)s: throttled %(count)s times, last at %(moment)s.",
                row["n"],
            )
            % {
                "operation": row["operation"],
                "count": row["n"],
                "moment": format_moment(row["last"]),
            },
            WARNING,
            url=f"{reverse('amazon_settings:log')}?account={account.pk}&outcome=throttled",
        )
        for row in rows
    )
    if not evidence:
        return Check(
            "throttling",
            _("Throttling"),
            OK,
            _("Amazon throttled no call in the last 24 hours."),
        )
    return Check(
        "throttling",
        _("Throttling"),
        WARNING,
        _(
            "Amazon throttled calls in the last 24 hours. The worker waits and retries on its "
            "own; if it happens often, another tool may share this account's quota."
        ),
        evidence,
        (
            Fix(
                _("Why"),
                method="",
                text=_(
                    "Each operation has a rate per account; requesting many ranges at once, or "
                    "other tools using the same seller account, use the same quota."
                ),
            ),
        ),
    )
