"""API tokens: one per integration (an ERP, a shop, a shipping tool), with what it may read."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from amazon_settings.models import SellerAccount


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
