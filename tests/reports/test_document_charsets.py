"""A downloaded document's charset follows what its bytes are, not only Amazon's label, and the
decision is written in the report's history."""

from __future__ import annotations

import pytest

from orders.models import Order
from reports import documents
from reports.models import Report
from reports.services import pipeline
from tests.reports.test_import_checkpoints import claimed, mfn_document, stored_report

pytestmark = pytest.mark.django_db


def test_a_latin1_document_under_a_cp1252_label_is_imported_with_its_umlauts(eu_account):
    text = mfn_document()
    header, first, rest = text.split("\n", 2)
    columns = header.split("\t")
    row = first.split("\t")
    # ISO-8859-1 text: umlauts, and a byte cp1252 leaves undefined (0x8d), as Amazon has shipped.
    row[columns.index("recipient-name")] = "Jürgen Müller\x8d"
    # Characters ISO-8859-1 lacks (œ, €) are lost at the source, as a real Latin-1 file has them.
    content = "\n".join([header, "\t".join(row), rest]).encode("latin-1", errors="replace")

    # What the download step does with Amazon's label, then the import.
    choice = documents.effective_charset(content, "Cp1252")
    report = stored_report(eu_account, text)
    documents.store_raw_document(report, content, charset=choice.charset)
    report.save()
    pipeline.import_stored_document(claimed(report))

    report.refresh_from_db()
    assert report.import_status == Report.ImportStatus.IMPORTED, report.last_error
    assert report.rows_failed == 0
    order = Order.objects.get(amazon_order_id=row[columns.index("order-id")])
    assert order.recipient_name == "Jürgen Müller\x8d"
    assert "1 byte that cp1252 leaves undefined read as ISO-8859-1" in choice.reason
