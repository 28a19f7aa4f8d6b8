"""API tokens: one per integration (an ERP, a shop, a shipping tool), with what it may read;
webhook subscriptions, their deliveries and each delivery's attempts."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from amazon_settings.models import SellerAccount
from core.models import ChangeEvent


class Scope(models.TextChoices):
    READ_ORDERS = "read_orders", _("Read orders")
    READ_RETURNS = "read_returns", _("Read returns")
    READ_STOCK = "read_stock", _("Read stock")
    READ_INVOICES = "read_invoices", _("Read invoices and credit notes")
    READ_ACCOUNTS = "read_accounts", _("Read seller accounts")
    READ_REPORTS = "read_reports", _("Read reports")
    PII = "pii", _("Buyers' personal data")


class ApiToken(models.Model):
    """A bearer token of one integration.

    The secret is shown once, when the token is made (`api.services.create_token`); only its
    SHA-256 is stored, with a short visible `prefix` to find the row. `accounts` empty: every
    seller account. A revoked token stays, so the request log keeps its name.
    """

    name = models.CharField(max_length=100, unique=True)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(default=list)
    accounts = models.ManyToManyField(SellerAccount, blank=True, related_name="api_tokens")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        permissions = [("manage_apitoken", "Can create and revoke API tokens")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def scope_labels(self) -> list[str]:
        """The token's scopes as the page names them (a scope no longer known, by its code)."""
        labels = dict(Scope.choices)
        return [str(labels.get(scope, scope)) for scope in self.scopes]

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class WebhookEvent(models.TextChoices):
    """What a subscription can ask to be told: the change log's events (`core.changes`)."""

    ORDER_CREATED = "order.created", _("Order created")
    ORDER_UPDATED = "order.updated", _("Order updated")
    ORDER_CANCELLED = "order.cancelled", _("Order cancelled")
    RETURN_CREATED = "return.created", _("Return created")
    STOCK_CHANGED = "stock.changed", _("Stock changed")
    INVOICE_ISSUED = "invoice.issued", _("Invoice issued")
    ACCOUNT_STATUS_CHANGED = "account.status_changed", _("Account status changed")
    REPORT_FAILED = "report.failed", _("Report failed")


class WebhookSubscription(models.Model):
    """A receiver URL told of the chosen events, each as a signed POST (`api.delivery`).

    `secret_encrypted` is the signing secret under the token keys (`amazon_settings.crypto`):
    unlike an API token's, the product needs it to sign. (`cursor_txid`, `cursor_id`) is the
    position in the change log up to which events have become deliveries: a new subscription
    starts at the end of the log, and an event after it becomes a delivery on the next pass,
    whatever happened to the worker in between. The subscription is switched off by hand
    (`is_active`) or automatically after failing continuously (`disabled_reason`).
    """

    name = models.CharField(_("name"), max_length=100, unique=True)
    url = models.URLField(_("URL"), max_length=500)
    events = models.JSONField(default=list)
    include_buyer_data = models.BooleanField(_("include buyer data"), default=False)
    secret_encrypted = models.TextField(editable=False)
    is_active = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    cursor_txid = models.BigIntegerField(default=-1, editable=False)
    cursor_id = models.BigIntegerField(default=0, editable=False)
    consecutive_failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class WebhookDelivery(models.Model):
    """One event for one subscription, until it is delivered or given up (after retrying with
    backoff for `WEBHOOK_RETRY_HOURS`). Claimed under a lease (`lease_id`, `leased_until`), so
    two passes never send it at once and a pass that died leaves it to the next one."""

    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("webhook delivery", "Pending")
        DELIVERED = "delivered", pgettext_lazy("webhook delivery", "Delivered")
        FAILED = "failed", pgettext_lazy("webhook delivery", "Failed")

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(ChangeEvent, on_delete=models.CASCADE, related_name="+")
    event_type = models.CharField(max_length=40)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    lease_id = models.CharField(max_length=32, blank=True)
    leased_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "event"], name="webhook_delivery_once_per_event"
            )
        ]
        indexes = [
            # The pass's claim: a subscription's pending deliveries that are due.
            models.Index(
                fields=["subscription", "status", "next_attempt_at"], name="webhook_delivery_due"
            ),
            # The delivery log: a subscription's newest first.
            models.Index(fields=["subscription", "-id"], name="webhook_delivery_log"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} to {self.subscription_id}: {self.status}"


class WebhookAttempt(models.Model):
    """One POST of a delivery and what the receiver answered (or why there was no answer)."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="tries")
    at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.CharField(max_length=1000, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return (
            f"{self.delivery_id} at {self.at:%Y-%m-%d %H:%M:%S}: {self.status_code or self.error}"
        )

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
