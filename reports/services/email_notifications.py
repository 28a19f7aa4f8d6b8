"""E-mail notifications: tell the people who opted in when something needs them.

The conditions (`EmailCondition`) are the accounts' authorization expiring in 30, 7 and 1 days,
revoked or denied (or found to be another seller's: connected under a wrong seller ID), a report
failed or held, and the background worker silent for an hour.
`send_due_notifications` looks at what holds now, names each occurrence with a key (the account
and its expiry date, the report and when it entered its state, the heartbeat's last moment),
and mails every active user who opted in and has an address, in their language, once per
occurrence: the unique `SentNotification(user, key)` is claimed before the mail goes out and
stamped after, so running the pass twice, or two passes at once, mails once. A mail server
that fails is logged without the address or any credential, and the mail is tried again at
the next pass.

It lives in `reports` because its conditions come from `amazon_settings` (accounts) and from
the report state machine; the preference model lives beside it (`reports.models`) for the same
reason. The user's language comes from `core` (`UserPreference.language`) when it is there.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from amazon_settings.models import AUTHORIZATION_LIFETIME, SellerAccount
from reports.catalog import kind_for_report_type
from reports.models import (
    EmailCondition,
    NotificationPreference,
    Report,
    SentNotification,
    WorkerHeartbeat,
)
from reports.selectors import Recipient, notification_recipients

logger = logging.getLogger(__name__)

# Days before the authorization expires at which its holders are told, the nearest first.
EXPIRY_WARNING_DAYS = (1, 7, 30)
REFUSED_STATUSES = (
    SellerAccount.Status.AUTHORIZATION_REVOKED,
    SellerAccount.Status.ACCESS_DENIED,
    # Not Amazon's refusal, but as urgent, and its fix is the seller's too: its own mail.
    SellerAccount.Status.SELLER_MISMATCH,
)
# A report that failed or was held longer ago than this is not mailed any more: turning the
# notifications on must not bring a mail for every report that ever failed.
REPORT_LOOK_BACK = timedelta(days=1)
WORKER_SILENT_AFTER = timedelta(hours=1)


@dataclass(frozen=True)
class Occurrence:
    """One occurrence of a condition: what the mail says, and the page that fixes it."""

    condition: str
    key: str
    template: str
    subject: Promise
    url_name: str
    url_args: tuple[Any, ...] = ()
    context: dict[str, Any] = field(default_factory=dict)

    def subject_line(self) -> str:
        """The subject in the active language, on one line."""
        return " ".join((self.subject % self.context).split())


@dataclass(frozen=True)
class NotificationPass:
    sent: int
    failed: int


def notification_language(user: AbstractBaseUser) -> str:
    """The language a user reads their mails in: their chosen one, else the site's."""
    return getattr(getattr(user, "preference", None), "language", "") or settings.LANGUAGE_CODE


def _stamp(moment: datetime | None) -> str:
    return moment.strftime("%Y%m%dT%H%M%S") if moment else "-"


def account_occurrences(*, now: datetime) -> list[Occurrence]:
    """The accounts whose authorization expires soon, or was revoked or denied, or that were
    connected under a wrong seller ID (one query)."""
    found = []
    # Only the authorizations inside the widest warning, so the rows read stay few.
    expiring = Q(
        authorized_at__gt=now - AUTHORIZATION_LIFETIME,
        authorized_at__lte=now + timedelta(days=max(EXPIRY_WARNING_DAYS)) - AUTHORIZATION_LIFETIME,
    )
    for account in SellerAccount.objects.connected().filter(
        Q(status__in=REFUSED_STATUSES) | expiring
    ):
        context = {"account": account.display_name, "account_id": account.selling_partner_id}
        if account.status == SellerAccount.Status.SELLER_MISMATCH:
            found.append(
                Occurrence(
                    condition=EmailCondition.AUTHORIZATION_REFUSED,
                    key=f"seller-mismatch:{account.pk}:{_stamp(account.status_changed_at)}",
                    template="seller_mismatch",
                    subject=_("%(account)s was connected under a wrong seller ID"),
                    url_name="amazon_settings:settings",
                    context={**context, "detail": account.status_detail},
                )
            )
            continue
        if account.status in REFUSED_STATUSES:
            found.append(
                Occurrence(
                    condition=EmailCondition.AUTHORIZATION_REFUSED,
                    key=(
                        f"auth-refused:{account.pk}:{account.status}:"
                        f"{_stamp(account.status_changed_at)}"
                    ),
                    template="authorization_refused",
                    subject=_("Amazon refused access to %(account)s"),
                    url_name="amazon_settings:settings",
                    context={
                        **context,
                        # Lazy: the label is rendered in each reader's language, not this pass's.
                        "status": SellerAccount.Status(account.status).label,
                        "detail": account.status_detail,
                    },
                )
            )
            continue
        if account.status in SellerAccount.REFUSED_STATUSES:
            continue  # disconnected or the app's credentials: nothing this seller can renew
        expires = account.authorization_expires_at
        left = expires - now
        if left <= timedelta(0):
            continue
        for days in EXPIRY_WARNING_DAYS:
            if left <= timedelta(days=days):
                found.append(
                    Occurrence(
                        condition=EmailCondition.AUTHORIZATION_EXPIRING,
                        key=f"auth-expiring-{days}:{account.pk}:{expires.date().isoformat()}",
                        template="authorization_expiring",
                        subject=_expiry_subject(left),
                        url_name="amazon_settings:settings",
                        context={**context, "days": left.days, "expires_at": expires},
                    )
                )
                break
    return found


