"""Data protection for the report pipeline: buyer data is not kept longer than Amazon allows.

`remove_personal_data` runs daily (`reports.services.worker` schedules it): it blanks buyer
data on old orders (`orders.privacy.remove_buyer_data`) and deletes old raw documents that hold
buyer data from storage. The Report row stays, with its counts and history, and an event on it
says the document was deleted for data protection, so a missing download is explained, not a
mystery.

Invoices and credit notes issued here are not touched by that removal: each keeps the buyer it
was issued with, as tax law requires, for `INVOICE_RETENTION_YEARS` (default 10). Only then is
the buyer blanked on them (`orders.privacy.remove_expired_invoice_buyers`), in the same pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from orders.privacy import remove_buyer_data, remove_expired_invoice_buyers
from reports.models import Report, ReportEvent

# The report types whose documents hold no buyer data (the FBA stock snapshot: SKUs and units).
# Every other type's documents are deleted: order, shipment, return and VAT reports all carry
# names, addresses or buyers' words, and a type added later is protected by default.
NO_BUYER_DATA_REPORT_TYPES = frozenset({"GET_AFN_INVENTORY_DATA"})

DELETED_MESSAGE = (
    "The stored document was deleted for data protection: it held buyer data, which is kept "
    "for {days} days only. The imported records and this history stay."
)


@dataclass(frozen=True)
class PersonalDataRemoval:
    records: int  # orders, returns and VCS Lite sales whose buyer data was blanked
    documents: int  # raw documents deleted from storage
    invoices: int = 0  # invoices issued here whose legal retention ended


def delete_personal_documents(*, older_than_days: int, now: datetime | None = None) -> int:
    """Delete stored documents with buyer data that arrived more than `older_than_days` ago.

    A document a worker holds right now (an unexpired lease) is left for the next run.
    Idempotent: a deleted document leaves an empty `raw_file`, which is not selected again.
    Returns the number of documents deleted.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=older_than_days)
    candidates = (
        Report.objects.exclude(raw_file="")
        .exclude(report_type__in=NO_BUYER_DATA_REPORT_TYPES)
        .annotate(stored_at=Coalesce("downloaded_at", "created_at"))
        .filter(stored_at__lt=cutoff)
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lte=now))
    )
    deleted = 0
    for report in candidates.iterator():
        name = report.raw_file.name
        # The file goes first: if the process dies before the row is updated, the row points at
        # nothing and the next run finishes the job. The other order could leave a file with
        # buyer data that no row remembers.
        report.raw_file.storage.delete(name)
        with transaction.atomic():
            if not Report.objects.filter(pk=report.pk, raw_file=name).update(raw_file=""):
                continue  # a worker stored a new document meanwhile; its own age counts
            ReportEvent.objects.create(
                report=report,
                at=now,
                import_status=report.import_status,
                amazon_status=report.amazon_status,
                message=DELETED_MESSAGE.format(days=older_than_days),
            )
        deleted += 1
    return deleted


def remove_personal_data(
    *,
    older_than_days: int,
    invoice_retention_years: int = 10,
    now: datetime | None = None,
) -> PersonalDataRemoval:
    """The daily data-protection pass: buyer data on records, then raw documents, then the
    buyer on invoices issued here whose legal retention ended. Idempotent."""
    now = now or timezone.now()
    return PersonalDataRemoval(
        records=remove_buyer_data(older_than_days=older_than_days, now=now),
        documents=delete_personal_documents(older_than_days=older_than_days, now=now),
        invoices=remove_expired_invoice_buyers(retention_years=invoice_retention_years, now=now),
    )
