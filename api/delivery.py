"""Webhook delivery: the worker's pass that turns the change log into signed POSTs.

Each pass (`deliver_webhooks`, every minute) works in rounds. A round, for every active
subscription: the events after its cursor (`core.changes`) become `WebhookDelivery` rows, at
most one per (subscription, event), and the cursor moves past them in the same transaction;
then its due deliveries are claimed under a lease and sent. Since deliveries are derived from
the change log and the cursor, an event whose change committed is delivered even if the worker
died right after the commit, and a delivery claimed by a pass that died is sent again once its
lease ends. Delivery is at least once: receivers tell repeats by the event id.

The POSTs happen outside every database transaction, in threads, one subscription per thread
(`WEBHOOK_THREADS`), each within the pass's time (`WEBHOOK_SECONDS_PER_PASS`) and stopping at
its first failure; the threads touch no database, the pass's own thread records each round's
answers (one transaction) as soon as the round is done. So a receiver that is slow or down
costs its own subscription one timeout per pass and never holds up another subscription, the
imports or the rest of the worker.

A failed try is retried after 1, 2, 4, ... minutes (capped at `WEBHOOK_MAX_BACKOFF_MINUTES`)
until `WEBHOOK_RETRY_HOURS` after the first; then the delivery is failed. A subscription whose
every try failed for `WEBHOOK_DISABLE_AFTER_HOURS` is switched off, with the reason shown on
its page. The signature scheme is in the README ("Webhooks").
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import F, Prefetch, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from ninja.responses import NinjaJSONEncoder
from pydantic import BaseModel

from amazon_settings import crypto
from amazon_settings.exceptions import TokenDecryptionFailed
from amazon_settings.models import AccountMarketplace, SellerAccount
from api import schemas, selectors, serializers
from api import stored_texts as texts
from api.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from core.changes import Position, events_after
from core.models import ChangeEvent
from reports.models import Report

logger = logging.getLogger(__name__)

Status = WebhookDelivery.Status
USER_AGENT = "amazon-order-import-webhooks/1"
# What the receiver's answer keeps in the delivery log.
RESPONSE_BODY_LIMIT = WebhookAttempt._meta.get_field("response_body").max_length
ERROR_LIMIT = WebhookAttempt._meta.get_field("error").max_length
# Longer than a subscription can take in a pass (its share of the pass plus one timeout).
LEASE_MARGIN = timedelta(minutes=2)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 of "<timestamp>.<body>" with the subscription's secret, as hex."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed try: 1, 2, 4, ... minutes, capped."""
    minutes = min(2 ** min(max(0, attempts - 1), 30), settings.WEBHOOK_MAX_BACKOFF_MINUTES)
    return timedelta(minutes=minutes)


@dataclass(frozen=True)
class Outgoing:
    """One POST to send: a claimed delivery and its body."""

    delivery: WebhookDelivery
    event_type: str
    body: bytes


@dataclass(frozen=True)
class Answer:
    """What became of one POST; `sent` False: not tried in this pass (time up, or the
    subscription failed before it)."""

    outgoing: Outgoing
    sent: bool
    status_code: int | None = None
    body: str = ""
    duration_ms: int = 0
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True)
class Batch:
    """A subscription's deliveries of one round, with what the sending thread needs (and no
    model it would have to load)."""

    subscription_id: int
    url: str
    secret: str
    outgoing: list[Outgoing]
    deadline: float


@dataclass
class DeliveryPass:
    """What a pass did: events that became deliveries, POSTs answered 2xx, failed tries,
    deliveries given up, subscriptions switched off."""

    enqueued: int = 0
    delivered: int = 0
    failed_attempts: int = 0
    given_up: int = 0
    disabled: int = 0
    rounds: int = 0  # batches sent