def _expiry_subject(left: timedelta) -> Promise:
    if left < timedelta(days=1):
        return _("The authorization of %(account)s expires within a day")
    return ngettext_lazy(
        "The authorization of %(account)s expires in %(days)d day",
        "The authorization of %(account)s expires in %(days)d days",
        "days",
    )


def report_occurrences(*, now: datetime) -> list[Occurrence]:
    """The reports that failed or were held within `REPORT_LOOK_BACK` (one query)."""
    found = []
    reports = Report.objects.filter(
        import_status__in=(Report.ImportStatus.FAILED, Report.ImportStatus.HELD),
        updated_at__gte=now - REPORT_LOOK_BACK,
    ).select_related("account")
    for report in reports:
        held = report.import_status == Report.ImportStatus.HELD
        kind = kind_for_report_type(report.report_type)
        found.append(
            Occurrence(
                condition=EmailCondition.REPORT_FAILED,
                # A report that is reset and fails again is a new occurrence: it left the state.
                key=f"report-{report.import_status}:{report.pk}:{_stamp(report.updated_at)}",
                template="report_held" if held else "report_failed",
                subject=_("A report of %(account)s is held for your confirmation")
                if held
                else _("A report of %(account)s failed"),
                url_name="reports:detail",
                url_args=(report.pk,),
                context={
                    "account": report.account.display_name,
                    "report_name": kind.name if kind else report.report_type,
                    "report_type": report.report_type,
                    "reason": report.last_error,
                    "failure_reason": report.get_failure_reason_display(),
                    "since": report.updated_at,
                },
            )
        )
    return found


def worker_occurrences(*, now: datetime) -> list[Occurrence]:
    """The background worker, when its heartbeat is older than an hour (one query). A worker
    that never ran is a new installation, not a silent one."""
    heartbeat = WorkerHeartbeat.objects.filter(name=WorkerHeartbeat.WORKER).first()
    if heartbeat is None or heartbeat.last_seen_at > now - WORKER_SILENT_AFTER:
        return []
    return [
        Occurrence(
            condition=EmailCondition.WORKER_SILENT,
            key=f"worker-silent:{_stamp(heartbeat.last_seen_at)}",
            template="worker_silent",
            subject=_("The background worker has stopped"),
            url_name="home",
            context={"last_seen_at": heartbeat.last_seen_at},
        )
    ]


def due_occurrences(*, now: datetime) -> list[Occurrence]:
    """Every occurrence that holds at `now`, mailed or not: three queries, however many
    accounts and reports there are."""
    return [
        *account_occurrences(now=now),
        *report_occurrences(now=now),
        *worker_occurrences(now=now),
    ]


def absolute_url(url_name: str, *args: Any) -> str:
    """A link for a mail: SITE_URL and the page's path."""
    return settings.SITE_URL + reverse(url_name, args=args)


def render_notification(
    occurrence: Occurrence, *, user: AbstractBaseUser, connection: Any = None
) -> EmailMultiAlternatives:
    """The mail about `occurrence` for `user`: subject, plain text and HTML in their language."""
    language = notification_language(user)
    with translation.override(language):
        context = {
            **occurrence.context,
            "user": user,
            "url": absolute_url(occurrence.url_name, *occurrence.url_args),
            "profile_url": absolute_url("profile"),
        }
        subject = occurrence.subject_line()
        text = render_to_string(f"emails/{occurrence.template}.txt", context)
        html = render_to_string(f"emails/{occurrence.template}.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        to=[user.email],
        connection=connection,
        headers={"Content-Language": language},
    )
    message.attach_alternative(html, "text/html")
    return message


