from django.contrib import admin

from reports.models import RejectedNotification


@admin.register(RejectedNotification)
class RejectedNotificationAdmin(admin.ModelAdmin):
    """Messages of the notification queue that could not be handled, with why (read-only)."""

    list_display = ["received_at", "reason", "message_id"]
    date_hierarchy = "received_at"
    search_fields = ["reason", "message_id"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
