"""The orders app's records: orders, their items, FBA shipment lines, returns, stock, invoices.

Data only, no logic in `save()` or signals: the importers in `orders.importers` write these through
`orders.services`, always as upserts on the unique keys declared here, so importing a document
twice changes nothing.

Provenance: every imported record keeps the report and the document line that last created or
changed it, as the plain integers `source_report_id` (the pipeline's `reports.Report.pk`) and
`source_line` (1-based, the header is line 1). They are integers, not foreign keys, because
`orders` must not import `reports`; one pair per record keeps the tables narrow.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

from amazon_settings.models import SellerAccount

_ZERO = Decimal("0.00")


def _money(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=14, decimal_places=2, default=_ZERO, **kwargs)


class Provenance(models.Model):
    """The report and line that last created or changed a record (see the module docstring)."""

    source_report_id = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    source_line = models.PositiveIntegerField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True


class Order(Provenance):
    """An Amazon order, once per account however many reports mention it."""

    class FulfillmentChannel(models.TextChoices):
        UNKNOWN = "", _("Unknown")
        MFN = "MFN", _("Merchant (MFN)")
        AFN = "AFN", _("Amazon (FBA)")

    class Status(models.TextChoices):
        # Amazon's OrderStatus values; "" until a report tells us.
        UNKNOWN = "", _("Unknown")
        PENDING = "Pending", _("Pending")
        UNSHIPPED = "Unshipped", _("Unshipped")
        PARTIALLY_SHIPPED = "PartiallyShipped", _("Partially shipped")
        SHIPPED = "Shipped", _("Shipped")
        CANCELED = "Canceled", _("Canceled")
        UNFULFILLABLE = "Unfulfillable", _("Unfulfillable")

    # Not indexed alone: every index of this table starts with the account (imports write
    # each index, so an index no query needs costs every import).
    account = models.ForeignKey(
        SellerAccount, on_delete=models.PROTECT, related_name="orders", db_index=False
    )
    amazon_order_id = models.CharField(max_length=32)
    marketplace_id = models.CharField(max_length=20, blank=True)
    sales_channel = models.CharField(max_length=40, blank=True)
    fulfillment_channel = models.CharField(
        max_length=3, choices=FulfillmentChannel.choices, blank=True
    )
    purchased_at = models.DateTimeField(null=True, blank=True)
    # Amazon's last update of the order, as far as the reports tell: a report's last-updated
    # date, or the reporting date of the latest FBA shipment. It never moves back, and a report
    # that knows an older state of the order than this changes neither it nor the status
    # (orders.services.statuses.merge_status): a report arriving late cannot undo a newer one.
    last_updated_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, blank=True)
    is_business_order = models.BooleanField(default=False)
    currency = models.CharField(max_length=3, blank=True)
    # Sums over the items (see OrderItem): item prices, all tax (item, shipping and gift wrap),
    # shipping prices, gift wrap prices, and the item and shipping promotion discounts (negative,
    # as Amazon writes them). What the order comes to is `total`.
    items_total = _money()
    tax_total = _money()
    shipping_total = _money()
    gift_wrap_total = _money()
    promotion_total = _money()
    buyer_name = models.CharField(max_length=200, blank=True)
    buyer_email = models.CharField(max_length=200, blank=True)
    buyer_phone = models.CharField(max_length=60, blank=True)
    buyer_company_name = models.CharField(max_length=200, blank=True)
    purchase_order_number = models.CharField(max_length=60, blank=True)
    recipient_name = models.CharField(max_length=200, blank=True)
    ship_address_1 = models.CharField(max_length=300, blank=True)
    ship_address_2 = models.CharField(max_length=300, blank=True)
    ship_address_3 = models.CharField(max_length=300, blank=True)
    ship_city = models.CharField(max_length=120, blank=True)
    ship_state = models.CharField(max_length=120, blank=True)
    ship_postal_code = models.CharField(max_length=30, blank=True)
    ship_country = models.CharField(max_length=10, blank=True)
    ship_phone = models.CharField(max_length=60, blank=True)
    ship_service_level = models.CharField(max_length=60, blank=True)
    # The billing address, where a report carries one (the FBA shipments report's bill-*
    # columns, the XML order report's BillingData); buyer data like the ship-to address.
    billing_name = models.CharField(max_length=200, blank=True)
    bill_address_1 = models.CharField(max_length=300, blank=True)
    bill_address_2 = models.CharField(max_length=300, blank=True)
    bill_address_3 = models.CharField(max_length=300, blank=True)
    bill_city = models.CharField(max_length=120, blank=True)
    bill_state = models.CharField(max_length=120, blank=True)
    bill_postal_code = models.CharField(max_length=30, blank=True)
    bill_country = models.CharField(max_length=10, blank=True)
    buyer_vat_number = models.CharField(max_length=40, blank=True)
    seller_vat_number = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # A digest of the report lines (and of how they were read: importer, version, header)
    # last written into this order and its items. The same lines again change nothing, so a
    # re-import, a reset or an overlapping report skips them without parsing or comparing
    # (GroupedRowImporter.already_imported, upsert_orders). Empty: never skipped.
    import_digest = models.CharField(max_length=32, blank=True, default="", editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "amazon_order_id"], name="uniq_order_per_account"
            )
        ]
        indexes = [
            # The Orders page: newest first, filtered by account and one of the facets.
            models.Index(fields=["account", "-purchased_at"], name="order_acct_purchased"),
            models.Index(
                fields=["account", "marketplace_id", "-purchased_at"], name="order_acct_mkt"
            ),
            models.Index(
                fields=["account", "fulfillment_channel", "-purchased_at"], name="order_acct_chan"
            ),
            models.Index(fields=["account", "status", "-purchased_at"], name="order_acct_status"),
            models.Index(fields=["-purchased_at"], name="order_purchased"),
            # The home page's orders per day by import day: each day counted up to a limit
            # through this index (reports.dashboard.orders_per_day; by purchase date it
            # reads order_purchased).
            models.Index(fields=["created_at"], name="order_created"),
            # "Where is order X?": an order id without the account. (The search's substring
            # matches use trigram indexes, PostgreSQL only: migration 0010.)
            models.Index(fields=["amazon_order_id"], name="order_amazon_id"),
        ]
        ordering = ["-purchased_at", "-pk"]

    def __str__(self) -> str:
        return self.amazon_order_id

    @property
    def total(self) -> Decimal:
        """What the order comes to: items + shipping + gift wrap - promotion discounts.

        The one definition of an order's total, for every page, export and invoice. Tax is
        not added: EU prices include their VAT, and in NA the sales tax (`tax_total`) is
        shown beside the total. Promotion discounts are stored negative, as Amazon's reports
        write them, so adding `promotion_total` takes them off.
        """
        return sum((getattr(self, name) for name in ORDER_TOTAL_FIELDS), _ZERO)


# The stored sums `Order.total` adds up.
ORDER_TOTAL_FIELDS = ("items_total", "shipping_total", "gift_wrap_total", "promotion_total")

# The amounts of an order line (OrderItem, ShipmentLine), in the order the reports list them.
LINE_AMOUNT_FIELDS = (
    "item_price",
    "item_tax",
    "shipping_price",
    "shipping_tax",
    "gift_wrap_price",
    "gift_wrap_tax",
    "item_promotion_discount",
    "ship_promotion_discount",
)


class OrderStatusChange(Provenance):
    """A change of an imported order's status, with the report (and line) that showed it.

    Written by every import that changes the status of an order imported before: the status
    reports, and the MFN and FBA order reports when a later one says something else. A new
    order's first status is not a change. `at` is when Amazon says the order changed (its
    last-updated date, or the FBA shipment's reporting date); empty when the report gives no
    date (an MFN order report whose lines all have quantity 0). Rows are never updated:
    importing the same report again finds the status as it says and writes nothing.
    """

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=20, choices=Order.Status.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=Order.Status.choices)
    at = models.DateTimeField(null=True, blank=True)
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["order", "recorded_at", "pk"]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.from_status} -> {self.to_status}"


class WaitingOrderStatus(Provenance):
    """What a status report said of an order that is not imported (yet), for the order import.

    A status report lists every order updated in its range, also orders no order report has
    brought in yet (one paid and cancelled between two MFN reports, an FBA order not shipped
    yet). Their newest reported status waits here; when an order import creates the order, the
    waiting status is applied if it is newer than what the order report says (and recorded as
    a change), and the row is deleted either way. Statuses of orders of marketplaces the
    report was not asked for are not kept, and one that waited `statuses.WAITING_STATUS_DAYS`
    since a report last left it (longer than any order report lags behind) is dropped: that
    order is never coming.
    """

    # Indexed by the unique key (account, amazon_order_id), which starts with it.
    account = models.ForeignKey(
        SellerAccount,
        on_delete=models.PROTECT,
        related_name="waiting_order_statuses",
        db_index=False,
    )
    amazon_order_id = models.CharField(max_length=32)
    marketplace_id = models.CharField(max_length=20, blank=True)
    status = models.CharField(max_length=20, choices=Order.Status.choices)
    last_updated_at = models.DateTimeField()
    kept_at = models.DateTimeField()  # when a report last left this status here

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "amazon_order_id"], name="uniq_waiting_status_per_order"
            )
        ]
        indexes = [models.Index(fields=["account", "kept_at"], name="waiting_status_kept")]

    def __str__(self) -> str:
        return f"{self.amazon_order_id}: {self.status}"


class OrderItem(Provenance):
    """One order line.

    Key: (order, order_item_id), Amazon's order item id as the reports that create items carry
    it: `order-item-id` (MFN flat files), `AmazonOrderItemCode` (XML) and `amazon-order-item-id`
    (FBA shipments); VCS Lite rows name it to correct an item's VAT. A row of those reports
    without one is a row error. Reports without any item id (the All Orders files; see
    amzn/selling-partner-api-models issues #544, #442 and #1831) never create items: of the one
    the worker requests, only each order's status and last update are read
    (orders.importers.statuses).
    """

    # Indexed by the unique key (order, order_item_id), which starts with it.
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items", db_index=False)
    order_item_id = models.CharField(max_length=120)
    sku = models.CharField(max_length=100, blank=True)
    asin = models.CharField(max_length=20, blank=True)
    product_name = models.CharField(max_length=500, blank=True)
    quantity_ordered = models.PositiveIntegerField(default=0)
    quantity_shipped = models.PositiveIntegerField(default=0)
    # Totals for the line, as the reports carry them. Promotion discounts are negative, as
    # Amazon writes them (the FBA shipments report, the XML order report); a report that writes
    # one otherwise is imported as it stands, with a row warning (orders.importers.amounts).
    item_price = _money()
    item_tax = _money()
    shipping_price = _money()
    shipping_tax = _money()
    gift_wrap_price = _money()
    gift_wrap_tax = _money()
    item_promotion_discount = _money()
    ship_promotion_discount = _money()
    # The promotions' ids, comma-separated when several apply (MFN reports only: the FBA
    # shipments report has the discounts without ids).
    item_promotion_id = models.CharField(max_length=200, blank=True)
    ship_promotion_id = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order", "order_item_id"], name="uniq_item_per_order")
        ]
        indexes = [models.Index(fields=["sku"], name="orderitem_sku")]
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return f"{self.order_id}/{self.order_item_id}"


class ShipmentLine(Provenance):
    """The part of an order item that left a fulfillment centre in one FBA shipment.

    An order shipped in two parcels is one Order with two shipment ids here. Money columns are
    the shipment's share of the item, as the FBA shipments report carries them; the item's
    totals are the sums over its lines.

    Key: (account, shipment_id, shipment_item_id). A row without a `shipment-item-id` (Amazon
    ships such rows) is keyed by a fallback made of what identifies the line within its
    shipment, so re-imports and overlapping reports find it again: "~" and the row's
    `amazon-order-item-id`; for the n-th such row (n > 1) of the same order item and shipment
    in a document, "~<order item id>~<n>". Amazon's own shipment item ids are letters and
    digits, so a fallback never equals one. A fallback longer than the column is replaced by
    "~" and the hex blake2b digest (16 bytes) of it. Should a later report give that line its
    real shipment item id, it becomes a second line: the rule cannot know the two are one.
    """

    # Indexed by the unique key (account, shipment_id, shipment_item_id), which starts with it.
    account = models.ForeignKey(
        SellerAccount, on_delete=models.PROTECT, related_name="shipment_lines", db_index=False
    )
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shipment_lines")
    item = models.ForeignKey(
        OrderItem, on_delete=models.SET_NULL, null=True, blank=True, related_name="shipment_lines"
    )
    shipment_id = models.CharField(max_length=40)
    shipment_item_id = models.CharField(max_length=40)
    quantity = models.PositiveIntegerField(default=0)
    item_price = _money()
    item_tax = _money()
    shipping_price = _money()
    shipping_tax = _money()
    gift_wrap_price = _money()
    gift_wrap_tax = _money()
    item_promotion_discount = _money()
    ship_promotion_discount = _money()
    carrier = models.CharField(max_length=60, blank=True)
    tracking_number = models.CharField(max_length=80, blank=True)
    fulfillment_center_id = models.CharField(max_length=20, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    reported_at = models.DateTimeField(null=True, blank=True)
    estimated_arrival_at = models.DateTimeField(null=True, blank=True)
    # A digest of the report line last written into this shipment line (see
    # Order.import_digest): FBA shipments reports list an order's shipments apart, so their
    # orders are skipped as unchanged when every line's digest is the stored one.
    import_digest = models.CharField(max_length=32, blank=True, default="", editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "shipment_id", "shipment_item_id"],
                name="uniq_shipment_line_per_account",
            )
        ]
        ordering = ["order", "shipped_at", "pk"]

    def __str__(self) -> str:
        return f"{self.shipment_id}/{self.shipment_item_id}"


class Return(Provenance):
    """A customer return received at an Amazon fulfillment centre.

    Kept even when its order is not imported yet: then `order` is empty, `order_missing` is set,
    and the order upsert links it (and clears the flag) when the order arrives.

    Natural key: (account, amazon_order_id, sku, returned_at, line_key), where `line_key` is the
    license plate number Amazon gives every returned unit, or, for a row without one, a hash of
    the row's content.
    """

    account = models.ForeignKey(SellerAccount, on_delete=models.PROTECT, related_name="returns")
    order = models.ForeignKey(
        Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="returns"
    )
    amazon_order_id = models.CharField(max_length=32)
    order_missing = models.BooleanField(default=False)
    returned_at = models.DateTimeField()
    sku = models.CharField(max_length=100)
    line_key = models.CharField(max_length=80)
    asin = models.CharField(max_length=20, blank=True)
    fnsku = models.CharField(max_length=20, blank=True)
    product_name = models.CharField(max_length=500, blank=True)
    quantity = models.PositiveIntegerField(default=0)
    fulfillment_center_id = models.CharField(max_length=20, blank=True)
    detailed_disposition = models.CharField(max_length=40, blank=True)
    reason = models.CharField(max_length=80, blank=True)
    status = models.CharField(max_length=80, blank=True)
    license_plate_number = models.CharField(max_length=40, blank=True)
    customer_comments = models.CharField(max_length=1000, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "amazon_order_id", "sku", "returned_at", "line_key"],
                name="uniq_return_line",
            )
        ]
        indexes = [
            # The Returns page: newest first. Without it the page joins every order to sort
            # all returns for its first 50.
            models.Index(fields=["-returned_at", "-id"], name="return_returned"),
            models.Index(fields=["account", "amazon_order_id"], name="return_acct_order"),
            models.Index(
                fields=["account", "order_missing"],
                name="return_order_missing",
                condition=models.Q(order_missing=True),
            ),
        ]
        ordering = ["-returned_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.amazon_order_id} {self.sku} x{self.quantity}"


class StockLevel(Provenance):
    """Current FBA units of one SKU in one warehouse condition (SELLABLE, UNSELLABLE)."""

    account = models.ForeignKey(
        SellerAccount, on_delete=models.PROTECT, related_name="stock_levels"
    )
    sku = models.CharField(max_length=100)
    condition = models.CharField(max_length=20)  # Warehouse-Condition-code
    fnsku = models.CharField(max_length=20, blank=True)  # fulfillment-channel-sku
    asin = models.CharField(max_length=20, blank=True)
    condition_type = models.CharField(max_length=40, blank=True)  # NewItem, UsedLikeNew, ...
    quantity = models.IntegerField(default=0)
    changed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "sku", "condition"], name="uniq_stock_per_sku_condition"
            )
        ]
        ordering = ["sku", "condition"]

    def __str__(self) -> str:
        return f"{self.sku} {self.condition}: {self.quantity}"


class StockChange(models.Model):
    """One change of a StockLevel, written by the stock report that saw it."""

    level = models.ForeignKey(StockLevel, on_delete=models.CASCADE, related_name="changes")
    at = models.DateTimeField()
    previous_quantity = models.IntegerField()
    quantity = models.IntegerField()
    source_report_id = models.PositiveBigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.level}: {self.previous_quantity} -> {self.quantity}"

    @property
    def delta(self) -> int:
        return self.quantity - self.previous_quantity


class StockSnapshot(models.Model):
    """Size of one imported stock report: what the next report's drop guard compares against."""

    account = models.ForeignKey(
        SellerAccount, on_delete=models.PROTECT, related_name="stock_snapshots"
    )
    taken_at = models.DateTimeField()
    rows = models.PositiveIntegerField()
    units = models.PositiveBigIntegerField()
    source_report_id = models.PositiveBigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        get_latest_by = ["taken_at", "pk"]
        ordering = ["-taken_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.rows} rows, {self.units} units at {self.taken_at:%Y-%m-%d %H:%M}"


class DocumentKind(models.TextChoices):
    INVOICE = "invoice", _("Invoice")
    CREDIT_NOTE = "credit_note", _("Credit note")


class VatTransaction(Provenance):
    """A sale (shipment) or refund as Amazon's VCS Lite data lists it: what an invoice or
    credit note issued here is made from.

    Key: (account, kind, transaction_id), Amazon's `transaction-id`, the shipment's id for a
    sale. Kept whether or not it is invoiced here: `invoicing` says who issued its document.
    OPEN ones of a marketplace in VCS Lite mode are waiting for their invoice, which
    `orders.services.invoicing.issue_waiting_invoices` issues once the seller's legal data is
    complete. `lines` are the invoice lines the VCS Lite rows give (see
    `orders.importers.vcs`); the buyer fields are the buyer data an invoice prints, blanked by
    the buyer-data removal once no invoice will be made from them (`orders.privacy`).
    """

    class Invoicing(models.TextChoices):
        OPEN = "open", _("No invoice yet")
        ISSUED = "issued", _("Invoiced here")
        AMAZON = "amazon", _("Invoiced by Amazon")
        SELLER = "seller", _("Invoiced by the seller elsewhere")

    # Indexed by the unique key (account, kind, transaction_id), which starts with it.
    account = models.ForeignKey(
        SellerAccount, on_delete=models.PROTECT, related_name="vat_transactions", db_index=False
    )
    order = models.ForeignKey(
        Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="vat_transactions"
    )
    amazon_order_id = models.CharField(max_length=32)
    marketplace_id = models.CharField(max_length=20, blank=True)
    kind = models.CharField(max_length=12, choices=DocumentKind.choices)
    transaction_id = models.CharField(max_length=80)
    shipment_id = models.CharField(max_length=40, blank=True)
    # `shipment-date`: when a sale was delivered (shipped), when a refund was made.
    happened_on = models.DateField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    is_amazon_invoiced = models.BooleanField(default=False)
    # The number the VCS Lite data gives the transaction's document, if any (Amazon's, or the
    # one the seller uploaded), and for a refund the invoice it corrects.
    document_number = models.CharField(max_length=80, blank=True)
    original_number = models.CharField(max_length=80, blank=True)
    buyer_name = models.CharField(max_length=200, blank=True)
    buyer_company_name = models.CharField(max_length=200, blank=True)
    buyer_vat_number = models.CharField(max_length=40, blank=True)
    buyer_address_1 = models.CharField(max_length=300, blank=True)
    buyer_address_2 = models.CharField(max_length=300, blank=True)
    buyer_address_3 = models.CharField(max_length=300, blank=True)
    buyer_city = models.CharField(max_length=120, blank=True)
    buyer_state = models.CharField(max_length=120, blank=True)
    buyer_postal_code = models.CharField(max_length=30, blank=True)
    buyer_country = models.CharField(max_length=10, blank=True)
    lines = models.JSONField(default=list, blank=True)
    invoicing = models.CharField(
        max_length=8, choices=Invoicing.choices, default=Invoicing.OPEN, db_index=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "kind", "transaction_id"], name="uniq_vat_transaction"
            )
        ]
        indexes = [
            models.Index(fields=["account", "amazon_order_id"], name="vattxn_acct_order"),
        ]
        ordering = ["happened_on", "pk"]

    def __str__(self) -> str:
        return f"{self.amazon_order_id} {self.kind} {self.transaction_id}"


