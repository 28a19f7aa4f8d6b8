"""`manage.py import_report PATH --account ID --report-type TYPE`: import a document file.

The same service as Reports » Upload (`reports.services.uploads.import_uploaded_document`), with the
pipeline's download cap (1 GiB) instead of the web form's upload limit. Exits non-zero when the
document is rejected (nothing imported) or the file cannot be used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser

from amazon_settings.models import SellerAccount
from amazon_settings.spapi import DEFAULT_MAX_DOCUMENT_BYTES
from reports.exceptions import DocumentStorageFailed
from reports.services.uploads import UploadRejected, UploadResult, import_uploaded_document


class Command(BaseCommand):
    help = "Import an Amazon report document (flat file, XML or CSV; gzip is fine) from a file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="The document file.")
        parser.add_argument(
            "--account",
            required=True,
            help="The seller: its selling partner ID, with ':eu' or ':na' when it has both.",
        )
        parser.add_argument(
            "--report-type",
            required=True,
            help="Amazon's report type, e.g. GET_AFN_INVENTORY_DATA.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be imported; store nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        account = _account(options["account"])
        path: Path = options["path"]
        try:
            handle = path.open("rb")
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error}") from None
        try:
            with handle:
                result = import_uploaded_document(
                    account=account,
                    report_type=options["report_type"],
                    filename=path.name,
                    upload=File(handle),
                    acting_user=None,
                    dry_run=options["dry_run"],
                    max_bytes=DEFAULT_MAX_DOCUMENT_BYTES,
                )
        except (UploadRejected, DocumentStorageFailed) as error:
            raise CommandError(str(error)) from None
        self._print(result)
        if result.rejected:
            raise CommandError(f"Rejected: {result.rejected}")

    def _print(self, result: UploadResult) -> None:
        if result.report is not None:
            self.stdout.write(
                f"Report {result.report.pk}: {result.report.get_import_status_display()}"
            )
        elif result.dry_run:
            self.stdout.write("Dry run: nothing was stored.")
        if result.held_reason:
            self.stdout.write(self.style.WARNING(f"Held: {result.held_reason}"))
        if not result.rejected:
            self.stdout.write(
                f"{result.rows} lines: {result.created} new, {result.updated} changed, "
                f"{result.unchanged} unchanged, {result.failed} with errors"
            )
        for error in result.errors:
            self.stdout.write(f"line {error.line_number}: {error.reason}")
        if result.error_count > len(result.errors):
            self.stdout.write(f"… and {result.error_count - len(result.errors)} more line errors")
        for warning in result.warnings:
            self.stdout.write(f"line {warning.line_number} (warning): {warning.reason}")
        if result.warning_count > len(result.warnings):
            more = result.warning_count - len(result.warnings)
            self.stdout.write(f"… and {more} more line warnings")


def _account(value: str) -> SellerAccount:
    selling_partner_id, _, region = value.partition(":")
    accounts = SellerAccount.objects.filter(selling_partner_id=selling_partner_id)
    if region:
        accounts = accounts.filter(region=region.lower())
    found = list(accounts[:2])
    if not found:
        raise CommandError(f"No account {value}. Connect it under Settings first.")
    if len(found) > 1:
        raise CommandError(f"{value} is connected in more than one region: add ':eu' or ':na'.")
    return found[0]