def post_webhook(
    session: requests.Session,
    url: str,
    *,
    secret: str,
    event_id: int,
    event_type: str,
    body: bytes,
    clock: Callable[[], float] = time.time,
) -> tuple[int | None, str, int, str]:
    """POST one signed body; returns (status code, the start of the answer, milliseconds,
    error). Never raises for the network: a timeout, a refused connection or a redirect (not
    followed) is an error. The timestamp is the moment of sending."""
    timestamp = str(int(clock()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Webhook-Id": str(event_id),
        "Webhook-Event": event_type,
        "Webhook-Timestamp": timestamp,
        "Webhook-Signature": f"v1={signature(secret, timestamp, body)}",
    }
    began = time.monotonic()
    try:
        with session.post(
            url,
            data=body,
            headers=headers,
            timeout=(
                settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS,
                settings.WEBHOOK_READ_TIMEOUT_SECONDS,
            ),
            allow_redirects=False,
            stream=True,
        ) as response:
            # At most what the log keeps: a receiver's long answer is not read to its end.
            raw = response.raw.read(RESPONSE_BODY_LIMIT, decode_content=True) or b""
            text = raw.decode(response.encoding or "utf-8", errors="replace")
            error = ""
            if response.is_redirect or 300 <= response.status_code < 400:
                location = response.headers.get("Location", "")
                error = texts.stored_text(texts.REDIRECT_NOT_FOLLOWED, location=location[:300])
            elif not 200 <= response.status_code < 300:
                error = f"HTTP {response.status_code}"
            return response.status_code, text, _ms(began), error
    except requests.Timeout as exc:
        return None, "", _ms(began), texts.stored_text(texts.TIMED_OUT, error=exc)[:ERROR_LIMIT]
    except requests.RequestException as exc:
        return None, "", _ms(began), f"{type(exc).__name__}: {exc}"[:ERROR_LIMIT]


def _ms(began: float) -> int:
    return max(0, int((time.monotonic() - began) * 1000))


def send_batch(batch: Batch, *, session_factory: Callable[[], requests.Session]) -> list[Answer]:
    """Send a subscription's round in order, over one connection, until the first failure or
    the deadline (time.monotonic); what is left is answered unsent. Touches no database."""
    answers: list[Answer] = []
    stopped = False
    session = session_factory()
    try:
        for out in batch.outgoing:
            if stopped or time.monotonic() >= batch.deadline:
                answers.append(Answer(out, sent=False))
                continue
            code, text, ms, error = post_webhook(
                session,
                batch.url,
                secret=batch.secret,
                event_id=out.delivery.event_id,
                event_type=out.event_type,
                body=out.body,
            )
            answer = Answer(
                out, sent=True, status_code=code, body=text, duration_ms=ms, error=error
            )
            answers.append(answer)
            stopped = not answer.ok
    finally:
        session.close()
    return answers


def enqueue_events(subscription: WebhookSubscription, *, now: datetime, limit: int) -> int:
    """Make deliveries of up to `limit` events after the subscription's cursor, of the types it
    wants, and move the cursor past them, in one transaction. Idempotent: a second pass that
    raced finds the cursor moved and writes nothing; one delivery per (subscription, event) at
    most (a unique constraint). Returns how many deliveries were made."""
    position = Position(txid=subscription.cursor_txid, id=subscription.cursor_id)
    wanted: dict[str, list[str]] = defaultdict(list)
    for event_type in subscription.events:
        wanted[event_type.split(".", 1)[0]].append(event_type)
    # A kind at a time, along its index; the first `limit` of each, merged, are the first
    # `limit` of all.
    events: list[ChangeEvent] = []
    for kind, types in wanted.items():
        events += events_after(position, kind=kind, event_types=types)[:limit]
    events = sorted(events, key=lambda e: (e.txid, e.pk))[:limit]
    if not events:
        return 0
    last = events[-1]
    with transaction.atomic():
        moved = WebhookSubscription.objects.filter(
            pk=subscription.pk, cursor_txid=position.txid, cursor_id=position.id
        ).update(cursor_txid=last.txid, cursor_id=last.pk)
        if not moved:
            return 0
        WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(
                    subscription=subscription,
                    event=event,
                    event_type=event.event_type,
                    created_at=now,
                    next_attempt_at=now,
                )
                for event in events
            ],
            ignore_conflicts=True,
        )
    subscription.cursor_txid, subscription.cursor_id = last.txid, last.pk
    return len(events)


