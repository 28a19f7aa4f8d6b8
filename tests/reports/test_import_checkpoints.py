"""An import commits a batch at a time: its progress is visible while it runs, a worker killed
mid-import leaves a report that is resumed after its last committed batch within about a
minute, and every line is counted, and every row error stored, exactly once.

These tests run with real commits (`transaction=True`): what they read after a "kill" is what
another process would read.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html import escape as html_escape

import pytest
from django.urls import reverse
from django.utils import timezone

from amazon_sandbox.catalog import seller_by_id
from amazon_sandbox.generator import render_report
from orders.importers import driver
from orders.importers.base import ImportContext, ImportResult
from orders.importers.mfn import MfnFlatImporter
from orders.importers.parsing import text_stream
from orders.importers.registry import get_importer
from orders.models import Order, OrderItem
from reports import documents
from reports.models import Report, ReportEvent, ReportRowError
from reports.services import pipeline, transitions, worker
from reports.services.transitions import StaleState
from tests.amazon_fixtures import EU_SELLER, connect_demo_seller

pytestmark = pytest.mark.django_db(transaction=True)

MFN = "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING"
BATCH = 4  # orders per batch, so a month's document makes many batches
KILLED_AT_BATCH = 4  # the batch whose write the "kill" interrupts


class WorkerKilled(BaseException):
    """Stands for SIGKILL: not an Exception, so no handler of the product records anything
    and the lease is not released, exactly as when the process dies."""


@pytest.fixture(autouse=True)
def small_batches(monkeypatch):
    monkeypatch.setattr(driver, "BATCH_ORDERS", BATCH)


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    """Handed-out tasks are collected; the test runs them."""
    handed: list[tuple] = []
    monkeypatch.setattr(
        "reports.services.transitions.async_task", lambda func, *args, **kwargs: handed.append(args)
    )
    return handed


@pytest.fixture
def clock(monkeypatch):
    """Moves the product's clock (django.utils.timezone.now) forward, instead of sleeping."""

    class Clock:
        offset = timedelta(0)

        def advance(self, seconds: float) -> None:
            self.offset += timedelta(seconds=seconds)

    real_now = timezone.now
    moved = Clock()
    monkeypatch.setattr(timezone, "now", lambda: real_now() + moved.offset)
    return moved


def mfn_document(*, bad_order_lines: int = 0) -> str:
    """A month of the EU demo seller's MFN orders, as Amazon renders the report; with
    `bad_order_lines`, that many data lines (spread over the document) get a malformed order
    id, each a row error."""
    seller = seller_by_id(EU_SELLER, "eu")
    text = render_report(
        MFN,
        seller=seller,
        marketplace_ids=seller.marketplace_ids,
        data_start=datetime(2025, 2, 1, tzinfo=UTC),
        data_end=datetime(2025, 3, 1, tzinfo=UTC),
        now=datetime(2025, 3, 15, tzinfo=UTC),
    ).text
    if not bad_order_lines:
        return text
    lines = text.split("\n")
    data = [i for i in range(1, len(lines)) if lines[i]]
    # The first on the document's third line, so that the first batches hold one.
    step = (len(data) - 2) // bad_order_lines
    for n in range(bad_order_lines):
        i = data[2 + n * step]
        lines[i] = "not-an-order-id" + lines[i][lines[i].index("\t") :]
    return "\n".join(lines)


def data_lines(text: str) -> int:
    return sum(1 for line in text.split("\n")[1:] if line)


def clean_import_counts(account, text: str) -> ImportResult:
    """What one uninterrupted import of `text` counts (a dry run: nothing is kept)."""
    context = ImportContext(account=account, report_type=MFN, dry_run=True)
    return get_importer(MFN).import_document(text_stream(text), context=context)


