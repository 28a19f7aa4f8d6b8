"""Reads about seller accounts: the connection status computed from evidence, the push
status, the call log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connections, router
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from amazon_settings.models import (
    AUTHORIZATION_LIFETIME,
    AUTHORIZATION_WARNING,
    ApiCall,
    PushSubscription,
    SellerAccount,
)
from core.stored_texts import translate_stored
from core.templatetags.moments import moment

Status = SellerAccount.Status


@dataclass(frozen=True)
class ConnectionStatus:
    """What Settings and the banner say about an account, with the one action that fixes it."""

    key: str
    label: str
    tone: str  # a Bootstrap colour: success, warning, danger, secondary
    explanation: str
    action: str  # "renew", "test", "rotate_secret", "connect", "disconnect" or ""
    action_label: str

    @property
    def needs_attention(self) -> bool:
        return self.tone in {"warning", "danger"}


def format_moment(at: datetime | None) -> str:
    """A moment in the user's time zone for use inside sentences ("never" for None), as the
    pages print moments (core's `moment` filter)."""
    if at is None:
        return _("never")
    return moment(timezone.localtime(at))


def connection_status(account: SellerAccount, *, now: datetime | None = None) -> ConnectionStatus:
    """The account's status, from the strongest evidence: the last call's outcome, then expiry."""
    now = now or timezone.now()
    status = account.status
    if status == Status.DISCONNECTED or not account.has_token:
        return ConnectionStatus(
            "disconnected",
            _("Disconnected"),
            "secondary",
            _(
                "This account has no Amazon authorization; nothing is imported. "
                "Connect it again to resume."
            ),
            "renew",
            _("Connect again"),
        )
    if status == Status.SELLER_MISMATCH:
        return ConnectionStatus(
            "seller_mismatch",
            _("Wrong seller ID"),
            "danger",
            translate_stored(account.status_detail)
            or _(
                "Amazon's notifications for this authorization come from another seller: the "
                "account was connected under a wrong seller ID. Disconnect it and connect the "
                "seller again through Amazon's consent page."
            ),
            "disconnect",
            _("Disconnect"),
        )
    if status == Status.CLIENT_REJECTED:
        return ConnectionStatus(
            "client_rejected",
            _("App credentials rejected"),
            "danger",
            _(
                "Login with Amazon rejected this installation's client ID or secret "
                "(Amazon expects the secret to be rotated every 180 days). An operator must set "
                "the new LWA_CLIENT_SECRET from Seller Central, then test the connection."
            ),
            "test",
            _("Test connection"),
        )
    if status == Status.AUTHORIZATION_REVOKED:
        return ConnectionStatus(
            "authorization_revoked",
            _("Authorization revoked"),
            "danger",
            _(
                "Amazon no longer accepts this account's authorization (it was revoked in Seller "
                "Central or has lapsed). Renew access: you will confirm it on Amazon's consent "
                "page."
            ),
            "renew",
            _("Renew access"),
        )
    if status == Status.ACCESS_DENIED:
        detail = translate_stored(account.status_detail) or _("Amazon denied access.")
        return ConnectionStatus(
            "access_denied",
            _("Access denied"),
            "danger",
            _(
                "%(detail)s The app lacks a role for this call, or the authorization is missing. "
                "Renew access to grant the app's current roles."
            )
            % {"detail": detail},
            "renew",
            _("Renew access"),
        )
    if status == Status.UNREACHABLE:
        return ConnectionStatus(
            "unreachable",
            _("Amazon unreachable"),
            "warning",
            _(
                "The last call to Amazon failed at %(at)s: %(error)s. The worker keeps trying; "
                "test the connection to check now."
            )
            % {
                "at": format_moment(account.last_attempt_at),
                "error": translate_stored(account.last_error) or _("no answer"),
            },
            "test",
            _("Test connection"),
        )
    expires_at = account.authorization_expires_at
    if expires_at is not None:
        remaining = expires_at - now
        if remaining.total_seconds() <= 0:
            return ConnectionStatus(
                "expired",
                _("Authorization expired"),
                "danger",
                _(
                    "The authorization expired on %(at)s (Amazon asks for renewal every 365 "
                    "days). Renew access to resume the import."
                )
                % {"at": format_moment(expires_at)},
                "renew",
                _("Renew access"),
            )
        if remaining <= AUTHORIZATION_WARNING:
            days = max(1, remaining.days)
            return ConnectionStatus(
                "expiring",
                ngettext(
                    "Authorization expires in %(days)d day",
                    "Authorization expires in %(days)d days",
                    days,
                )
                % {"days": days},
                "warning",
                _(
                    "Amazon requires renewing the authorization every 365 days; it ends on "
                    "%(at)s. Renew access now to avoid a gap in imported orders."
                )
                % {"at": format_moment(expires_at)},
                "renew",
                _("Renew access"),
            )
    if status == Status.NEVER_CHECKED or account.last_success_at is None:
        return ConnectionStatus(
            "never_checked",
            _("Never checked"),
            "secondary",
            _("No call to Amazon has been made with this authorization yet. Test the connection."),
            "test",
            _("Test connection"),
        )
    return ConnectionStatus(
        "connected",
        _("Connected"),
        "success",
        _("Amazon accepted the last call at %(at)s.")
        % {"at": format_moment(account.last_success_at)},
        "",
        "",
    )


# The stored statuses whose connection status is a warning or an error whatever the expiry.
# Derived from the refused statuses, so that a status added there is named by the banner too.
_ATTENTION_STATUSES = tuple(
    sorted((SellerAccount.REFUSED_STATUSES - {Status.DISCONNECTED}) | {Status.UNREACHABLE})
)


def accounts_needing_attention() -> list[tuple[SellerAccount, ConnectionStatus]]:
    """Accounts the banner names: connected ones whose status is a warning or an error."""
    # Every page shows the banner: read only the accounts that can need attention (a refused
    # or unreachable one, or one whose authorization expires within the warning), not the
    # whole fleet; connection_status() still decides.
    now = timezone.now()
    candidates = SellerAccount.objects.exclude(status=Status.DISCONNECTED).filter(
        Q(status__in=_ATTENTION_STATUSES)
        | Q(authorized_at__lte=now + AUTHORIZATION_WARNING - AUTHORIZATION_LIFETIME)
    )
    result = []
    for account in candidates:
        status = connection_status(account, now=now)
        if status.needs_attention:
            result.append((account, status))
    return result


def api_call_list(
    *,
    account: SellerAccount | None = None,
    operation: str = "",
    outcome: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[ApiCall]:
    calls = ApiCall.objects.select_related("account")
    if account is not None:
        calls = calls.filter(account=account)
    if operation:
        calls = calls.filter(operation=operation)
    if outcome == "errors":
        calls = calls.exclude(outcome=ApiCall.Outcome.SUCCESS)
    elif outcome:
        calls = calls.filter(outcome=outcome)
    if since is not None:
        calls = calls.filter(at__gte=since)
    if until is not None:
        calls = calls.filter(at__lt=until)
    return calls


def logged_operations() -> list[str]:
    """The operations the log holds calls of, each once, sorted: the log filter's choices.

    One index lookup per operation: each step asks the `apicall_operation_at` index for the
    first operation after the one before, where `DISTINCT` read every logged call (200,000
    calls: a parallel scan on every view of the log).
    """
    connection = connections[router.db_for_read(ApiCall)]
    quote = connection.ops.quote_name
    table, column = (
        quote(ApiCall._meta.db_table),
        quote(ApiCall._meta.get_field("operation").column),
    )
    # Only quoted names go into the text. A recursive query, because neither database skips
    # through an index from one value to the next on its own.
    sql = (
        "WITH RECURSIVE found (operation) AS ("  # noqa: S608
        f" SELECT MIN({column}) FROM {table}"
        f" UNION ALL SELECT (SELECT MIN({column}) FROM {table} WHERE {column} > found.operation)"
        " FROM found WHERE found.operation IS NOT NULL"
        ") SELECT operation FROM found WHERE operation IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [operation for (operation,) in cursor.fetchall()]


@dataclass(frozen=True)
class PushStatus:
    """What Settings says about an account's push notifications, and which way its switch
    turns ("on", "off", or "" when there is nothing to switch)."""

    key: str
    label: str
    tone: str
    explanation: str
    last_notification_at: datetime | None = None
    switch: str = ""


def duration_words(seconds: int) -> str:
    """`seconds` in words for a sentence: "5 minutes", "1 minute", "90 seconds"."""
    if seconds % 60:
        return ngettext("%(count)d second", "%(count)d seconds", seconds) % {"count": seconds}
    minutes = seconds // 60
    return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}


def push_status(account: SellerAccount) -> PushStatus:
    """The account's push state for Settings, from its `PushSubscription` (read as
    `account.push`, so select it with the account)."""
    check = _("the worker's check every %(interval)s") % {
        "interval": duration_words(settings.WORKER_INTERVAL_SECONDS)
    }
    if not settings.PUSH_SQS_QUEUE_URL:
        return PushStatus(
            "unconfigured",
            _("Push not set up"),
            "secondary",
            _(
                "This installation has no notification queue: finished reports are found by "
                "%(check)s. An operator can set one up (PUSH_SQS_QUEUE_URL, see the README)."
            )
            % {"check": check},
        )
    try:
        subscription = account.push
    except PushSubscription.DoesNotExist:
        subscription = None
    state = subscription.state if subscription is not None else PushSubscription.State.PENDING
    last = subscription.last_notification_at if subscription is not None else None
    reason = subscription.reason if subscription is not None else ""
    if state == PushSubscription.State.OFF:
        return PushStatus(
            "off",
            _("Push off"),
            "secondary",
            _("Switched off: finished reports are found by %(check)s.") % {"check": check}
            + (f" {reason}" if reason else ""),
            last,
            "on",
        )
    if state == PushSubscription.State.ACTIVE:
        return PushStatus(
            "active",
            _("Push active"),
            "success",
            _(
                "Amazon tells this dashboard as soon as a report is finished, and it is imported "
                "at once; %(check)s stays as the safety net."
            )
            % {"check": check},
            last,
            "off",
        )
    if state == PushSubscription.State.FAILING:
        return PushStatus(
            "failing",
            _("Push is not working"),
            "warning",
            translate_stored(reason)
            or _("Finished reports are found by %(check)s.") % {"check": check},
            last,
            "off",
        )
    return PushStatus(
        "pending",
        _("Push: subscribing"),
        "info",
        reason
        or _("Subscribing to Amazon's notifications; until then %(check)s finds reports.")
        % {"check": check},
        last,
        "off",
    )
