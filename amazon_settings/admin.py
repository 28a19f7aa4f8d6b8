from django.contrib import admin

from amazon_settings.models import AccountMarketplace, ApiCall, PushSubscription, SellerAccount


class AccountMarketplaceInline(admin.TabularInline):
    model = AccountMarketplace
    extra = 0
    fields = ["marketplace_id", "country_code", "name", "currency", "is_participating", "selected"]
    readonly_fields = ["marketplace_id", "country_code", "name", "currency", "is_participating"]


@admin.register(SellerAccount)
class SellerAccountAdmin(admin.ModelAdmin):
    list_display = [
        "display_name",
        "selling_partner_id",
        "region",
        "status",
        "order_import_active",
        "authorized_at",
        "last_success_at",
    ]
    list_filter = ["region", "status", "order_import_active"]
    search_fields = ["display_name", "selling_partner_id"]
    # The refresh token is never shown, not even encrypted.
    exclude = ["refresh_token_encrypted"]
    readonly_fields = [
        "selling_partner_id",
        "region",
        "authorization_method",
        "authorized_at",
        "status",
        "status_detail",
        "status_changed_at",
        "last_success_at",
        "last_attempt_at",
        "last_error",
        "last_error_at",
        "created_at",
        "disconnected_at",
    ]
    inlines = [AccountMarketplaceInline]


@admin.register(ApiCall)
class ApiCallAdmin(admin.ModelAdmin):
    list_display = ["at", "account", "operation", "outcome", "http_status", "duration_ms"]
    list_filter = ["outcome", "operation", "account"]
    date_hierarchy = "at"
    search_fields = ["request_id", "error_code", "error_message"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PushSubscription)
class PushSubscriptionAdmin(admin.ModelAdmin):
    """Read-only: push is switched on Settings; the worker's push pass writes the rest."""

    list_display = ["account", "state", "cause", "last_notification_at", "next_attempt_at"]
    list_filter = ["state", "cause"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
