"""What the API answers: one schema per resource, the pages and change pages that carry them,
and the one error shape. These are the OpenAPI schema's components."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from ninja import Schema
from pydantic import Field


class ErrorDetail(Schema):
    code: str = Field(
        description="invalid_parameter (400), not_authenticated (401), forbidden (403), "
        "not_found (404), method_not_allowed (405), rate_limited (429), server_error (500)"
    )
    message: str
    field: str | None = Field(None, description="The parameter at fault, if one is.")


class ErrorOut(Schema):
    """Every error the API answers (400, 401, 403, 404, 405, 429, 500) has this shape."""

    error: ErrorDetail


class LineAmounts(Schema):
    item_price: Decimal
    item_tax: Decimal
    shipping_price: Decimal
    shipping_tax: Decimal
    gift_wrap_price: Decimal
    gift_wrap_tax: Decimal
    item_promotion_discount: Decimal = Field(description="Negative, as Amazon writes it.")
    ship_promotion_discount: Decimal = Field(description="Negative, as Amazon writes it.")


class OrderItemOut(Schema):
    order_item_id: str
    sku: str
    asin: str
    product_name: str
    quantity_ordered: int
    quantity_shipped: int
    item_promotion_id: str
    ship_promotion_id: str
    amounts: LineAmounts


class ShipmentLineOut(Schema):
    shipment_id: str
    shipment_item_id: str
    order_item_id: str | None
    quantity: int
    carrier: str
    tracking_number: str
    fulfillment_center_id: str
    shipped_at: datetime | None
    reported_at: datetime | None
    estimated_arrival_at: datetime | None
    amounts: LineAmounts


class OrderAmounts(Schema):
    items_total: Decimal
    tax_total: Decimal
    shipping_total: Decimal
    gift_wrap_total: Decimal
    promotion_total: Decimal
    total: Decimal = Field(description="items + shipping + gift wrap + promotions (negative).")


class BuyerOut(Schema):
    """Buyers' personal data: only for tokens with the `pii` scope, within the retention."""

    buyer_name: str
    buyer_email: str
    buyer_phone: str
    recipient_name: str
    ship_address_1: str
    ship_address_2: str
    ship_address_3: str
    ship_city: str
    ship_state: str
    ship_postal_code: str
    ship_phone: str
    billing_name: str
    bill_address_1: str
    bill_address_2: str
    bill_address_3: str
    bill_city: str
    bill_state: str
    bill_postal_code: str


class OrderOut(Schema):
    id: int
    account_id: int
    amazon_order_id: str
    marketplace_id: str
    sales_channel: str
    fulfillment_channel: str
    status: str
    purchased_at: datetime | None
    last_updated_at: datetime | None
    is_business_order: bool
    currency: str
    amounts: OrderAmounts
    buyer_company_name: str
    buyer_vat_number: str
    seller_vat_number: str
    purchase_order_number: str
    ship_country: str
    ship_service_level: str
    bill_country: str
    buyer: BuyerOut | None = Field(
        description="Null without the `pii` scope and once the retention is over."
    )
    items: list[OrderItemOut]
    shipments: list[ShipmentLineOut]
    created_at: datetime
    changed_at: datetime | None


class ReturnOut(Schema):
    id: int
    account_id: int
    order_id: int | None
    amazon_order_id: str
    returned_at: datetime
    sku: str
    asin: str
    fnsku: str
    product_name: str
    quantity: int
    fulfillment_center_id: str
    detailed_disposition: str
    reason: str
    status: str
    license_plate_number: str
    customer_comments: str | None = Field(
        description="The buyer's words: null without the `pii` scope or after the retention."
    )


class StockLevelOut(Schema):
    id: int
    account_id: int
    sku: str
    condition: str
    fnsku: str
    asin: str
    condition_type: str
    quantity: int
    changed_at: datetime


class StockChangeOut(Schema):
    id: int
    stock_level_id: int
    at: datetime
    previous_quantity: int
    quantity: int


class InvoiceLineOut(Schema):
    position: int
    description: str
    sku: str
    quantity: int
    vat_rate: Decimal
    net: Decimal
    vat: Decimal
    gross: Decimal


class InvoiceOut(Schema):
    id: int
    account_id: int
    order_id: int | None
    amazon_order_id: str
    number: str
    kind: str = Field(description="invoice or credit_note")
    source: str = Field(description="amazon_vcs, vcs_lite or generated")
    status: str = Field(description="issued or cancelled")
    issued_on: date | None
    delivered_on: date | None
    transaction_id: str
    shipment_id: str
    marketplace_id: str
    currency: str
    net: Decimal
    vat: Decimal
    gross: Decimal
    original_number: str
    cancelled_at: datetime | None
    cancellation_reason: str
    seller_name: str
    seller_address: str
    seller_vat_id: str
    buyer_vat_number: str
    buyer_name: str | None = Field(
        description="Null without the `pii` scope and once the tax retention is over."
    )
    buyer_address: str | None = Field(
        description="Null without the `pii` scope and once the tax retention is over."
    )
    amazon_url: str = Field(description="Amazon's own document, for Amazon's invoices.")
    pdf_path: str | None = Field(description="This API's PDF, for documents issued here.")
    lines: list[InvoiceLineOut]


class MarketplaceOut(Schema):
    marketplace_id: str
    country_code: str
    name: str
    currency: str
    selected: bool
    invoicing_mode: str


class AccountOut(Schema):
    id: int
    display_name: str
    selling_partner_id: str
    region: str
    status: str = Field(description="The connection status.")
    status_detail: str
    status_changed_at: datetime | None
    last_success_at: datetime | None
    last_error_at: datetime | None
    order_import_active: bool
    disconnected_at: datetime | None
    marketplaces: list[MarketplaceOut]


class ReportOut(Schema):
    id: int
    account_id: int
    report_type: str
    marketplace_ids: list[str]
    data_start: datetime | None
    data_end: datetime | None
    source: str
    amazon_status: str
    import_status: str
    failure_reason: str
    rows_total: int
    rows_created: int
    rows_updated: int
    rows_unchanged: int
    rows_failed: int
    created_at: datetime
    imported_at: datetime | None


class Page(Schema):
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


class OrderPage(Page):
    items: list[OrderOut]


class ReturnPage(Page):
    items: list[ReturnOut]


class StockLevelPage(Page):
    items: list[StockLevelOut]


class StockChangePage(Page):
    items: list[StockChangeOut]


class InvoicePage(Page):
    items: list[InvoiceOut]


class AccountPage(Page):
    items: list[AccountOut]


class ReportPage(Page):
    items: list[ReportOut]


class Change(Schema):
    event_id: int = Field(description="The change's id in the change log (unique, never reused).")
    event_type: str
    recorded_at: datetime


class ChangesPage(Schema):
    next_cursor: str = Field(
        description="Store it and pass it as `since` next time: it never skips a change."
    )
    has_more: bool = Field(description="False once everything committed so far is read.")


class OrderChange(Change):
    order: OrderOut


class OrderChangesPage(ChangesPage):
    items: list[OrderChange]


class ReturnChange(Change):
    return_line: ReturnOut


class ReturnChangesPage(ChangesPage):
    items: list[ReturnChange]


class StockChangeEvent(Change):
    stock_level: StockLevelOut


class StockChangesPage(ChangesPage):
    items: list[StockChangeEvent]


class InvoiceChange(Change):
    invoice: InvoiceOut


class InvoiceChangesPage(ChangesPage):
    items: list[InvoiceChange]
