from django.contrib import admin

from core.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit log, read-only: evidence is not edited, not even by a superuser."""

    list_display = ["at", "username", "action", "object_type", "object_id", "status_code"]
    list_filter = ["action", "object_type"]
    date_hierarchy = "at"
    search_fields = ["username", "action", "object_id", "detail"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
