"""Fault injection and inspection: what the control API and `python -m amazon_sandbox sandbox` do.

Each operation validates its input and raises ControlError (or UnknownObject) with a message
fit for the caller; every write is one transaction. Nothing here is reachable through Amazon's
own paths.

One module on purpose: it is the control API's table of contents, one function per endpoint
and subcommand, each a few lines over `reporting`, `authorization` and `faults`.
"""

from __future__ import annotations

import codecs
import gzip
import secrets
from datetime import UTC, datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.db import transaction

from amazon_sandbox import authorization, clock, notifications, reporting
from amazon_sandbox.catalog import DemoSeller, seller_by_id
from amazon_sandbox.generator import orders_between
from amazon_sandbox.models import (
    AddedOrderBatch,
    CallRecord,
    Fault,
    Notification,
    NotificationDestination,
    NotificationSubscription,
    RefreshToken,
    Report,
    ReportDocument,
    SandboxState,
)
from amazon_sandbox.ratelimit import USAGE_PLANS, limiter

OPERATIONS = (*USAGE_PLANS, "lwaToken", "downloadDocument")


class ControlError(Exception):
    """The control request is malformed or not allowed in the current state (HTTP 400)."""


class UnknownObject(ControlError):
    """The seller, report or document named does not exist (HTTP 404)."""


def _seller(selling_partner_id: str, region: str) -> DemoSeller:
    seller = seller_by_id(selling_partner_id, region)
    if seller is None:
        raise UnknownObject(f"no demo seller {selling_partner_id!r} in region {region!r}")
    return reporting.with_history(seller)


def _time(value: object, name: str) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError as e:
            raise ControlError(f"{name} must be an ISO 8601 date-time") from e
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def reset() -> None:
    """Forget everything issued and injected; the clock returns to real time. Idempotent."""
    with transaction.atomic():
        for model in apps.get_app_config("amazon_sandbox").get_models():
            model.objects.all().delete()
    # Only the buckets of this process: the server's are reset by the control endpoint.
    limiter.reset()


def advance_clock(*, seconds: float) -> datetime:
    """Move the sandbox clock forward; returns the new sandbox-now."""
    try:
        return clock.advance(float(seconds))
    except (TypeError, ValueError) as e:
        raise ControlError(f"advance_seconds must be a number >= 0: {e}") from e


def set_history(*, history: object) -> dict:
    """Give every seller another of its possible histories (0: the demo's); answers the state.

    Reports already rendered keep their documents; new ones are rendered from the new history.
    """
    if isinstance(history, bool) or not isinstance(history, int) or history < 0:
        raise ControlError("history must be a whole number >= 0")
    SandboxState.objects.filter(pk=SandboxState.load().pk).update(history=history)
    return history_state()


def history_state() -> dict:
    return {"history": SandboxState.load().history}


def clock_state() -> dict:
    """Sandbox-now and the offset from real time."""
    return {"now": reporting.iso(clock.now()), "offset_seconds": clock.offset_seconds()}


def configure_app(
    *,
    draft: bool | None = None,
    redirect_uris: list[str] | None = None,
    cancel_mode: str | None = None,
    client_secret_accepted: bool | None = None,
) -> dict:
    """Change how the registered app behaves; None leaves a setting as it is."""
    state = SandboxState.load()
    if draft is not None:
        state.app_is_draft = bool(draft)
    if redirect_uris is not None:
        if not isinstance(redirect_uris, list) or not all(
            isinstance(u, str) for u in redirect_uris
        ):
            raise ControlError("redirect_uris must be a list of URLs ([] restores the default)")
        state.redirect_uris = redirect_uris
    if cancel_mode is not None:
        if cancel_mode not in SandboxState.CancelMode.values:
            raise ControlError(f"cancel_mode must be one of {SandboxState.CancelMode.values}")
        state.cancel_mode = cancel_mode
    if client_secret_accepted is not None:
        state.client_secret_accepted = bool(client_secret_accepted)
    state.save()
    return app_state()


def app_state() -> dict:
    """The registered app as the sandbox currently sees it."""
    state = SandboxState.load()
    return {
        "application_id": settings.SANDBOX_APP_ID,
        "client_id": settings.SANDBOX_LWA_CLIENT_ID,
        "draft": state.app_is_draft,
        "redirect_uris": state.redirect_uris,
        "cancel_mode": state.cancel_mode,
        "client_secret_accepted": state.client_secret_accepted,
    }


def mint_refresh_token(*, selling_partner_id: str, region: str) -> str:
    """Seller Central self-authorization: a new refresh token for a demo seller."""
    seller = _seller(selling_partner_id, region)
    return authorization.issue_refresh_token(
        seller=seller, source=RefreshToken.Source.SELF_AUTHORIZATION
    ).token