def stored_report(account, text: str) -> Report:
    """A report whose document is stored and whose import is due, as after its download."""
    report = transitions.register_report(
        Report(
            account=account,
            report_type=MFN,
            marketplace_ids=list(account.marketplaces.values_list("marketplace_id", flat=True)),
            import_status=Report.ImportStatus.IMPORTING,
            next_attempt_at=timezone.now(),
        ),
        message="Test document.",
    )
    documents.store_raw_document(report, text.encode(), charset="utf-8")
    report.rows_total = data_lines(text)
    report.save()
    return report


def claimed(report: Report) -> Report:
    """The report as a worker holds it after claiming it."""
    [(pk, lease_id)] = transitions.claim_reports(ids=[report.pk])
    held = Report.objects.select_related("account").get(pk=pk)
    assert held.lease_id == lease_id
    return held


def kill_during_batch(monkeypatch, batch: int, *, seen: dict | None = None) -> None:
    """The worker dies while writing the `batch`-th batch (1-based) of orders."""
    write = MfnFlatImporter.write
    calls = {"n": 0}

    def dying_write(self, groups, context):
        calls["n"] += 1
        if calls["n"] == batch:
            if seen is not None:
                seen["lease_end"] = Report.objects.get(pk=context.source_report_id).leased_until
                seen["now"] = timezone.now()
            raise WorkerKilled
        return write(self, groups, context)

    monkeypatch.setattr(MfnFlatImporter, "write", dying_write)


@pytest.fixture
def account(amazon):
    return connect_demo_seller(amazon)


def test_a_killed_import_keeps_its_committed_batches_and_shows_its_progress(account, monkeypatch):
    text = mfn_document()
    report = stored_report(account, text)
    seen: dict = {}
    kill_during_batch(monkeypatch, KILLED_AT_BATCH, seen=seen)

    with pytest.raises(WorkerKilled):
        pipeline.import_stored_document(claimed(report))

    report.refresh_from_db()
    assert report.import_status == Report.ImportStatus.IMPORTING
    # What the three committed batches wrote is there for every other connection to read.
    committed_orders = Order.objects.filter(account=account).count()
    assert committed_orders == (KILLED_AT_BATCH - 1) * BATCH
    assert 0 < report.rows_done < report.rows_total
    assert report.rows_created == OrderItem.objects.count() > 0
    assert report.rows_created + report.rows_unchanged == report.rows_done
    assert 1 < report.imported_through_line <= report.rows_done + 1
    # While it ran, its lease was the import's short one, renewed per batch, not 15 minutes.
    assert seen["now"] < seen["lease_end"] <= seen["now"] + timedelta(seconds=60)


def test_a_killed_import_is_resumed_within_a_minute_and_counts_every_line_once(
    account, monkeypatch, clock, client, user, no_broker
):
    text = mfn_document()
    clean = clean_import_counts(account, text)
    report = stored_report(account, text)
    with monkeypatch.context() as patch:
        kill_during_batch(patch, KILLED_AT_BATCH)
        with pytest.raises(WorkerKilled):
            pipeline.import_stored_document(claimed(report))
    report.refresh_from_db()
    done_before = report.rows_done
    through = report.imported_through_line

    # Its worker is gone but its lease still runs: nobody takes it over yet.
    assert worker.resume_interrupted_imports() == 0
    client.force_login(user)
    page = client.get(reverse("reports:processing")).content.decode()
    assert "Interrupted after line" not in page

    clock.advance(61)
    page = client.get(reverse("reports:processing")).content.decode()
    assert f"Interrupted after line {through:,} of" in page
    assert "resuming from there" in page

    # The heartbeat (every minute) hands it to a worker, which goes on after the checkpoint.
    assert worker.resume_interrupted_imports() == 1
    [(pk, lease_id)] = no_broker
    pipeline.advance_report(pk, lease_id)

    report.refresh_from_db()
    assert report.import_status == Report.ImportStatus.IMPORTED
    lines = data_lines(text)
    assert report.rows_total == report.rows_done == clean.rows == lines
    # Every line counted once, as by an import that was never interrupted: the first
    # worker's lines are not counted again as unchanged.
    assert (report.rows_created, report.rows_updated, report.rows_unchanged) == (
        clean.created,
        clean.updated,
        clean.unchanged,
    )
    assert report.rows_created == OrderItem.objects.count()
    assert done_before < lines
    assert ReportEvent.objects.filter(
        report=report, message__startswith=f"The import was interrupted after line {through:,}"
    ).exists()
    assert not report.lease_id