class Invoice(Provenance):
    """An invoice or credit note for (part of) an order.

    `source` says who issued it: Amazon (VCS report, with Amazon's number and download URL), the
    seller elsewhere (a number its VCS Lite data or VCS report carries), or this app
    (`generated`, numbered from `InvoiceSequence`). Kept with its order id when the order is not
    imported yet; the order upsert links it later. `transaction_id` is the shipment or return
    it covers.

    A generated document is made from one `VatTransaction` (`vat_transaction`, unique: one
    document per sale or refund, whatever the order of the imports) and stores a snapshot of
    what it prints when it is issued: seller, buyer, dates and its `lines`. Pages and PDFs read
    the snapshot, never the order, so the buyer-data removal leaves issued invoices as they
    were. A number is never reused or deleted: a generated document that turns out to double
    Amazon's is `cancelled`, with the reason, and keeps its number.
    """

    Kind = DocumentKind

    class Source(models.TextChoices):
        AMAZON_VCS = "amazon_vcs", _("Amazon (VCS)")
        VCS_LITE = "vcs_lite", _("Seller (VCS Lite)")
        GENERATED = "generated", _("Generated here")

    class Status(models.TextChoices):
        ISSUED = "issued", _("Issued")
        CANCELLED = "cancelled", _("Cancelled")

    account = models.ForeignKey(SellerAccount, on_delete=models.PROTECT, related_name="invoices")
    order = models.ForeignKey(
        Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="invoices"
    )
    amazon_order_id = models.CharField(max_length=32)
    number = models.CharField(max_length=80)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    source = models.CharField(max_length=12, choices=Source.choices)
    issued_on = models.DateField(null=True, blank=True)
    transaction_id = models.CharField(max_length=80, blank=True)
    shipment_id = models.CharField(max_length=40, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    net = _money()
    vat = _money()
    gross = _money()
    url = models.URLField(max_length=1000, blank=True)
    original_number = models.CharField(max_length=80, blank=True)  # credit note -> invoice
    is_corrected = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ISSUED)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancellation_reason = models.CharField(max_length=300, blank=True)
    # What a generated document was made from and, for a credit note, the invoice it corrects.
    vat_transaction = models.OneToOneField(
        VatTransaction,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invoice",
    )
    corrected_invoice = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="credit_notes"
    )
    # The snapshot of a generated document (empty for Amazon's and the seller's own).
    marketplace_id = models.CharField(max_length=20, blank=True)
    delivered_on = models.DateField(null=True, blank=True)
    seller_name = models.CharField(max_length=200, blank=True)
    seller_address = models.TextField(blank=True)
    seller_vat_id = models.CharField(max_length=20, blank=True)
    buyer_name = models.CharField(max_length=200, blank=True)
    buyer_address = models.TextField(blank=True)
    buyer_vat_number = models.CharField(max_length=40, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "number", "kind"], name="uniq_invoice_number"
            ),
            # One generated document per shipment/return: VCS Lite imports can then run twice.
            models.UniqueConstraint(
                fields=["account", "kind", "transaction_id"],
                condition=models.Q(source="generated"),
                name="uniq_generated_invoice_per_transaction",
            ),
        ]
        indexes = [
            # The Invoices page: newest first, read through this index a page at a time.
            models.Index(fields=["-issued_on", "-id"], name="invoice_issued"),
            models.Index(fields=["account", "amazon_order_id"], name="invoice_acct_order"),
            models.Index(fields=["account", "transaction_id"], name="invoice_acct_txn"),
        ]
        ordering = ["-issued_on", "-pk"]

    def __str__(self) -> str:
        return self.number

    @property
    def is_cancelled(self) -> bool:
        return self.status == self.Status.CANCELLED

    @property
    def has_snapshot(self) -> bool:
        """Whether the document holds what it prints (generated ones issued with their lines)."""
        return bool(self.seller_name)