def claim_deliveries(
    subscription: WebhookSubscription, *, now: datetime, limit: int, lease: timedelta
) -> list[WebhookDelivery]:
    """Lease up to `limit` of the subscription's due deliveries (pending, due, not leased by a
    living pass), oldest event first, with one guarded UPDATE; returns those this call got."""
    due = (
        WebhookDelivery.objects.filter(
            subscription=subscription, status=Status.PENDING, next_attempt_at__lte=now
        )
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lte=now))
        .order_by("next_attempt_at", "event_id")
    )
    ids = list(due.values_list("pk", flat=True)[:limit])
    if not ids:
        return []
    lease_id = secrets.token_hex(8)
    due.filter(pk__in=ids).update(lease_id=lease_id, leased_until=now + lease)
    return list(
        WebhookDelivery.objects.filter(pk__in=ids, lease_id=lease_id)
        .select_related("event")
        .order_by("event_id")
    )


def _dump(schema: type[BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    """A record as the API answers it: through the schema that validates its answers (and then
    the API's JSON encoder, in `event_body`)."""
    return schema.model_validate(data).model_dump()


def _accounts_by_id(ids: list[int]) -> dict[int, SellerAccount]:
    accounts = SellerAccount.objects.filter(pk__in=ids).prefetch_related(
        Prefetch("marketplaces", queryset=AccountMarketplace.objects.order_by("marketplace_id"))
    )
    return {a.pk: a for a in accounts}


def event_data(
    events: Iterable[ChangeEvent], *, include_buyer_data: bool, now: datetime
) -> dict[int, dict[str, Any] | None]:
    """Each event's record as the API shows it now (None when it is gone), by event id, in a
    fixed number of queries per kind. Buyer data only with `include_buyer_data`, and only within
    the retention, as for a token with the `pii` scope."""
    viewer = serializers.Viewer(pii=include_buyer_data, now=now)
    by_kind: dict[str, list[ChangeEvent]] = defaultdict(list)
    for event in events:
        by_kind[event.kind].append(event)
    loaders: dict[str, tuple[Callable, Callable]] = {
        "order": (
            selectors.orders_by_id,
            lambda o: _dump(schemas.OrderOut, serializers.order(o, viewer)),
        ),
        "return": (
            selectors.returns_by_id,
            lambda r: _dump(schemas.ReturnOut, serializers.return_line(r, viewer)),
        ),
        "stock": (
            selectors.stock_levels_by_id,
            lambda s: _dump(schemas.StockLevelOut, serializers.stock_level(s)),
        ),
        "invoice": (
            selectors.invoices_by_id,
            lambda i: _dump(schemas.InvoiceOut, serializers.invoice(i, viewer)),
        ),
        "account": (
            _accounts_by_id,
            lambda a: _dump(schemas.AccountOut, serializers.account(a)),
        ),
        "report": (
            lambda ids: Report.objects.in_bulk(ids),
            lambda r: _dump(schemas.ReportOut, serializers.report(r)),
        ),
    }
    data: dict[int, dict[str, Any] | None] = {}
    for kind, kind_events in by_kind.items():
        load, dump = loaders[kind]
        records = load(list({e.entity_id for e in kind_events}))
        for event in kind_events:
            record = records.get(event.entity_id)
            data[event.pk] = dump(record) if record is not None else None
    return data


def event_body(event: ChangeEvent, data: dict[str, Any] | None) -> bytes:
    """The JSON body of one event: {id, type, created, data}."""
    payload = {
        "id": event.pk,
        "type": event.event_type,
        "created": event.created_at,
        "data": data,
    }
    # The API's encoder: dates, amounts and times written as the API writes them.
    return json.dumps(
        payload, cls=NinjaJSONEncoder, separators=(",", ":"), ensure_ascii=False
    ).encode()


def _prepare(
    subscription: WebhookSubscription,
    claimed: list[WebhookDelivery],
    *,
    now: datetime,
    deadline: float,
) -> Batch | None:
    try:
        secret = crypto.decrypt_secret(subscription.secret_encrypted)
    except TokenDecryptionFailed:
        logger.error("Webhook %s: its secret cannot be decrypted; switched off.", subscription.pk)
        _release(claimed)
        _disable(
            subscription,
            now=now,
            reason=texts.SECRET_UNREADABLE,
        )
        return None
    data = event_data(
        [d.event for d in claimed], include_buyer_data=subscription.include_buyer_data, now=now
    )
    return Batch(
        subscription_id=subscription.pk,
        url=subscription.url,
        secret=secret,
        outgoing=[
            Outgoing(
                delivery=d, event_type=d.event_type, body=event_body(d.event, data[d.event_id])
            )
            for d in claimed
        ],
        deadline=deadline,
    )


def _release(deliveries: list[WebhookDelivery]) -> None:
    """Give back leases not used: the deliveries are due again at once."""
    for lease_id in {d.lease_id for d in deliveries}:
        WebhookDelivery.objects.filter(
            pk__in=[d.pk for d in deliveries if d.lease_id == lease_id], lease_id=lease_id
        ).update(lease_id="", leased_until=None)


def _disable(subscription: WebhookSubscription, *, now: datetime, reason: str) -> bool:
    return bool(
        WebhookSubscription.objects.filter(pk=subscription.pk, is_active=True).update(
            is_active=False, disabled_at=now, disabled_reason=reason[:300]
        )
    )


def record_answers(
    answers: list[Answer], *, subscription_id: int, now: datetime, result: DeliveryPass
) -> None:
    """Write what a subscription's round got, in one transaction: a try per POST, each
    delivery's new state (where this pass still holds its lease: a pass that lost it to another
    leaves the state to that one), the unsent ones given back, and the subscription's run of
    failures; switch the subscription off when it has failed for too long."""
    sent = [a for a in answers if a.sent]
    unsent = [a.outgoing.delivery for a in answers if not a.sent]
    with transaction.atomic():
        _release(unsent)
        WebhookAttempt.objects.bulk_create(
            [
                WebhookAttempt(
                    delivery=a.outgoing.delivery,
                    at=now,
                    status_code=a.status_code,
                    response_body=a.body[:RESPONSE_BODY_LIMIT],
                    duration_ms=a.duration_ms,
                    error=a.error[:ERROR_LIMIT],
                )
                for a in sent
            ]
        )
        tried = {
            "attempts": F("attempts") + 1,
            "first_attempt_at": Coalesce("first_attempt_at", now),
            "last_attempt_at": now,
            "lease_id": "",
            "leased_until": None,
        }
        subscriptions = WebhookSubscription.objects.filter(pk=subscription_id)
        # A round's deliveries were claimed together and mostly get the same answer: one
        # UPDATE per lease and status code.
        delivered: dict[tuple[str, int | None], list[int]] = defaultdict(list)
        for answer in sent:
            if answer.ok:
                key = (answer.outgoing.delivery.lease_id, answer.status_code)
                delivered[key].append(answer.outgoing.delivery.pk)
        for (lease_id, status_code), pks in delivered.items():
            WebhookDelivery.objects.filter(pk__in=pks, lease_id=lease_id).update(
                **tried,
                status=Status.DELIVERED,
                delivered_at=now,
                next_attempt_at=None,
                last_status_code=status_code,
                last_error="",
            )
        if delivered:
            subscriptions.update(consecutive_failures=0, failing_since=None, last_success_at=now)
            result.delivered += sum(len(pks) for pks in delivered.values())
        for answer in sent:
            if not answer.ok:
                _record_failure(
                    answer, subscriptions=subscriptions, tried=tried, now=now, result=result
                )


def _record_failure(
    answer: Answer,
    *,
    subscriptions: QuerySet[WebhookSubscription],
    tried: dict[str, Any],
    now: datetime,
    result: DeliveryPass,
) -> None:
    delivery = answer.outgoing.delivery
    result.failed_attempts += 1
    first = delivery.first_attempt_at or now
    fields: dict[str, Any] = {
        **tried,
        "last_status_code": answer.status_code,
        "last_error": answer.error[:ERROR_LIMIT],
    }
    if now - first >= timedelta(hours=settings.WEBHOOK_RETRY_HOURS):
        fields.update(status=Status.FAILED, next_attempt_at=None)
        result.given_up += 1
    else:
        fields.update(next_attempt_at=now + backoff(delivery.attempts + 1))
    WebhookDelivery.objects.filter(pk=delivery.pk, lease_id=delivery.lease_id).update(**fields)
    subscriptions.update(
        consecutive_failures=F("consecutive_failures") + 1,
        failing_since=Coalesce("failing_since", now),
    )
    failing = subscriptions.filter(
        is_active=True,
        consecutive_failures__gte=settings.WEBHOOK_DISABLE_AFTER_FAILURES,
        failing_since__lte=now - timedelta(hours=settings.WEBHOOK_DISABLE_AFTER_HOURS),
    ).first()
    if failing is not None and _disable(
        failing,
        now=now,
        reason=texts.stored_text(
            texts.SWITCHED_OFF_AUTOMATICALLY,
            since=texts.stored_moment(failing.failing_since),
            failures=failing.consecutive_failures,
            error=answer.error or answer.status_code,
        ),
    ):
        result.disabled += 1
        logger.warning(
            "Webhook %s switched off after failing since %s", failing.pk, failing.failing_since
        )


def _next_batch(
    subscription_id: int, *, now: datetime, size: int, lease: timedelta, deadline: float
) -> tuple[Batch | None, int]:
    """The subscription's next round, if it is still on: its new events made deliveries, its
    due deliveries claimed, their bodies built. Returns the batch (None: nothing to send) and
    how many deliveries were made."""
    subscription = WebhookSubscription.objects.filter(pk=subscription_id, is_active=True).first()
    if subscription is None:
        return None, 0
    enqueued = enqueue_events(subscription, now=now, limit=size)
    claimed = claim_deliveries(subscription, now=now, limit=size, lease=lease)
    if not claimed:
        return None, enqueued
    return _prepare(subscription, claimed, now=now, deadline=deadline), enqueued


def deliver_webhooks(
    *,
    now: datetime | None = None,
    session_factory: Callable[[], requests.Session] = requests.Session,
) -> DeliveryPass:
    """One pass of webhook delivery (see the module's docstring). Idempotent and safe beside
    another pass (leases, guarded cursors). `now` is the clock of retries and leases (the
    signature's timestamp is the moment of sending).

    Each subscription goes at its own pace: when its round is answered, its next round is
    prepared and handed to a thread at once, whatever the other subscriptions' rounds are
    doing; after a failure, or once the pass's time is up, it waits for the next pass.
    """
    now = now or timezone.now()
    result = DeliveryPass()
    seconds = settings.WEBHOOK_SECONDS_PER_PASS
    deadline = time.monotonic() + seconds
    lease = timedelta(seconds=seconds) + LEASE_MARGIN
    size = max(1, settings.WEBHOOK_BATCH_SIZE)
    with ThreadPoolExecutor(max_workers=settings.WEBHOOK_THREADS) as pool:
        in_flight: dict[Future[list[Answer]], Batch] = {}

        def hand_out(subscription_id: int) -> None:
            batch, enqueued = _next_batch(
                subscription_id, now=now, size=size, lease=lease, deadline=deadline
            )
            result.enqueued += enqueued
            if batch is not None:
                result.rounds += 1
                in_flight[pool.submit(send_batch, batch, session_factory=session_factory)] = batch

        for subscription_id in WebhookSubscription.objects.filter(is_active=True).values_list(
            "pk", flat=True
        ):
            hand_out(subscription_id)
        while in_flight:
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                batch = in_flight.pop(future)
                answers = future.result()
                # Written as soon as this subscription's thread is done.
                record_answers(
                    answers, subscription_id=batch.subscription_id, now=now, result=result
                )
                if all(answer.ok for answer in answers) and time.monotonic() < deadline:
                    hand_out(batch.subscription_id)
    return result