def test_row_errors_of_an_interrupted_import_are_stored_once(account, monkeypatch, clock):
    text = mfn_document(bad_order_lines=3)
    clean = clean_import_counts(account, text)
    report = stored_report(account, text)
    with monkeypatch.context() as patch:
        kill_during_batch(patch, KILLED_AT_BATCH + 2)
        with pytest.raises(WorkerKilled):
            pipeline.import_stored_document(claimed(report))
    assert ReportRowError.objects.filter(report=report).count() >= 1

    clock.advance(61)
    pipeline.import_stored_document(claimed(report))

    report.refresh_from_db()
    assert report.import_status == Report.ImportStatus.IMPORTED
    stored = ReportRowError.objects.filter(report=report)
    errors = list(stored.values_list("line_number", flat=True))
    assert len(errors) == len(set(errors)) == 3
    assert errors == [error.line_number for error in clean.errors]
    assert report.rows_failed == clean.failed == 3
    assert report.rows_created == clean.created


def test_an_import_that_lost_its_lease_stops_and_its_batch_is_rolled_back(account, monkeypatch):
    """Another worker took the report over (the first one was too slow): the first one's next
    checkpoint fails, and the batch it was writing is not committed."""
    report = stored_report(account, mfn_document())
    held = claimed(report)
    write = MfnFlatImporter.write
    calls = {"n": 0}

    def write_then_lose_the_lease(self, groups, context):
        calls["n"] += 1
        if calls["n"] == 2:
            Report.objects.filter(pk=report.pk).update(lease_id="another-worker")
        return write(self, groups, context)

    monkeypatch.setattr(MfnFlatImporter, "write", write_then_lose_the_lease)
    with pytest.raises(StaleState):
        pipeline.import_stored_document(held)

    assert Order.objects.filter(account=account).count() == BATCH
    report.refresh_from_db()
    assert report.rows_created == OrderItem.objects.count() > 0


def test_reset_after_an_interruption_imports_from_the_first_line(
    account, monkeypatch, clock, user, no_broker
):
    from reports.services import actions

    text = mfn_document(bad_order_lines=1)
    report = stored_report(account, text)
    with monkeypatch.context() as patch:
        kill_during_batch(patch, KILLED_AT_BATCH)
        with pytest.raises(WorkerKilled):
            pipeline.import_stored_document(claimed(report))
    clock.advance(61)
    report.refresh_from_db()
    actions.reset_report(report, acting_user=user)
    report.refresh_from_db()
    assert report.imported_through_line == 0

    [(pk, lease_id)] = no_broker  # Reset hands the report to a worker at once.
    pipeline.advance_report(pk, lease_id)

    report.refresh_from_db()
    lines = data_lines(text)
    # From the first line: the batches of the first attempt are now unchanged, not skipped.
    assert report.rows_done == lines
    assert report.rows_unchanged > 0
    assert report.rows_created + report.rows_unchanged + report.rows_failed == lines
    assert ReportRowError.objects.filter(report=report).count() == 1