def _claim(user: AbstractBaseUser, occurrence: Occurrence, *, now: datetime) -> int | None:
    """Take the (user, key) pair for this pass: the id of its row, or None when another pass
    holds it or the mail was sent."""
    try:
        with transaction.atomic():
            row = SentNotification.objects.create(
                user=user, key=occurrence.key, condition=occurrence.condition, claimed_at=now
            )
        return row.pk
    except IntegrityError:
        stale = SentNotification.objects.filter(
            user=user,
            key=occurrence.key,
            sent_at__isnull=True,
            claimed_at__lte=now - timedelta(seconds=SentNotification.CLAIM_SECONDS),
        )
        taken = stale.values_list("pk", flat=True).first()
        if taken and stale.filter(pk=taken).update(claimed_at=now):
            return taken
        return None


def _release(row_id: int) -> None:
    SentNotification.objects.filter(pk=row_id, sent_at__isnull=True).delete()


def send_due_notifications(*, now: datetime | None = None) -> NotificationPass:
    """Mail each occurrence that holds now to every opted-in active user with an address who
    was not mailed about it yet. Idempotent: a second pass sends nothing new.

    Never raises for a mail that could not go out: it is logged (without the address), its
    claim is released and the next pass tries again. When the mail server itself fails (not
    answering, refusing the login) the pass stops there, so a dead server costs one timeout
    (EMAIL_TIMEOUT) per pass, not one per mail.
    """
    now = now or timezone.now()
    occurrences = due_occurrences(now=now)
    if not occurrences:
        return NotificationPass(sent=0, failed=0)
    recipients = notification_recipients()
    wanted = [
        (recipient, occurrence)
        for occurrence in occurrences
        for recipient in recipients
        if occurrence.condition in recipient.conditions
    ]
    if not wanted:
        return NotificationPass(sent=0, failed=0)
    claim_cutoff = now - timedelta(seconds=SentNotification.CLAIM_SECONDS)
    done = set(
        SentNotification.objects.filter(key__in={occurrence.key for _, occurrence in wanted})
        .filter(Q(sent_at__isnull=False) | Q(claimed_at__gt=claim_cutoff))
        .values_list("user_id", "key")
    )
    due = [(r, o) for r, o in wanted if (r.user.pk, o.key) not in done]
    if not due:
        return NotificationPass(sent=0, failed=0)
    return _send(due, now=now)


def _send(due: list[tuple[Recipient, Occurrence]], *, now: datetime) -> NotificationPass:
    sent = failed = 0
    connection = get_connection(fail_silently=False)
    try:
        for recipient, occurrence in due:
            row_id = _claim(recipient.user, occurrence, now=now)
            if row_id is None:
                continue
            try:
                render_notification(occurrence, user=recipient.user, connection=connection).send()
            except smtplib.SMTPRecipientsRefused as error:
                # This address only: the others may still go out.
                _release(row_id)
                failed += 1
                _log_failure(occurrence, recipient, error)
                continue
            except Exception as error:  # a mail must never stop the worker
                _release(row_id)
                failed += 1
                _log_failure(occurrence, recipient, error)
                if isinstance(error, smtplib.SMTPException | OSError):
                    break  # the server itself: the rest waits for the next pass
                continue
            SentNotification.objects.filter(pk=row_id).update(sent_at=now)
            sent += 1
    finally:
        try:
            connection.close()
        except Exception:  # closing a broken connection
            logger.debug("Closing the mail connection failed", exc_info=False)
    return NotificationPass(sent=sent, failed=failed)


def _log_failure(occurrence: Occurrence, recipient: Recipient, error: Exception) -> None:
    # The error's class and text (the server's answer), never the settings it was sent with:
    # no password, no address (personal data); the user is named by id.
    logger.warning(
        "E-mail notification %s to user %s not sent, trying again at the next pass: %s: %s",
        occurrence.key,
        recipient.user.pk,
        type(error).__name__,
        str(error)[:300],
    )


def update_notification_preference(
    user: AbstractBaseUser,
    *,
    email: str,
    conditions: frozenset[str] | set[str],
    acting_user: AbstractBaseUser,
) -> NotificationPreference:
    """Set the user's e-mail address and the conditions they are mailed about (the rest off).
    Transactional; the caller validated the address."""
    unknown = set(conditions) - set(EmailCondition.values)
    if unknown:
        raise ValueError(f"Unknown notification conditions: {sorted(unknown)}")
    with transaction.atomic():
        if user.email != email:
            user.email = email
            user.save(update_fields=["email"])
        preference, _created = NotificationPreference.objects.update_or_create(
            user=user, defaults={value: value in conditions for value in EmailCondition.values}
        )
    logger.info(
        "E-mail notifications of user %s set by user %s: %s",
        user.pk,
        acting_user.pk,
        ", ".join(sorted(conditions)) or "none",
    )
    return preference
