"""Writes of webhook subscriptions: made, changed, switched off and on, their secret revealed,
a delivery sent again. The delivery itself is `api.delivery`."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from amazon_settings import crypto
from api import stored_texts as texts
from api.exceptions import WebhookError
from api.models import WebhookDelivery, WebhookEvent, WebhookSubscription
from core.audit import record_audit_event
from core.changes import last_position

SECRET_PREFIX = "whsec_"  # noqa: S105 - not a secret: what every signing secret starts with


def _events(events: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(events))
    unknown = set(chosen) - set(WebhookEvent.values)
    if unknown:
        raise WebhookError(
            _("Unknown event(s): %(events)s.") % {"events": ", ".join(sorted(unknown))}
        )
    if not chosen:
        raise WebhookError(_("Choose at least one event."))
    return chosen


@transaction.atomic
def create_subscription(
    *,
    name: str,
    url: str,
    events: Iterable[str],
    include_buyer_data: bool = False,
    acting_user: AbstractBaseUser | None,
) -> tuple[WebhookSubscription, str]:
    """Subscribe `url` to `events` from now on (events already in the change log are not sent).
    Returns the subscription and its signing secret. Raises WebhookError for a name in use or
    no or unknown events."""
    name = name.strip()
    chosen = _events(events)
    if WebhookSubscription.objects.filter(name=name).exists():
        raise WebhookError(
            _("A webhook named “%(name)s” exists: choose another name.") % {"name": name}
        )
    secret = f"{SECRET_PREFIX}{secrets.token_urlsafe(32)}"
    start = last_position()
    subscription = WebhookSubscription.objects.create(
        name=name,
        url=url,
        events=chosen,
        include_buyer_data=include_buyer_data,
        secret_encrypted=crypto.encrypt_secret(secret),
        cursor_txid=start.txid,
        cursor_id=start.id,
        created_by=acting_user if acting_user and acting_user.is_authenticated else None,
    )
    return subscription, secret


def update_subscription(
    subscription: WebhookSubscription,
    *,
    url: str,
    events: Iterable[str],
    include_buyer_data: bool,
    acting_user: AbstractBaseUser | None,
) -> WebhookSubscription:
    """Change where and what is sent. Events of types no longer chosen that are already
    deliveries are still sent; new events follow the new choice."""
    subscription.url = url
    subscription.events = _events(events)
    subscription.include_buyer_data = include_buyer_data
    subscription.save(update_fields=["url", "events", "include_buyer_data"])
    return subscription


def reveal_secret(subscription: WebhookSubscription, *, acting_user: AbstractBaseUser) -> str:
    """The signing secret, for an administrator who set up the receiver. Each reveal is in the
    audit log (the view marks the request audited). Raises TokenDecryptionFailed when the keys
    that encrypted it are gone."""
    secret = crypto.decrypt_secret(subscription.secret_encrypted)
    record_audit_event(
        user=acting_user,
        action="api_webhooks:reveal_secret",
        object_type="webhook subscription",
        object_id=str(subscription.pk),
        detail=texts.stored_text(texts.SECRET_SHOWN, name=subscription.name),
    )
    return secret


def set_active(
    subscription: WebhookSubscription,
    *,
    active: bool,
    acting_user: AbstractBaseUser | None,
    now: datetime | None = None,
) -> WebhookSubscription:
    """Switch a subscription on or off by hand. Switched on again, it starts with a clean
    record of failures and sends what waited, the events of the time it was off included."""
    now = now or timezone.now()
    with transaction.atomic():
        if active:
            WebhookSubscription.objects.filter(pk=subscription.pk).update(
                is_active=True,
                disabled_at=None,
                disabled_reason="",
                consecutive_failures=0,
                failing_since=None,
            )
            # What waited is sent at once, each with a fresh retry window: a retry far in the
            # future, or one given up at its first try, would serve nobody.
            WebhookDelivery.objects.filter(
                subscription=subscription, status=WebhookDelivery.Status.PENDING
            ).update(next_attempt_at=now, first_attempt_at=None)
        else:
            WebhookSubscription.objects.filter(pk=subscription.pk, is_active=True).update(
                is_active=False,
                disabled_at=now,
                disabled_reason=texts.stored_text(
                    texts.SWITCHED_OFF_BY, user=acting_user.get_username() if acting_user else "?"
                ),
            )
    subscription.refresh_from_db()
    return subscription


def delete_subscription(
    subscription: WebhookSubscription, *, acting_user: AbstractBaseUser | None
) -> None:
    """Delete a subscription with its delivery log."""
    subscription.delete()


def redeliver(
    delivery: WebhookDelivery, *, acting_user: AbstractBaseUser | None, now: datetime | None = None
) -> WebhookDelivery:
    """Send a delivery again on the next pass (within a minute), delivered or failed before,
    with a fresh retry window. Raises WebhookError while its subscription is switched off."""
    if not delivery.subscription.is_active:
        raise WebhookError(_("This webhook is switched off: switch it on to send again."))
    now = now or timezone.now()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=WebhookDelivery.Status.PENDING,
        next_attempt_at=now,
        first_attempt_at=None,
        delivered_at=None,
        lease_id="",
        leased_until=None,
    )
    delivery.refresh_from_db()
    return delivery
