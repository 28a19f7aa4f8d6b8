from __future__ import annotations

from django.db import models


class Region(models.TextChoices):
    """Amazon's selling regions: one authorization covers every marketplace of a region."""

    EU = "eu", "Europe"
    NA = "na", "North America"


class SellerAccount(models.Model):
    """An Amazon seller account, one per (selling partner ID, region)."""

    selling_partner_id = models.CharField(max_length=32)
    region = models.CharField(max_length=2, choices=Region.choices)
    display_name = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["selling_partner_id", "region"], name="uniq_seller_account_per_region"
            )
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.selling_partner_id}, {self.get_region_display()})"
