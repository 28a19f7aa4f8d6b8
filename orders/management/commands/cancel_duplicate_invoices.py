"""`manage.py cancel_duplicate_invoices [--account SELLER_ID[:eu|:na]] [--dry-run]`.

Clean-up of data imported before invoices generated here gave way to Amazon's: every issued
invoice or credit note generated here for a sale or refund that Amazon invoices (its VCS
report has a document for it, or its VCS Lite line is marked `is-amazon-invoiced`) is
cancelled. A cancelled document keeps its number (numbering stays without gaps, no number is
reused) and each cancellation is written to the audit log. Imports do the same for what they
bring, so running it twice finds nothing the second time.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from amazon_settings.models import SellerAccount
from orders.services.vat_transactions import cancel_duplicate_invoices


class Command(BaseCommand):
    help = "Cancel invoices generated here for sales and refunds that Amazon invoices."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--account",
            help="Only this seller: its selling partner ID, with ':eu' or ':na' when it has both.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="List what would be cancelled; change nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        account = _account(options["account"]) if options["account"] else None
        dry_run = options["dry_run"]
        cancellations = cancel_duplicate_invoices(account=account, dry_run=dry_run)
        for cancellation in cancellations:
            invoice = cancellation.invoice
            self.stdout.write(
                f"{invoice.account.display_name}: {invoice.get_kind_display()} {invoice.number} "
                f"(order {invoice.amazon_order_id}): {cancellation.reason}"
            )
        verb = "would be cancelled" if dry_run else "cancelled, each in the audit log"
        self.stdout.write(self.style.SUCCESS(f"{len(cancellations)} duplicate documents {verb}."))


def _account(value: str) -> SellerAccount:
    selling_partner_id, _, region = value.partition(":")
    accounts = SellerAccount.objects.filter(selling_partner_id=selling_partner_id)
    if region:
        accounts = accounts.filter(region=region.lower())
    found = list(accounts[:2])
    if not found:
        raise CommandError(f"No account {value}.")
    if len(found) > 1:
        raise CommandError(f"{value} is connected in more than one region: add ':eu' or ':na'.")
    return found[0]
