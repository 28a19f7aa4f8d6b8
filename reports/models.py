from __future__ import annotations

from django.db import models

from amazon_settings.models import SellerAccount


class Report(models.Model):
    """An Amazon report this product requested or discovered, keyed by Amazon's report ID."""

    account = models.ForeignKey(SellerAccount, on_delete=models.PROTECT, related_name="reports")
    report_type = models.CharField(max_length=80)
    amazon_report_id = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "amazon_report_id"],
                condition=~models.Q(amazon_report_id=""),
                name="uniq_report_per_amazon_id",
            )
        ]

    def __str__(self) -> str:
        return f"{self.report_type} {self.amazon_report_id or '(not sent yet)'}"


class WorkerHeartbeat(models.Model):
    """When each scheduled worker job last ran: the proof that the background worker is alive."""

    name = models.CharField(max_length=100, unique=True)
    last_seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.last_seen_at:%Y-%m-%d %H:%M:%S}"
