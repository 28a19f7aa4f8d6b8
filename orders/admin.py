"""Admin for the imported records: read-mostly, provenance read-only, no buyer data in lists."""

from __future__ import annotations

from django.contrib import admin

from orders.models import (
    Invoice,
    InvoiceLine,
    InvoiceSequence,
    Order,
    OrderItem,
    OrderStatusChange,
    Return,
    ShipmentLine,
    StockChange,
    StockLevel,
    StockSnapshot,
    VatTransaction,
    WaitingOrderStatus,
)

PROVENANCE = ("source_report_id", "source_line")


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0
    fields = (
        "order_item_id",
        "sku",
        "product_name",
        "quantity_ordered",
        "quantity_shipped",
        "item_price",
        "item_tax",
        "shipping_price",
        "shipping_tax",
        "gift_wrap_price",
        "gift_wrap_tax",
        "item_promotion_discount",
        "ship_promotion_discount",
        *PROVENANCE,
    )
    readonly_fields = PROVENANCE
    show_change_link = True


class OrderStatusChangeInline(admin.TabularInline):
    model = OrderStatusChange
    extra = 0
    fields = ("from_status", "to_status", "at", "recorded_at", *PROVENANCE)
    readonly_fields = fields
    can_delete = False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    # Lists show no buyer data: the admin is used for support, and lists are screen-shared.
    list_display = (
        "amazon_order_id",
        "account",
        "marketplace_id",
        "fulfillment_channel",
        "status",
        "purchased_at",
        "total",
        "currency",
    )
    list_filter = ("fulfillment_channel", "status", "marketplace_id", "account")
    search_fields = ("amazon_order_id", "items__sku")
    date_hierarchy = "purchased_at"
    readonly_fields = (*PROVENANCE, "created_at", "changed_at")
    list_select_related = ("account",)
    inlines = [OrderItemInline, OrderStatusChangeInline]


@admin.register(WaitingOrderStatus)
class WaitingOrderStatusAdmin(admin.ModelAdmin):
    list_display = ("amazon_order_id", "account", "status", "last_updated_at", "source_report_id")
    list_filter = ("status", "account")
    search_fields = ("amazon_order_id",)
    readonly_fields = PROVENANCE


@admin.register(ShipmentLine)
class ShipmentLineAdmin(admin.ModelAdmin):
    list_display = (
        "shipment_id",
        "shipment_item_id",
        "order",
        "quantity",
        "carrier",
        "fulfillment_center_id",
        "shipped_at",
    )
    search_fields = ("shipment_id", "order__amazon_order_id", "tracking_number")
    readonly_fields = PROVENANCE
    raw_id_fields = ("order", "item")
    list_select_related = ("order",)


@admin.register(Return)
class ReturnAdmin(admin.ModelAdmin):
    list_display = (
        "amazon_order_id",
        "sku",
        "quantity",
        "returned_at",
        "detailed_disposition",
        "reason",
        "order_missing",
    )
    list_filter = ("order_missing", "detailed_disposition", "account")
    search_fields = ("amazon_order_id", "sku", "license_plate_number")
    readonly_fields = PROVENANCE
    raw_id_fields = ("order",)


class StockChangeInline(admin.TabularInline):
    model = StockChange
    extra = 0
    readonly_fields = ("at", "previous_quantity", "quantity", "source_report_id")
    can_delete = False


@admin.register(StockLevel)
class StockLevelAdmin(admin.ModelAdmin):
    list_display = ("sku", "condition", "quantity", "fnsku", "account", "changed_at")
    list_filter = ("condition", "account")
    search_fields = ("sku", "fnsku", "asin")
    readonly_fields = PROVENANCE
    inlines = [StockChangeInline]


@admin.register(StockSnapshot)
class StockSnapshotAdmin(admin.ModelAdmin):
    list_display = ("account", "taken_at", "rows", "units", "source_report_id")
    readonly_fields = ("source_report_id",)


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = (
        "number",
        "kind",
        "source",
        "status",
        "amazon_order_id",
        "issued_on",
        "gross",
        "currency",
    )
    list_filter = ("kind", "source", "status", "account")
    search_fields = ("number", "amazon_order_id", "transaction_id")
    readonly_fields = PROVENANCE
    raw_id_fields = ("order", "vat_transaction", "corrected_invoice")
    inlines = [InvoiceLineInline]

    def get_readonly_fields(self, request, obj=None):
        # A document issued here is what it printed: nothing of it changes by hand.
        if obj is not None and obj.source == Invoice.Source.GENERATED:
            return [f.name for f in Invoice._meta.concrete_fields]
        return super().get_readonly_fields(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        # Numbers are never deleted: a wrong document is cancelled and keeps its number.
        return False


@admin.register(VatTransaction)
class VatTransactionAdmin(admin.ModelAdmin):
    list_display = ("amazon_order_id", "kind", "transaction_id", "happened_on", "invoicing")
    list_filter = ("kind", "invoicing", "account")
    search_fields = ("amazon_order_id", "transaction_id")
    readonly_fields = (*PROVENANCE, "invoicing", "lines")
    raw_id_fields = ("order",)


@admin.register(InvoiceSequence)
class InvoiceSequenceAdmin(admin.ModelAdmin):
    list_display = ("account", "kind", "year", "last_number")
    # Numbers are handed out by the importer under a row lock; editing here could reuse one.
    readonly_fields = ("last_number",)