def test_a_whole_document_import_keeps_the_long_lease(account, monkeypatch, settings):
    """The stock guard writes the whole snapshot in one transaction, renewing nothing until its
    end: a one-minute lease would let another worker start the same import meanwhile."""
    from orders.importers import stock

    seller = seller_by_id(EU_SELLER, "eu")
    text = render_report(
        "GET_AFN_INVENTORY_DATA",
        seller=seller,
        marketplace_ids=seller.marketplace_ids,
        data_start=datetime(2025, 3, 1, tzinfo=UTC),
        data_end=datetime(2025, 3, 15, tzinfo=UTC),
        now=datetime(2025, 3, 15, tzinfo=UTC),
    ).text
    report = stored_report(account, text)
    Report.objects.filter(pk=report.pk).update(report_type="GET_AFN_INVENTORY_DATA")
    seen = {}
    replace_stock = stock.replace_stock

    def watching(**kwargs):
        seen["lease_end"] = Report.objects.get(pk=report.pk).leased_until
        seen["now"] = timezone.now()
        return replace_stock(**kwargs)

    monkeypatch.setattr(stock, "replace_stock", watching)
    pipeline.import_stored_document(claimed(report))

    report.refresh_from_db()
    assert report.import_status == Report.ImportStatus.IMPORTED
    long_lease = timedelta(seconds=settings.REPORT_LEASE_SECONDS)
    assert seen["lease_end"] > seen["now"] + long_lease - timedelta(seconds=5)


def with_taxes_above_their_price(text: str, *, lines: int) -> str:
    """`text` with the item tax of `lines` data lines (spread over the document) raised above
    the item's price: rows imported as they stand, each with a warning."""
    rows = text.split("\n")
    header = rows[0].rstrip("\r").split("\t")
    tax, price = header.index("item-tax"), header.index("item-price")
    data = [i for i in range(1, len(rows)) if rows[i]]
    step = (len(data) - 2) // lines
    for n in range(lines):
        cells = rows[data[2 + n * step]].split("\t")
        cells[tax] = f"{float(cells[price]) + 100:.2f}"
        rows[data[2 + n * step]] = "\t".join(cells)
    return "\n".join(rows)


def test_row_warnings_are_stored_once_shown_apart_from_errors_and_kept_by_a_reset(
    account, monkeypatch, clock, client, user, no_broker
):
    from reports.services import actions

    text = with_taxes_above_their_price(mfn_document(), lines=3)
    clean = clean_import_counts(account, text)
    assert (len(clean.warnings), clean.failed) == (3, 0)
    report = stored_report(account, text)
    with monkeypatch.context() as patch:
        kill_during_batch(patch, KILLED_AT_BATCH + 2)
        with pytest.raises(WorkerKilled):
            pipeline.import_stored_document(claimed(report))
    clock.advance(61)
    pipeline.import_stored_document(claimed(report))

    def stored_warnings() -> list[tuple[int, str]]:
        return list(
            ReportRowError.objects.filter(
                report=report, kind=ReportRowError.Kind.WARNING
            ).values_list("line_number", "reason")
        )

    report.refresh_from_db()
    assert report.import_status == Report.ImportStatus.IMPORTED
    expected = [(w.line_number, w.reason) for w in clean.warnings]
    assert stored_warnings() == expected
    assert not ReportRowError.objects.filter(report=report, kind=ReportRowError.Kind.ERROR)
    assert (report.rows_failed, report.rows_created) == (0, clean.created)
    assert report.last_error == ""
    assert report.events.last().message.endswith("3 with warnings (imported as they stand).")
    client.force_login(user)
    page = client.get(reverse("reports:detail", args=[report.pk])).content.decode()
    errors_part, warnings_part = page.split("Rows with warnings")
    assert 'id="row-errors"' not in errors_part
    assert 'id="row-warnings"' in warnings_part
    assert all(html_escape(reason) in warnings_part for _, reason in expected)

    # A reset imports the same document again: its orders are unchanged and skipped unread,
    # and the warnings about their lines stay, once each.
    actions.reset_report(report, acting_user=user)
    [(pk, lease_id)] = no_broker[-1:]
    pipeline.advance_report(pk, lease_id)
    report.refresh_from_db()
    assert report.rows_unchanged == report.rows_total
    assert stored_warnings() == expected
    # Read again (their digests gone), the same lines give the same warnings: not stored twice.
    Order.objects.update(import_digest="")
    actions.reset_report(report, acting_user=user)
    [(pk, lease_id)] = no_broker[-1:]
    pipeline.advance_report(pk, lease_id)
    assert stored_warnings() == expected