def revoke_authorization(*, selling_partner_id: str, region: str) -> dict:
    """The seller removes the app: refresh grants fail with invalid_grant, access tokens 403."""
    _seller(selling_partner_id, region)
    refresh, access = authorization.revoke_seller(
        selling_partner_id=selling_partner_id, region=region
    )
    return {"revoked_refresh_tokens": refresh, "revoked_access_tokens": access}


def arm_fault(
    *,
    kind: str,
    operation: str = "",
    count: int = 1,
    selling_partner_id: str = "",
    region: str = "",
    report_type: str = "",
    hold_seconds: float = 0,
) -> Fault:
    """Make the next `count` matching calls fail (or reports end, or notifications go astray)
    the way `kind` says.

    HTTP kinds (throttle, error500, error503, timeout) need an operation; report kinds
    (report_stuck, report_fatal, report_cancelled) apply to the next reports created, by any
    route, optionally only of one report type; notification kinds (notification_drop,
    notification_duplicate, notification_delay) to the next notifications decided, optionally
    only for reports of one type.
    """
    if kind not in Fault.Kind.values:
        raise ControlError(f"kind must be one of {Fault.Kind.values}")
    is_report_kind = kind.startswith(("report_", "notification_"))
    if not is_report_kind and operation not in OPERATIONS:
        raise ControlError(f"operation must be one of {list(OPERATIONS)}")
    if kind in (Fault.Kind.TIMEOUT, Fault.Kind.NOTIFICATION_DELAY) and not float(hold_seconds) > 0:
        raise ControlError(f"a {kind} fault needs hold_seconds > 0")
    try:
        count = int(count)
    except (TypeError, ValueError) as e:
        raise ControlError("count must be a positive integer") from e
    if count < 1:
        raise ControlError("count must be a positive integer")
    return Fault.objects.create(
        kind=kind,
        operation="" if is_report_kind else operation,
        remaining=count,
        selling_partner_id=selling_partner_id or "",
        region=region or "",
        report_type=report_type or "",
        hold_seconds=float(hold_seconds or 0),
        created_at=clock.now(),
    )


def fault_json(fault: Fault) -> dict:
    return {
        "id": fault.pk,
        "kind": fault.kind,
        "operation": fault.operation,
        "remaining": fault.remaining,
        "selling_partner_id": fault.selling_partner_id,
        "region": fault.region,
        "report_type": fault.report_type,
        "hold_seconds": fault.hold_seconds,
    }


def list_faults() -> list[dict]:
    return [fault_json(f) for f in Fault.objects.order_by("pk")]


def clear_faults() -> int:
    """Disarm every fault; returns how many were armed."""
    deleted, _ = Fault.objects.all().delete()
    return deleted


def _report(report_id: str) -> Report:
    try:
        pk = int(report_id) - reporting.REPORT_ID_BASE
    except ValueError:
        pk = -1
    report = Report.objects.select_related("document").filter(pk=pk).first()
    if report is None:
        raise UnknownObject(f"no report {report_id}")
    return report


def report_json(report: Report) -> dict:
    """The report as getReport would show it now, plus the sandbox's own fields."""
    state = reporting.observe(
        report, seller=seller_by_id(report.selling_partner_id, report.region), now=clock.now()
    )
    return {
        **state.as_json(),
        "sellingPartnerId": report.selling_partner_id,
        "region": report.region,
        "origin": report.origin,
        "forcedOutcome": report.forced_outcome,
        "rowCount": report.row_count,
    }


def set_report_outcome(
    report_id: str,
    *,
    outcome: str | None = None,
    queue_seconds: float | None = None,
    processing_seconds: float | None = None,
) -> dict:
    """Force how an unfinished report ends (stuck, fatal, cancelled, "" = natural) or retime it.

    Delays are sandbox seconds from the report's creation (not scaled). Finishing is decided
    when a report is first read after its processing time, so until then it can still be
    changed; a report already seen finished cannot (Amazon never rewrites one): ControlError.
    """
    with transaction.atomic():
        report = _report(report_id)
        if report.final_status:
            raise ControlError(f"report {report_id} already finished ({report.final_status})")
        if outcome is not None:
            if outcome not in Report.Outcome.values:
                raise ControlError(f"outcome must be one of {Report.Outcome.values}")
            report.forced_outcome = outcome
        if queue_seconds is not None:
            report.queue_seconds = max(0.0, float(queue_seconds))
        if processing_seconds is not None:
            report.processing_seconds = max(0.0, float(processing_seconds))
        report.save(update_fields=["forced_outcome", "queue_seconds", "processing_seconds"])
    return report_json(report)


