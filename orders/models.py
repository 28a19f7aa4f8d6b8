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
        UNKNOWN = "", "Unknown"
        MFN = "MFN", "Merchant (MFN)"
        AFN = "AFN", "Amazon (FBA)"

    class Status(models.TextChoices):
        # Amazon's OrderStatus values; "" until a report tells us.
        UNKNOWN = "", "Unknown"
        PENDING = "Pending", "Pending"
        UNSHIPPED = "Unshipped", "Unshipped"
        PARTIALLY_SHIPPED = "PartiallyShipped", "Partially shipped"
        SHIPPED = "Shipped", "Shipped"
        CANCELED = "Canceled", "Canceled"
        UNFULFILLABLE = "Unfulfillable", "Unfulfillable"

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
    last_updated_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, blank=True)
    is_business_order = models.BooleanField(default=False)
    currency = models.CharField(max_length=3, blank=True)
    # Sums over the items: item prices, all tax (item + shipping), shipping prices.
    items_total = _money()
    tax_total = _money()
    shipping_total = _money()
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
            # The home page's "orders imported per day": each day counted up to a limit
            # through this index (reports.diagnosis.orders_per_day).
            models.Index(fields=["created_at"], name="order_created"),
            # "Where is order X?": an order id without the account. (Search by buyer or part of
            # an id is a substring match, which no B-tree index serves.)
            models.Index(fields=["amazon_order_id"], name="order_amazon_id"),
        ]
        ordering = ["-purchased_at", "-pk"]

    def __str__(self) -> str:
        return self.amazon_order_id


class OrderItem(Provenance):
    """One order line.

    Key: (order, order_item_id), Amazon's order item id as the reports that create items carry
    it: `order-item-id` (MFN flat files), `AmazonOrderItemCode` (XML) and `amazon-order-item-id`
    (FBA shipments); VCS Lite rows name it to correct an item's VAT. A row of those reports
    without one is a row error. Reports without any item id (the All Orders files; see
    amzn/selling-partner-api-models issues #544, #442 and #1831) are not imported.
    """

    # Indexed by the unique key (order, order_item_id), which starts with it.
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items", db_index=False)
    order_item_id = models.CharField(max_length=120)
    sku = models.CharField(max_length=100, blank=True)
    asin = models.CharField(max_length=20, blank=True)
    product_name = models.CharField(max_length=500, blank=True)
    quantity_ordered = models.PositiveIntegerField(default=0)
    quantity_shipped = models.PositiveIntegerField(default=0)
    # Totals for the line, as the reports carry them.
    item_price = _money()
    item_tax = _money()
    shipping_price = _money()
    shipping_tax = _money()

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


class Invoice(Provenance):
    """An invoice or credit note for (part of) an order.

    `source` says who issued it: Amazon (VCS report, with Amazon's number and download URL), the
    seller through VCS Lite (a number the seller uploaded), or this app (`generated`, numbered
    from `InvoiceSequence`). Kept with its order id when the order is not imported yet; the order
    upsert links it later. `transaction_id` is the shipment or return it covers.
    """

    class Kind(models.TextChoices):
        INVOICE = "invoice", "Invoice"
        CREDIT_NOTE = "credit_note", "Credit note"

    class Source(models.TextChoices):
        AMAZON_VCS = "amazon_vcs", "Amazon (VCS)"
        VCS_LITE = "vcs_lite", "Seller (VCS Lite)"
        GENERATED = "generated", "Generated here"

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


class InvoiceSequence(models.Model):
    """The last number issued per (account, kind, year): gapless numbering of generated invoices.

    Updated under `select_for_update` in the same transaction that creates the invoices, so a
    rolled-back import returns its numbers and two imports never hand out the same one.
    """

    account = models.ForeignKey(
        SellerAccount, on_delete=models.PROTECT, related_name="invoice_sequences"
    )
    kind = models.CharField(max_length=12, choices=Invoice.Kind.choices)
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
