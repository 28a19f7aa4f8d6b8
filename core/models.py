from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class ProductPermission(models.Model):
    """No table, no rows: Django hangs every permission on a model, and `operate` belongs to the
    whole product rather than to one app's model. `operate` separates the roles (`core.roles`):
    without it a user can look at every page but change nothing. `view_buyer_data` guards
    buyers' personal data (Amazon's Data Protection Policy: only who needs it sees it).
    `manage_users` is the administrators': invite users, set their roles, deactivate them and
    read the audit log."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("operate", "Can connect accounts, request and manage reports, change settings"),
            (
                "view_buyer_data",
                "Can see buyers' names, addresses, e-mails and phone numbers, and raw reports",
            ),
            (
                "manage_users",
                "Can invite users, set their roles, deactivate them and read the audit log",
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
        # The audit log's filters by user and by object, and a user's history, newest first.
        indexes = [
            models.Index(fields=["username", "-at"], name="audit_username_at"),
            models.Index(fields=["object_type", "object_id", "-at"], name="audit_object_at"),
        ]

    def __str__(self) -> str:
        target = f" {self.object_type} {self.object_id}" if self.object_id else ""
        return f"{self.username or '?'}: {self.action}{target} at {self.at:%Y-%m-%d %H:%M:%S}"


class ChangeEvent(models.Model):
    """One change of a record the API serves: the outbox every sync and webhook reads.

    Written by `core.changes.record_changes` inside the transaction of the change itself, so an
    event exists exactly when its change committed. `id` is the sequence, but ids are taken
    when a row is inserted, not when its transaction commits: on PostgreSQL two transactions
    can commit in the other order. So each event also keeps `txid`, its transaction's id
    (`pg_current_xact_id()`; 0 on SQLite, whose writers take turns, so there id order is commit
    order), and readers go through events in (`txid`, `id`) order, only up to the oldest
    transaction still running (`core.changes.events_after`): no event can appear before a
    position a reader has passed.

    `account_id` and `entity_id` are plain integers, not foreign keys, because `core` imports
    no app (as `source_report_id` in `orders`). Webhook deliveries (`api.WebhookDelivery`) point
    at the events they send.
    """

    id = models.BigAutoField(primary_key=True)
    txid = models.BigIntegerField(default=0)
    kind = models.CharField(max_length=20)  # order, return, stock, invoice, account, report
    event_type = models.CharField(max_length=40)  # order.created, stock.changed, ...
    entity_id = models.BigIntegerField()
    account_id = models.BigIntegerField()
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            # A list's changes: one kind, in (txid, id) order, from a cursor on.
            models.Index(fields=["kind", "txid", "id"], name="change_kind_seq"),
            models.Index(fields=["kind", "account_id", "txid", "id"], name="change_kind_acct_seq"),
        ]
        ordering = ["txid", "id"]

    def __str__(self) -> str:
        return f"{self.event_type} {self.kind} {self.entity_id}"


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