def damage_document(
    document_id: str,
    *,
    corruption: str | None = None,
    served_charset: str | None = None,
    encoding: str | None = None,
) -> dict:
    """Serve a document truncated or corrupted, labelled with a charset it is not in, or
    encoded in another charset under its usual label (`encoding`: UTF-8 under Amazon's Cp1252
    label, as Amazon has shipped)."""
    document = ReportDocument.objects.filter(document_id=document_id).first()
    if document is None:
        raise UnknownObject(f"no document {document_id}")
    if corruption is not None:
        if corruption not in ReportDocument.Corruption.values:
            raise ControlError(f"corruption must be one of {ReportDocument.Corruption.values}")
        document.corruption = corruption
    if served_charset is not None:
        document.served_charset = served_charset
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ControlError(f"unknown encoding {encoding!r}") from None
        text = gzip.decompress(bytes(document.body)).decode(document.charset)
        document.body = gzip.compress(text.encode(encoding, errors="replace"), mtime=0)
        # The label stays what it was: only the bytes change.
        document.served_charset = document.served_charset or document.charset
        document.charset = encoding
    document.save(update_fields=["corruption", "served_charset", "body", "charset"])
    return {
        "reportDocumentId": document.document_id,
        "charset": document.charset,
        "served_charset": document.served_charset or document.charset,
        "corruption": document.corruption,
    }


def _order_json(order: object) -> dict:
    """An order as the ground truth shows it: enough to tell a lost or doubled line, unit,
    amount or VAT transaction from the right one (`items` counts lines; `item_total` sums the
    lines' item prices as the reports carry them; shipments and returns known by now are the
    transactions the VAT reports list)."""
    return {
        "amazon_order_id": order.amazon_order_id,
        "marketplace_id": order.marketplace_id,
        "fulfillment": order.fulfillment,
        "purchase_date": reporting.iso(order.purchase_date),
        "status": order.status,
        "last_updated": reporting.iso(order.last_updated),
        "items": len(order.items),
        "units": sum(item.quantity for item in order.items),
        "item_total": f"{sum(item.item_price for item in order.items):.2f}",
        "shipments": [
            {"shipment_id": s.shipment_id, "shipment_date": reporting.iso(s.shipment_date)}
            for s in order.shipments
        ],
        "returns": [
            {
                "return_id": r.return_id,
                "shipment_id": r.shipment_id,
                "return_date": reporting.iso(r.return_date),
            }
            for r in order.returns
        ],
    }


def add_orders(
    *,
    selling_partner_id: str,
    region: str,
    count: int,
    fulfillment: str = "MFN",
    marketplace_id: str | None = None,
    batch_seed: int | None = None,
    cancel_after_seconds: int | None = None,
) -> dict:
    """Orders placed "now" (sandbox clock) in a seller's history; returns them. With
    `cancel_after_seconds` (MFN), the buyer cancels each that long after its payment cleared
    (at most 10 minutes after it was placed), instead of its being shipped."""
    seller = _seller(selling_partner_id, region)
    if fulfillment not in ("MFN", "AFN"):
        raise ControlError("fulfillment must be MFN or AFN")
    if cancel_after_seconds is not None:
        if fulfillment != "MFN":
            raise ControlError("only MFN orders are cancelled by their buyers here")
        try:
            cancel_after_seconds = int(cancel_after_seconds)
        except (TypeError, ValueError) as e:
            raise ControlError("cancel_after_seconds must be a whole number of seconds") from e
        if cancel_after_seconds < 1:
            raise ControlError("cancel_after_seconds must be at least 1")
    if marketplace_id and marketplace_id not in seller.marketplace_ids:
        raise ControlError(f"{selling_partner_id} does not sell on {marketplace_id}")
    try:
        count = int(count)
    except (TypeError, ValueError) as e:
        raise ControlError("count must be a positive integer") from e
    if not 1 <= count <= 1000:
        raise ControlError("count must be between 1 and 1000")
    now = clock.now()
    before = reporting.added_orders(seller_id=selling_partner_id, region=region)
    batch = AddedOrderBatch.objects.create(
        selling_partner_id=selling_partner_id,
        region=region,
        placed_at=now,
        count=count,
        fulfillment=fulfillment,
        marketplace_id=marketplace_id or "",
        batch_seed=secrets.randbits(31) if batch_seed is None else int(batch_seed),
        cancel_after_seconds=cancel_after_seconds,
    )
    after = reporting.added_orders(seller_id=selling_partner_id, region=region)
    # The batch's own orders: what the window around `now` holds with it and not without it.
    window = (now - timedelta(seconds=1), now + timedelta(seconds=1))
    old = {o.amazon_order_id for o in orders_between(seller, *window, now=now, added=before)}
    new = orders_between(seller, *window, now=now, added=after)
    return {
        "placed_at": reporting.iso(batch.placed_at),
        "count": batch.count,
        "fulfillment": batch.fulfillment,
        "batch_seed": batch.batch_seed,
        "cancel_after_seconds": batch.cancel_after_seconds,
        "orders": [_order_json(o) for o in new if o.amazon_order_id not in old],
    }


