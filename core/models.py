from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class ProductPermission(models.Model):
    """No table, no rows: Django hangs every permission on a model, and `operate` belongs to the
    whole product rather than to one app's model. `operate` separates the roles (`core.roles`):
    without it a user can look at every page but change nothing. `view_buyer_data` guards
    buyers' personal data (Amazon's Data Protection Policy: only who needs it sees it)."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("operate", "Can connect accounts, request and manage reports, change settings"),
            (
                "view_buyer_data",
                "Can see buyers' names, addresses, e-mails and phone numbers, and raw reports",
            ),
        ]

    def __str__(self) -> str:
        return "product permissions"


class AuditEvent(models.Model):
    """One change a user made through the dashboard: who, what, on which object, with what result.

    Written by `core.roles.RoleMiddleware` for every unsafe request that succeeded, from the
    URL name and its resolved arguments only: never from the request body, which can hold a
    refresh token. `username` keeps the name readable after the user is deleted.
    """

    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_events",
    )
    username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=100, help_text="The URL name, e.g. reports:reset.")
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=100, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    detail = models.CharField(max_length=500, blank=True)

    class Meta:
        # The table kept the name it had when the model lived in amazon_settings.
        db_table = "amazon_settings_auditevent"
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        target = f" {self.object_type} {self.object_id}" if self.object_id else ""
        return f"{self.username or '?'}: {self.action}{target} at {self.at:%Y-%m-%d %H:%M:%S}"


class UserPreference(models.Model):
    """How one user wants the dashboard: language and time zone. Blank means "as the browser
    says" (the language) and "as the installation" (settings.TIME_ZONE). Kept per user, so it
    follows them to every browser; `core.preferences` applies it to each request."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference"
    )
    language = models.CharField(
        max_length=10,
        blank=True,
        choices=settings.LANGUAGES,
        help_text="Blank: the browser's language.",
    )
    time_zone = models.CharField(
        max_length=64, blank=True, help_text="An IANA time zone; blank: the installation's."
    )

    def __str__(self) -> str:
        return f"{self.user}: {self.language or 'browser'}, {self.time_zone or 'default'}"
