"""Records as the API shows them (dicts the schemas in `api.schemas` validate), with buyers'
personal data left out for tokens without the `pii` scope and once the retention is over."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from amazon_settings.models import SellerAccount
from api.models import ApiToken, Scope
from orders.models import (
    LINE_AMOUNT_FIELDS,
    ORDER_TOTAL_FIELDS,
    Invoice,
    Order,
    Return,
    StockChange,
    StockLevel,
)
from orders.privacy import (
    INVOICE_PII_FIELDS,
    ORDER_PII_FIELDS,
    invoice_retention_cutoff,
    retention_reference,
)
from reports.models import Report

_ORDER_FIELDS = (
    "id",
    "account_id",
    "amazon_order_id",
    "marketplace_id",
    "sales_channel",
    "fulfillment_channel",
    "status",
    "purchased_at",
    "last_updated_at",
    "is_business_order",
    "currency",
    "buyer_company_name",
    "buyer_vat_number",
    "seller_vat_number",
    "purchase_order_number",
    "ship_country",
    "ship_service_level",
    "bill_country",
    "created_at",
    "changed_at",
)
_ITEM_FIELDS = (
    "order_item_id",
    "sku",
    "asin",
    "product_name",
    "quantity_ordered",
    "quantity_shipped",
    "item_promotion_id",
    "ship_promotion_id",
)
_LINE_FIELDS = (
    "shipment_id",
    "shipment_item_id",
    "quantity",
    "carrier",
    "tracking_number",
    "fulfillment_center_id",
    "shipped_at",
    "reported_at",
    "estimated_arrival_at",
)
_RETURN_FIELDS = (
    "id",
    "account_id",
    "order_id",
    "amazon_order_id",
    "returned_at",
    "sku",
    "asin",
    "fnsku",
    "product_name",
    "quantity",
    "fulfillment_center_id",
    "detailed_disposition",
    "reason",
    "status",
    "license_plate_number",
)
_STOCK_FIELDS = (
    "id",
    "account_id",
    "sku",
    "condition",
    "fnsku",
    "asin",
    "condition_type",
    "quantity",
    "changed_at",
)
_INVOICE_FIELDS = (
    "id",
    "account_id",
    "order_id",
    "amazon_order_id",
    "number",
    "kind",
    "source",
    "status",
    "issued_on",
    "delivered_on",
    "transaction_id",
    "shipment_id",
    "marketplace_id",
    "currency",
    "net",
    "vat",
    "gross",
    "original_number",
    "cancelled_at",
    "cancellation_reason",
    "seller_name",
    "seller_address",
    "seller_vat_id",
    "buyer_vat_number",
)
_REPORT_FIELDS = (
    "id",
    "account_id",
    "report_type",
    "marketplace_ids",
    "data_start",
    "data_end",
    "source",
    "amazon_status",
    "import_status",
    "failure_reason",
    "rows_total",
    "rows_created",
    "rows_updated",
    "rows_unchanged",
    "rows_failed",
    "created_at",
    "imported_at",
)


def _pick(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in fields}


@dataclass(frozen=True)
class Viewer:
    """What one request may see: buyer data only with the `pii` scope, and only of records
    whose retention (`PII_RETENTION_DAYS`) is not over at `now`."""

    pii: bool
    now: datetime

    @classmethod
    def of(cls, token: ApiToken, *, now: datetime | None = None) -> Viewer:
        return cls(pii=token.has_scope(Scope.PII), now=now or timezone.now())

    def may_see(self, reference: datetime | None) -> bool:
        cutoff = self.now - timedelta(days=settings.PII_RETENTION_DAYS)
        return self.pii and reference is not None and reference >= cutoff

    def may_see_invoice_buyer(self, issued_on: date | None) -> bool:
        """An invoice keeps its buyer for the tax retention (`INVOICE_RETENTION_YEARS`), as
        `orders.privacy.remove_expired_invoice_buyers` does: the same cutoff, so the removal
        changes nothing served."""
        if not self.pii:
            return False
        if issued_on is None:
            return True
        retention_years = settings.INVOICE_RETENTION_YEARS
        return issued_on >= invoice_retention_cutoff(retention_years=retention_years, now=self.now)


def order(order: Order, viewer: Viewer) -> dict[str, Any]:
    out = _pick(order, _ORDER_FIELDS)
    out["amounts"] = {**_pick(order, ORDER_TOTAL_FIELDS), "tax_total": order.tax_total}
    out["amounts"]["total"] = order.total
    reference = retention_reference(order, last_shipped_at=getattr(order, "last_shipped_at", None))
    out["buyer"] = _pick(order, ORDER_PII_FIELDS) if viewer.may_see(reference) else None
    items = list(order.items.all())
    out["items"] = [
        {**_pick(item, _ITEM_FIELDS), "amounts": _pick(item, LINE_AMOUNT_FIELDS)} for item in items
    ]
    out["shipments"] = [
        {
            **_pick(line, _LINE_FIELDS),
            "order_item_id": line.item.order_item_id if line.item else None,
            "amounts": _pick(line, LINE_AMOUNT_FIELDS),
        }
        for line in order.shipment_lines.all()
    ]
    return out


def return_line(ret: Return, viewer: Viewer) -> dict[str, Any]:
    out = _pick(ret, _RETURN_FIELDS)
    out["customer_comments"] = ret.customer_comments if viewer.may_see(ret.returned_at) else None
    return out


def stock_level(level: StockLevel) -> dict[str, Any]:
    return _pick(level, _STOCK_FIELDS)


def stock_change(change: StockChange) -> dict[str, Any]:
    return {
        "id": change.pk,
        "stock_level_id": change.level_id,
        "at": change.at,
        "previous_quantity": change.previous_quantity,
        "quantity": change.quantity,
    }


def invoice(invoice: Invoice, viewer: Viewer) -> dict[str, Any]:
    out = _pick(invoice, _INVOICE_FIELDS)
    shown = viewer.may_see_invoice_buyer(invoice.issued_on)
    for name in INVOICE_PII_FIELDS:
        out[name] = getattr(invoice, name) if shown else None
    out["amazon_url"] = invoice.url
    out["pdf_path"] = (
        reverse("api:invoice_pdf", kwargs={"invoice_id": invoice.pk})
        if invoice.source == Invoice.Source.GENERATED
        else None
    )
    out["lines"] = [
        {
            "position": line.position,
            "description": line.description,
            "sku": line.sku,
            "quantity": line.quantity,
            "vat_rate": line.vat_rate,
            "net": line.net,
            "vat": line.vat,
            "gross": line.gross,
        }
        for line in invoice.lines.all()
    ]
    return out


def account(account: SellerAccount) -> dict[str, Any]:
    out = _pick(
        account,
        (
            "id",
            "display_name",
            "selling_partner_id",
            "region",
            "status",
            "status_detail",
            "status_changed_at",
            "last_success_at",
            "last_error_at",
            "order_import_active",
            "disconnected_at",
        ),
    )
    out["marketplaces"] = [
        _pick(
            m,
            ("marketplace_id", "country_code", "name", "currency", "selected", "invoicing_mode"),
        )
        for m in account.marketplaces.all()
    ]
    return out


def report(report: Report) -> dict[str, Any]:
    return _pick(report, _REPORT_FIELDS)
