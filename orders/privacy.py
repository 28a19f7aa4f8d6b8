"""Removing buyer data once Amazon's Data Protection Policy no longer lets us keep it.

Amazon allows personal data of buyers (PII) to be kept for 30 days after an order's shipment,
and only as long as needed to fulfil it. `remove_buyer_data` blanks those fields on old orders
and the free-text comments on old returns; the order itself, its items, amounts and shipments
stay, so the dashboard's figures do not change. `reports.privacy` calls it together with the
deletion of the raw documents.

What is kept, on purpose: the ship-to and bill-to countries (VAT and marketplace figures need
them, and alone they identify no one), the buyer's VAT number and company name (a business's
tax identity, which VAT invoices must show and tax law makes us keep), and tracking numbers (a
carrier reference, needed for claims and returns).

Invoices and credit notes issued here are left intact: each keeps the buyer's name and address
it was issued with (its snapshot), because tax law makes the seller keep its invoices as
issued, for `INVOICE_RETENTION_YEARS` (default 10); after that, `remove_expired_invoice_buyers`
blanks the buyer on them too, their numbers and amounts staying. The billing details of Amazon's
VCS Lite data (`VatTransaction`) are blanked with the orders, except those of sales still
waiting for their invoice here: the invoice the law requires must name the buyer.

No removal writes a change event (`core.changes`): the API already stops serving buyer data
at the same cutoffs (`api.serializers.Viewer`, from `retention_reference` and
`invoice_retention_cutoff`), so a record as an API client or a webhook sees it is the same
before and after its removal. An `order.updated` per order would make every client re-read,
and every webhook receive, everything the daily run touched, for nothing they can see.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import DateTimeField, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from amazon_settings.models import AccountMarketplace, InvoicingMode
from orders.models import Invoice, Order, Return, ShipmentLine, VatTransaction

# Order fields that name, reach or locate a buyer (the billing address as much as the ship-to).
ORDER_PII_FIELDS = (
    "buyer_name",
    "buyer_email",
    "buyer_phone",
    "recipient_name",
    "ship_address_1",
    "ship_address_2",
    "ship_address_3",
    "ship_city",
    "ship_state",
    "ship_postal_code",
    "ship_phone",
    "billing_name",
    "bill_address_1",
    "bill_address_2",
    "bill_address_3",
    "bill_city",
    "bill_state",
    "bill_postal_code",
)
# A buyer's own words about a return can hold anything, names and addresses included.
RETURN_PII_FIELDS = ("customer_comments",)
# The billing details of a VCS Lite sale or refund (the company name and VAT number stay, as
# on orders).
TRANSACTION_PII_FIELDS = (
    "buyer_name",
    "buyer_address_1",
    "buyer_address_2",
    "buyer_address_3",
    "buyer_city",
    "buyer_state",
    "buyer_postal_code",
)
# What an issued invoice prints of its buyer (the VAT number stays).
INVOICE_PII_FIELDS = ("buyer_name", "buyer_address")

_CHUNK = 500


def _has_any(fields: tuple[str, ...]) -> Q:
    condition = Q()
    for name in fields:
        condition |= ~Q(**{name: ""})
    return condition


def orders_past_retention(cutoff: datetime) -> QuerySet[Order]:
    """Orders whose reference moment is before `cutoff` and that still hold buyer data.

    The reference moment is the last shipment (FBA shipment lines); without one, Amazon's
    last-updated date, then the purchase date, then when we first stored the order. MFN order
    reports carry no shipment date, so their orders count from the last update or purchase.
    """
    last_shipped = Subquery(
        ShipmentLine.objects.filter(order=OuterRef("pk"))
        .values("order")
        .annotate(last=Max("shipped_at"))
        .values("last")[:1],
        output_field=DateTimeField(),
    )
    return (
        Order.objects.annotate(
            reference_at=Coalesce(last_shipped, "last_updated_at", "purchased_at", "created_at")
        )
        .filter(reference_at__lt=cutoff)
        .filter(_has_any(ORDER_PII_FIELDS))
    )


def retention_reference(
    order: Order, *, last_shipped_at: datetime | None = None
) -> datetime | None:
    """The moment an order's buyer data counts from, as `orders_past_retention` computes it in
    SQL: the last shipment, else Amazon's last update, the purchase, our first storing."""
    return last_shipped_at or order.last_updated_at or order.purchased_at or order.created_at


def remove_buyer_data(*, older_than_days: int, now: datetime | None = None) -> int:
    """Blank buyer names, e-mails, phones, ship-to and billing addresses of orders older than
    the retention.

    Also blanks the customer comments of returns received before the cutoff. Idempotent: only
    records that still hold such data are touched, so a second run returns 0. Returns the number
    of orders and returns changed. A later import of the same order may bring the data back
    (while Amazon still sends it); the next daily run removes it again.
    """
    if older_than_days < 0:
        raise ValueError("older_than_days must not be negative")
    cutoff = (now or timezone.now()) - timedelta(days=older_than_days)
    changed = 0
    order_ids = list(orders_past_retention(cutoff).values_list("pk", flat=True))
    for start in range(0, len(order_ids), _CHUNK):
        with transaction.atomic():
            changed += Order.objects.filter(pk__in=order_ids[start : start + _CHUNK]).update(
                **dict.fromkeys(ORDER_PII_FIELDS, "")
            )
    with transaction.atomic():
        changed += (
            Return.objects.filter(returned_at__lt=cutoff)
            .filter(_has_any(RETURN_PII_FIELDS))
            .update(**dict.fromkeys(RETURN_PII_FIELDS, ""))
        )
    with transaction.atomic():
        changed += (
            transactions_past_retention(cutoff)
            .filter(_has_any(TRANSACTION_PII_FIELDS))
            .update(**dict.fromkeys(TRANSACTION_PII_FIELDS, ""))
        )
    return changed


def transactions_past_retention(cutoff: datetime) -> QuerySet[VatTransaction]:
    """VCS Lite sales and refunds of before `cutoff` that no invoice will be made from here:
    all but those waiting for their invoice (open, of a marketplace in VCS Lite mode)."""
    waiting = Q(invoicing=VatTransaction.Invoicing.OPEN) & Q(
        marketplace_id__in=AccountMarketplace.objects.filter(
            account=OuterRef("account"), invoicing_mode=InvoicingMode.VCS_LITE
        ).values("marketplace_id")
    )
    return VatTransaction.objects.filter(happened_on__lt=cutoff.date()).exclude(waiting)


def invoice_retention_cutoff(*, retention_years: int, now: datetime | None = None) -> date:
    """The first issue date whose invoices still keep their buyer: `retention_years` before
    today (28 February for a 29th)."""
    if retention_years < 0:
        raise ValueError("retention_years must not be negative")
    today = timezone.localdate(now or timezone.now())
    try:
        return today.replace(year=today.year - retention_years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - retention_years, day=28)


def remove_expired_invoice_buyers(*, retention_years: int, now: datetime | None = None) -> int:
    """Blank the buyer's name and address on invoices issued here more than `retention_years`
    ago (their legal retention is over); numbers, amounts and lines stay. Idempotent. Returns
    how many invoices changed."""
    cutoff = invoice_retention_cutoff(retention_years=retention_years, now=now)
    with transaction.atomic():
        return (
            Invoice.objects.filter(issued_on__lt=cutoff)
            .filter(_has_any(INVOICE_PII_FIELDS))
            .update(**dict.fromkeys(INVOICE_PII_FIELDS, ""))
        )