def seller_orders(*, selling_partner_id: str, region: str, start: object, end: object) -> list:
    """The ground truth: every order of the seller placed in [start, end), as of sandbox-now."""
    seller = _seller(selling_partner_id, region)
    start_at, end_at = _time(start, "start"), _time(end, "end")
    if start_at > end_at:
        raise ControlError("start must not be after end")
    orders = orders_between(
        seller,
        start_at,
        end_at,
        now=clock.now(),
        added=reporting.added_orders(seller_id=selling_partner_id, region=region),
    )
    return [_order_json(o) for o in orders]


def seller_central_report(
    *,
    selling_partner_id: str,
    region: str,
    report_type: str,
    marketplace_ids: list[str] | None = None,
    data_start: object = None,
    data_end: object = None,
) -> dict:
    """A report the seller requested in Seller Central: getReports lists it like any other."""
    seller = _seller(selling_partner_id, region)
    now = clock.now()
    try:
        mids, start, end = reporting.validate_report_request(
            seller,
            report_type=report_type,
            marketplace_ids=marketplace_ids or list(seller.marketplace_ids),
            data_start=_time(data_start, "data_start") if data_start else None,
            data_end=_time(data_end, "data_end") if data_end else None,
            now=now,
        )
    except reporting.ApiError as e:
        raise ControlError(e.message) from e
    report = reporting.create_report(
        seller,
        report_type=report_type,
        marketplace_ids=mids,
        data_start=start,
        data_end=end,
        origin=Report.Origin.SELLER_CENTRAL,
        created_at=now,
    )
    return report_json(report)


def list_reports(*, selling_partner_id: str = "", region: str = "") -> list[dict]:
    """Every report the sandbox holds (any origin), newest first, with its current state."""
    rows = Report.objects.select_related("document").order_by("-created_at", "-pk")
    if selling_partner_id:
        rows = rows.filter(selling_partner_id=selling_partner_id)
    if region:
        rows = rows.filter(region=region)
    return [report_json(r) for r in rows]


def calls(*, operation: str = "", selling_partner_id: str = "", since_id: int = 0) -> list[dict]:
    """The calls the sandbox answered (oldest first), optionally filtered."""
    rows = CallRecord.objects.filter(pk__gt=int(since_id or 0)).order_by("pk")
    if operation:
        rows = rows.filter(operation=operation)
    if selling_partner_id:
        rows = rows.filter(selling_partner_id=selling_partner_id)
    return [
        {
            "id": r.pk,
            "at": reporting.iso(r.at),
            "method": r.method,
            "path": r.path,
            "operation": r.operation,
            "selling_partner_id": r.selling_partner_id,
            "region": r.region,
            "status": r.status,
        }
        for r in rows
    ]


def notifications_state(*, selling_partner_id: str = "") -> dict:
    """The app's destinations, every subscription (deleted ones too) and the notifications
    decided, oldest first, with what became of each: sent (and when), dropped, held back
    until `due_at`, or undeliverable (`delivery_error`)."""
    subscriptions = NotificationSubscription.objects.select_related("destination").order_by("pk")
    rows = Notification.objects.select_related("subscription", "report").order_by("pk")
    if selling_partner_id:
        subscriptions = subscriptions.filter(selling_partner_id=selling_partner_id)
        rows = rows.filter(subscription__selling_partner_id=selling_partner_id)
    return {
        "destinations": [
            {
                "destinationId": d.destination_id,
                "region": d.region,
                "name": d.name,
                "arn": d.sqs_arn,
            }
            for d in NotificationDestination.objects.order_by("pk")
        ],
        "subscriptions": [
            {
                "subscriptionId": s.subscription_id,
                "selling_partner_id": s.selling_partner_id,
                "region": s.region,
                "notificationType": s.notification_type,
                "payloadVersion": s.payload_version,
                "destinationId": s.destination.destination_id,
                "created_at": reporting.iso(s.created_at),
                "deleted_at": reporting.iso(s.deleted_at) if s.deleted_at else None,
            }
            for s in subscriptions
        ],
        "notifications": [
            {
                "notificationId": n.notification_id,
                "reportId": n.report.report_id,
                "selling_partner_id": n.subscription.selling_partner_id,
                "region": n.subscription.region,
                "due_at": reporting.iso(n.due_at),
                "copies": n.copies,
                "dropped": n.dropped,
                "sent_at": reporting.iso(n.sent_at) if n.sent_at else None,
                "delivery_error": n.delivery_error,
                "body": n.body,
            }
            for n in rows
        ],
    }


def publish_notifications() -> dict:
    """One pass of the notifications publisher now, with what it did, step by step."""
    journal: list[dict] = []
    sent = notifications.publish(queues=notifications.configured_queues(), journal=journal)
    return {"sent": sent, "steps": journal}
