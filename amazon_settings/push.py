"""Push: each connected account's subscription to Amazon's REPORT_PROCESSING_FINISHED
notifications, delivered to this installation's SQS queue (`notification_queue`).

The services that write `PushSubscription`: subscribe an account (on connection and renewal, in
the background; again from the worker's push pass when that failed, and once a day to verify
that Amazon still has it), switch push off or on for an account (Settings), note that a
notification arrived, and mark push as not working when a finished report's notification
never came (`reports.services.push_health` finds those). The destination (the queue, as Amazon
knows it) is made once per region with the app's grantless token; the subscription with the
seller's authorization.

Amazon's and the queue's failures never escape `subscribe_account`: they are recorded on the
row, with the reason, and retried by the worker's push pass. The worker's check every
WORKER_INTERVAL_SECONDS goes on whatever push does: it is the safety net.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from amazon_settings import notification_queue, services
from amazon_settings.exceptions import (
    AccountNotConnected,
    NotificationQueueUnavailable,
    PushNotConfigured,
)
from amazon_settings.models import NotificationDestination, PushSubscription, SellerAccount
from amazon_settings.selectors import duration_words
from amazon_settings.spapi import (
    SpApiClient,
    SpApiError,
    SpApiRequestError,
    SpApiTransientError,
    Subscription,
)

logger = logging.getLogger(__name__)

NOTIFICATION_TYPE = "REPORT_PROCESSING_FINISHED"
State = PushSubscription.State
Cause = PushSubscription.Cause

# An active subscription is confirmed with Amazon once a day (someone may have deleted it).
VERIFY_EVERY = timedelta(days=1)
# After a transient failure: 1, 2, 4 … minutes, at most an hour. After Amazon refused: an hour.
RETRY_FIRST = timedelta(minutes=1)
RETRY_MOST = timedelta(hours=1)
# A notification moves `last_notification_at` at most this often (one write per message
# would be thousands an hour for the report types nobody imports).
LAST_NOTIFICATION_STEP = timedelta(minutes=1)


def _next_second(moment: datetime) -> datetime:
    """The first whole second not before `moment`. Amazon gives a report's end in whole
    seconds: a report that ended in the second push became active may have ended before it."""
    whole = moment.replace(microsecond=0)
    return whole if whole == moment else whole + timedelta(seconds=1)


def _retry_after(attempts: int) -> timedelta:
    return min(RETRY_MOST, RETRY_FIRST * 2 ** max(0, attempts - 1))


def ensure_destination(region: str) -> NotificationDestination:
    """Amazon's destination for our queue in the region: the stored one, else one found with
    getDestinations after a 409, else a new one (createDestination). Grantless. Raises
    PushNotConfigured, NotificationQueueUnavailable or SpApiError."""
    arn = notification_queue.queue_arn()
    stored = NotificationDestination.objects.filter(region=region, sqs_arn=arn).first()
    if stored is not None:
        return stored
    client = services.app_client(region)
    try:
        destination_id = client.create_destination(
            name=settings.PUSH_DESTINATION_NAME, sqs_arn=arn
        ).destination_id
    except SpApiRequestError as error:
        if error.status != 409:
            raise
        # Made earlier by an installation that lost the answer (or its database).
        destination_id = next(
            (d.destination_id for d in client.get_destinations() if d.sqs_arn == arn), ""
        )
        if not destination_id:
            raise
    stored, _unused = NotificationDestination.objects.get_or_create(
        region=region, sqs_arn=arn, defaults={"destination_id": destination_id}
    )
    return stored


def _create_subscription(
    account: SellerAccount, destination_id: str, *, retries: int
) -> Subscription:
    def create(client: SpApiClient) -> Subscription:
        try:
            return client.create_subscription(NOTIFICATION_TYPE, destination_id=destination_id)
        except SpApiRequestError as error:
            existing = client.get_subscription(NOTIFICATION_TYPE) if error.status == 409 else None
            if existing is None:
                raise
            return existing

    return services.call_amazon(account, create, retries=retries)


def _write(subscription: PushSubscription, *, now: datetime, **fields: object) -> bool:
    """Store `fields` on the row unless the seller switched push off meanwhile (the switch
    wins over a subscription made in the background). Returns whether it was written."""
    if "state" in fields and fields["state"] != subscription.state:
        fields["changed_at"] = now
    written = (
        PushSubscription.objects.filter(pk=subscription.pk)
        .exclude(state=State.OFF)
        .update(**fields)
    )
    if written:
        for name, value in fields.items():
            setattr(subscription, name, value)
    return bool(written)


def subscribe_account(account: SellerAccount, *, retries: int = 0) -> PushSubscription:
    """Make sure Amazon pushes the account's REPORT_PROCESSING_FINISHED notifications to our
    queue, and record the outcome on its `PushSubscription`: ACTIVE, or PENDING with the
    reason and a retry time (Amazon or the queue did not answer), or FAILING with Amazon's
    reason (it refused). Idempotent: an existing subscription to our destination is kept; one
    to another destination is replaced. Leaves a switched-off account alone. A row that push
    marked not working stays so when Amazon still has the subscription: only a notification
    proves that one arrives. Raises PushNotConfigured when there is no queue."""
    if not notification_queue.push_configured():
        raise PushNotConfigured(
            _("Push is not set up on this installation: set PUSH_SQS_QUEUE_URL (see the README).")
        )
    subscription, _unused = PushSubscription.objects.get_or_create(account=account)
    now = timezone.now()
    if subscription.state == State.OFF:
        return subscription
    if not account.is_usable:
        _write(
            subscription,
            now=now,
            reason="Waits until access to this account is renewed.",
            next_attempt_at=None,
        )
        return subscription
    created = False
    try:
        destination = ensure_destination(account.region)
        current = services.call_amazon(
            account, lambda client: client.get_subscription(NOTIFICATION_TYPE), retries=retries
        )
        if current is not None and current.destination_id != destination.destination_id:
            services.app_client(account.region, retries=retries).delete_subscription_by_id(
                NOTIFICATION_TYPE, current.subscription_id
            )
            current = None
        if current is None:
            current = _create_subscription(account, destination.destination_id, retries=retries)
            created = True
    except (SpApiTransientError, NotificationQueueUnavailable) as error:
        attempts = subscription.attempts + 1
        _write(
            subscription,
            now=now,
            attempts=attempts,
            reason=f"{error} Push is tried again later.",
            next_attempt_at=now + _retry_after(attempts),
        )
        return subscription
    except (SpApiError, AccountNotConnected) as error:
        logger.warning("Push subscription for %s refused: %s", account, error)
        _write(
            subscription,
            now=now,
            state=State.FAILING,
            cause=Cause.REFUSED,
            reason=(
                f"Amazon refused the notifications subscription: {error} Orders still arrive "
                f"through the worker's check every "
                f"{duration_words(settings.WORKER_INTERVAL_SECONDS)}."
            ),
            attempts=subscription.attempts + 1,
            next_attempt_at=now + RETRY_MOST,
        )
        return subscription
    fields: dict[str, object] = {
        "subscription_id": current.subscription_id,
        "destination_id": destination.destination_id,
        "attempts": 0,
        "next_attempt_at": now + VERIFY_EVERY,
    }
    still_silent = subscription.state == State.FAILING and subscription.cause == Cause.SILENT
    if created or not still_silent:
        fields.update(state=State.ACTIVE, cause=Cause.NONE, reason="")
        if created or subscription.state != State.ACTIVE or subscription.active_since is None:
            fields["active_since"] = _next_second(now)
    if not _write(subscription, now=now, **fields) and created:
        # Switched off while we subscribed: the push pass deletes what we just made.
        PushSubscription.objects.filter(pk=subscription.pk, state=State.OFF).update(
            subscription_id=current.subscription_id, next_attempt_at=now
        )
    return subscription


def delete_switched_off(subscription: PushSubscription) -> PushSubscription:
    """Tell Amazon to stop the notifications of a switched-off account (deleteSubscriptionById,
    grantless); retried by the push pass when Amazon does not answer. Idempotent."""
    now = timezone.now()
    if subscription.state != State.OFF:
        return subscription
    if subscription.subscription_id:
        try:
            services.app_client(subscription.account.region).delete_subscription_by_id(
                NOTIFICATION_TYPE, subscription.subscription_id
            )
        except SpApiRequestError as error:
            if error.status != 404:  # 404: Amazon has no such subscription any more
                return _retry_switch_off(subscription, error, now=now)
        except (SpApiError, PushNotConfigured) as error:
            return _retry_switch_off(subscription, error, now=now)
    PushSubscription.objects.filter(pk=subscription.pk, state=State.OFF).update(
        subscription_id="", next_attempt_at=None, reason="", attempts=0
    )
    subscription.subscription_id, subscription.next_attempt_at = "", None
    subscription.reason, subscription.attempts = "", 0
    return subscription


def _retry_switch_off(
    subscription: PushSubscription, error: Exception, *, now: datetime
) -> PushSubscription:
    attempts = subscription.attempts + 1
    reason = f"Amazon could not be told yet to stop the notifications ({error}); tried again later."
    PushSubscription.objects.filter(pk=subscription.pk, state=State.OFF).update(
        attempts=attempts, reason=reason[:1000], next_attempt_at=now + _retry_after(attempts)
    )
    subscription.attempts, subscription.reason = attempts, reason[:1000]
    return subscription


def set_push(
    account: SellerAccount, *, active: bool, acting_user: AbstractBaseUser | None
) -> PushSubscription:
    """Settings' push switch. On: subscribe now (a person waits, so a transient error is
    retried inside the call) and return the outcome. Off: stop at Amazon now, or later from
    the push pass. Either way the worker's check every interval goes on. Raises
    PushNotConfigured, or AccountNotConnected when switching on an account without access."""
    if not notification_queue.push_configured():
        raise PushNotConfigured(
            _("Push is not set up on this installation: set PUSH_SQS_QUEUE_URL (see the README).")
        )
    if active and not account.has_token:
        raise AccountNotConnected(
            _("%(account)s is not connected to Amazon. Renew access first.")
            % {"account": account.display_name}
        )
    now = timezone.now()
    subscription, _unused = PushSubscription.objects.get_or_create(account=account)
    PushSubscription.objects.filter(pk=subscription.pk).update(
        state=State.PENDING if active else State.OFF,
        cause=Cause.NONE,
        reason="",
        attempts=0,
        changed_at=now,
        next_attempt_at=now,
    )
    subscription.refresh_from_db()
    logger.info(
        "Push for %s switched %s by %s",
        account,
        "on" if active else "off",
        getattr(acting_user, "pk", None),
    )
    if active:
        return subscribe_account(account, retries=settings.SPAPI_INTERACTIVE_RETRIES)
    return delete_switched_off(subscription)


def repair_subscriptions(*, now: datetime | None = None, limit: int = 100) -> int:
    """The worker's push pass over the accounts: usable accounts without a subscription get
    one, and every row that is due is looked at again (subscribe, retry, verify, or delete a
    switched-off subscription at Amazon). Costs one query when nothing is due, however many
    accounts there are. Returns how many rows were looked at."""
    if not notification_queue.push_configured():
        return 0
    now = now or timezone.now()
    usable = SellerAccount.objects.usable()
    PushSubscription.objects.bulk_create(
        [
            PushSubscription(account=account, next_attempt_at=now)
            for account in usable.filter(push__isnull=True)
        ],
        ignore_conflicts=True,
    )
    due = (
        PushSubscription.objects.select_related("account")
        .filter(next_attempt_at__lte=now)
        .filter(Q(account__in=usable) | Q(state=State.OFF))
        .order_by("next_attempt_at", "pk")[:limit]
    )
    looked_at = 0
    for subscription in due:
        if subscription.state == State.OFF:
            delete_switched_off(subscription)
        else:
            subscribe_account(subscription.account)
        looked_at += 1
    return looked_at


def note_notification(*, selling_partner_id: str, at: datetime) -> None:
    """A notification for the seller arrived: note when (at most once a minute), and push that
    was marked not working for want of notifications works again. Cheap: two guarded UPDATEs."""
    accounts = PushSubscription.objects.filter(account__selling_partner_id=selling_partner_id)
    accounts.exclude(state=State.OFF).filter(
        Q(last_notification_at__isnull=True)
        | Q(last_notification_at__lt=at - LAST_NOTIFICATION_STEP)
    ).update(last_notification_at=at)
    accounts.filter(state=State.FAILING, cause=Cause.SILENT).update(
        state=State.ACTIVE,
        cause=Cause.NONE,
        reason="",
        active_since=_next_second(at),
        changed_at=at,
        last_notification_at=at,
    )


def mark_not_working(account: SellerAccount, *, reason: str, at: datetime) -> bool:
    """Push of the active account does not work: a finished report's notification never came
    (`reason` names it and the likely cause). Returns whether the row changed. It works again
    with the next notification that arrives (`note_notification`)."""
    changed = PushSubscription.objects.filter(account=account, state=State.ACTIVE).update(
        state=State.FAILING,
        cause=Cause.SILENT,
        reason=reason[:1000],
        changed_at=at,
        next_attempt_at=at + VERIFY_EVERY,
    )
    if changed:
        logger.warning("Push for %s is not working: %s", account, reason)
    return bool(changed)