class InvoiceLine(models.Model):
    """One line of a generated invoice's snapshot: what it sold, at which VAT rate.

    Amounts are the line's totals in the invoice's currency, negative on credit notes, as
    Amazon's VCS Lite data gives them; `vat_rate` is a percentage (19.00).
    """

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    description = models.CharField(max_length=500)
    sku = models.CharField(max_length=100, blank=True)
    quantity = models.IntegerField(default=1)
    vat_rate = models.DecimalField(max_digits=5, decimal_places=2, default=_ZERO)
    net = _money()
    vat = _money()
    gross = _money()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["invoice", "position"], name="uniq_invoice_line")
        ]
        ordering = ["invoice", "position"]

    def __str__(self) -> str:
        return f"{self.invoice_id}/{self.position} {self.description}"


class InvoiceSequence(models.Model):
    """The last number issued per (account, kind, year): gapless numbering of generated invoices.

    Updated under `select_for_update` in the same transaction that creates the invoices, so a
    rolled-back import returns its numbers and two imports never hand out the same one.
    """

    account = models.ForeignKey(
        SellerAccount, on_delete=models.PROTECT, related_name="invoice_sequences"
    )
    kind = models.CharField(max_length=12, choices=DocumentKind.choices)
    year = models.PositiveSmallIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "kind", "year"], name="uniq_invoice_sequence"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.year}: {self.last_number}"
