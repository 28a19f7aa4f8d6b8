"""Reads about seller accounts: the connection status computed from evidence, the push
status, the call log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.formats import date_format

from amazon_settings.models import (
    AUTHORIZATION_WARNING,
    ApiCall,
    PushSubscription,
    SellerAccount,
)

Status = SellerAccount.Status


@dataclass(frozen=True)
class ConnectionStatus:
    """What Settings and the banner say about an account, with the one action that fixes it."""

    key: str
    label: str
    tone: str  # a Bootstrap colour: success, warning, danger, secondary
    explanation: str
    action: str  # "renew", "test", "rotate_secret", "connect" or ""
    action_label: str

    @property
    def needs_attention(self) -> bool:
        return self.tone in {"warning", "danger"}


def format_moment(moment: datetime | None) -> str:
    """A moment in the user's time zone for use inside sentences ("never" for None)."""
    if moment is None:
        return "never"
    # An unambiguous format that does not end in a period ("a.m.") inside a sentence.
    return date_format(timezone.localtime(moment), "Y-m-d H:i")


def connection_status(account: SellerAccount, *, now: datetime | None = None) -> ConnectionStatus:
    """The account's status, from the strongest evidence: the last call's outcome, then expiry."""
    now = now or timezone.now()
    status = account.status
    if status == Status.DISCONNECTED or not account.has_token:
        return ConnectionStatus(
            "disconnected",
            "Disconnected",
            "secondary",
            "This account has no Amazon authorization; nothing is imported. "
            "Connect it again to resume.",
            "renew",
            "Connect again",
        )
    if status == Status.CLIENT_REJECTED:
        return ConnectionStatus(
            "client_rejected",
            "App credentials rejected",
            "danger",
            "Login with Amazon rejected this installation's client ID or secret "
            "(Amazon expects the secret to be rotated every 180 days). An operator must set the "
            "new LWA_CLIENT_SECRET from Seller Central, then test the connection.",
            "test",
            "Test connection",
        )
    if status == Status.AUTHORIZATION_REVOKED:
        return ConnectionStatus(
            "authorization_revoked",
            "Authorization revoked",
            "danger",
            "Amazon no longer accepts this account's authorization (it was revoked in Seller "
            "Central or has lapsed). Renew access: you will confirm it on Amazon's consent page.",
            "renew",
            "Renew access",
        )
    if status == Status.ACCESS_DENIED:
        detail = account.status_detail or "Amazon denied access."
        return ConnectionStatus(
            "access_denied",
            "Access denied",
            "danger",
            f"{detail} The app lacks a role for this call, or the authorization is missing. "
            "Renew access to grant the app's current roles.",
            "renew",
            "Renew access",
        )
    if status == Status.UNREACHABLE:
        return ConnectionStatus(
            "unreachable",
            "Amazon unreachable",
            "warning",
            f"The last call to Amazon failed at {format_moment(account.last_attempt_at)}: "
            f"{account.last_error or 'no answer'}. The worker keeps trying; test the connection "
            "to check now.",
            "test",
            "Test connection",
        )
    expires_at = account.authorization_expires_at
    if expires_at is not None:
        remaining = expires_at - now
        if remaining.total_seconds() <= 0:
            return ConnectionStatus(
                "expired",
                "Authorization expired",
                "danger",
                f"The authorization expired on {format_moment(expires_at)} (Amazon asks for "
                "renewal every 365 days). Renew access to resume the import.",
                "renew",
                "Renew access",
            )
        if remaining <= AUTHORIZATION_WARNING:
            days = max(1, remaining.days)
            return ConnectionStatus(
                "expiring",
                f"Authorization expires in {days} day{'s' if days != 1 else ''}",
                "warning",
                f"Amazon requires renewing the authorization every 365 days; it ends on "
                f"{format_moment(expires_at)}. Renew access now to avoid a gap in imported orders.",
                "renew",
                "Renew access",
            )
    if status == Status.NEVER_CHECKED or account.last_success_at is None:
        return ConnectionStatus(
            "never_checked",
            "Never checked",
            "secondary",
            "No call to Amazon has been made with this authorization yet. Test the connection.",
            "test",
            "Test connection",
        )
    return ConnectionStatus(
        "connected",
        "Connected",
        "success",
        f"Amazon accepted the last call at {format_moment(account.last_success_at)}.",
        "",
        "",
    )


def accounts_needing_attention() -> list[tuple[SellerAccount, ConnectionStatus]]:
    """Accounts the banner names: connected ones whose status is a warning or an error."""
    result = []
    for account in SellerAccount.objects.exclude(status=Status.DISCONNECTED):
        status = connection_status(account)
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
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = seconds // 60
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def push_status(account: SellerAccount) -> PushStatus:
    """The account's push state for Settings, from its `PushSubscription` (read as
    `account.push`, so select it with the account)."""
    check = f"the worker's check every {duration_words(settings.WORKER_INTERVAL_SECONDS)}"
    if not settings.PUSH_SQS_QUEUE_URL:
        return PushStatus(
            "unconfigured",
            "Push not set up",
            "secondary",
            f"This installation has no notification queue: finished reports are found by {check}. "
            "An operator can set one up (PUSH_SQS_QUEUE_URL, see the README).",
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
            "Push off",
            "secondary",
            f"Switched off: finished reports are found by {check}."
            + (f" {reason}" if reason else ""),
            last,
            "on",
        )
    if state == PushSubscription.State.ACTIVE:
        return PushStatus(
            "active",
            "Push active",
            "success",
            "Amazon tells this dashboard as soon as a report is finished, and it is imported at "
            f"once; {check} stays as the safety net.",
            last,
            "off",
        )
    if state == PushSubscription.State.FAILING:
        return PushStatus(
            "failing",
            "Push is not working",
            "warning",
            reason or f"Finished reports are found by {check}.",
            last,
            "off",
        )
    return PushStatus(
        "pending",
        "Push: subscribing",
        "info",
        reason or f"Subscribing to Amazon's notifications; until then {check} finds reports.",
        last,
        "off",
    )
