from __future__ import annotations

from django.db import models

from amazon_settings.models import SellerAccount


class Order(models.Model):
    """An Amazon order, once per account however many reports mention it."""

    account = models.ForeignKey(SellerAccount, on_delete=models.PROTECT, related_name="orders")
    amazon_order_id = models.CharField(max_length=32)
    purchased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "amazon_order_id"], name="uniq_order_per_account"
            )
        ]

    def __str__(self) -> str:
        return self.amazon_order_id
