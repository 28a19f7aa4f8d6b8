"""Where is order X? Found in a stored file with the importer's reason, a coverage gap with a
request button, and the shortcut to an order that is imported."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from amazon_settings.crypto import encrypt_secret
from amazon_settings.models import AccountMarketplace, SellerAccount
from orders.models import Order
from reports.models import Report
from reports.services.uploads import import_uploaded_document
from reports.where_is import where_is_order
from tests.german import GERMAN, compiled_catalogue, page_text
from tests.orders.conftest import NOW, render
from tests.reports.test_uploads import URLCONF

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.urls(URLCONF),
    pytest.mark.usefixtures(compiled_catalogue.__name__),
]

MFN_EU = "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING"
MISSING = "305-1234567-7654321"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture(autouse=True)
def _no_worker(monkeypatch):
    monkeypatch.setattr("reports.services.transitions.enqueue_reports", lambda ids: 0)


@pytest.fixture
def account() -> SellerAccount:
    account = SellerAccount.objects.create(
        selling_partner_id="A2MUELLERHW7QX",
        region="eu",
        display_name="Müller",
        refresh_token_encrypted=encrypt_secret("Atzr|x"),
        status=SellerAccount.Status.CONNECTED,
    )
    AccountMarketplace.objects.create(
        account=account,
        marketplace_id="A1PA6795UKMFR9",
        country_code="DE",
        name="Amazon.de",
        selected=True,
    )
    return account


def day_range(day: date) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(day, time.min))
    return start, start + timedelta(days=1)


def where_is(client, order_id: str, headers: dict | None = None, **query):
    return client.get(
        reverse("reports:where_is"), {"order_id": order_id, **query}, **(headers or {})
    )


def test_order_in_a_file_whose_row_failed_shows_line_and_reason(logged_in_client, account):
    lines = render(MFN_EU, NOW - timedelta(days=4), NOW - timedelta(days=1)).split("\n")
    header = lines[0].split("\t")
    row = lines[3].split("\t")
    order_id = row[header.index("order-id")]
    row[header.index("purchase-date")] = "garbage"
    lines[3] = "\t".join(row)
    upload = import_uploaded_document(
        account=account,
        report_type=MFN_EU,
        filename="orders.txt",
        upload="\n".join(lines).encode(),
        acting_user=None,
        dry_run=False,
    )
    # Other rows of the same order may have been imported; the question is about a lost one.
    Order.objects.filter(amazon_order_id=order_id).delete()

    response = where_is(logged_in_client, order_id)

    assert response.status_code == 200
    sightings = {(s.report.pk, s.line_number): s for s in response.context["explanation"].sightings}
    assert sightings[(upload.report.pk, 4)].reason.startswith(
        "purchase-date: 'garbage' is not a date"
    )
    page = response.content.decode()
    assert f'href="{reverse("reports:detail", args=[upload.report.pk])}"' in page
    assert "The import skipped this row: purchase-date: &#x27;garbage&#x27; is not a date" in page
    # The outcome and the importer's stored reason, for a German reader.
    german = page_text(where_is(logged_in_client, order_id, GERMAN))
    assert (
        f"Der Import hat diese Zeile übersprungen: purchase-date: 'garbage' ist kein Datum "
        f"(Bestellung {order_id} übersprungen)"
    ) in german


def test_order_in_no_file_and_a_day_without_report_is_the_gap(logged_in_client, account):
    day = (timezone.now() - timedelta(days=5)).date()
    start, end = day_range(day)
    # A report of the day before does not cover the asked day.
    Report.objects.create(
        account=account,
        report_type=MFN_EU,
        data_start=start - timedelta(days=1),
        data_end=start,
        import_status=Report.ImportStatus.IMPORTED,
    )

    response = where_is(logged_in_client, MISSING, date=day.isoformat())

    page = response.content.decode()
    explanation = response.context["explanation"]
    assert explanation.day_is_a_gap and not explanation.sightings
    assert f"No report covered {day:%Y-%m-%d}: that is the gap." in page
    assert "The ID is in none of the 0 stored order report files" in page
    gap = next(g for g in explanation.gaps if g.kind.key == "mfn_orders_eu")
    assert (gap.start, gap.end) == (start, end)
    assert f'action="{reverse("reports:where_is_request")}"' in page
    assert 'name="kind" value="mfn_orders_eu"' in page

    requested = logged_in_client.post(
        reverse("reports:where_is_request"),
        {
            "order_id": MISSING,
            "date": day.isoformat(),
            "account": account.pk,
            "kind": "mfn_orders_eu",
            "start": start.isoformat(),
            "end": end.isoformat(),
        },
    )

    report = Report.objects.get(data_start=start)
    assert requested.status_code == 302
    assert requested["Location"] == f"{reverse('reports:processing')}?batch={report.batch}"
    assert (report.report_type, report.data_end) == (MFN_EU, end)
    assert report.marketplace_ids == ["A1PA6795UKMFR9"]
    assert report.requested_by.get_username() == "seller"


def test_covered_day_is_not_a_gap(logged_in_client, account):
    day = (timezone.now() - timedelta(days=5)).date()
    start, end = day_range(day)
    for kind_type in (MFN_EU, "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_INVOICING"):
        Report.objects.create(
            account=account,
            report_type=kind_type,
            data_start=start - timedelta(hours=2),
            data_end=end + timedelta(hours=2),
            import_status=Report.ImportStatus.IMPORTED,
        )

    response = where_is(logged_in_client, MISSING, date=day.isoformat())

    explanation = response.context["explanation"]
    assert not explanation.day_is_a_gap and explanation.gaps == []
    assert len(explanation.covering) == 2
    assert "that is the gap" not in response.content.decode()


def test_without_a_date_the_last_60_days_are_shown(account):
    now = timezone.now()
    Report.objects.create(
        account=account,
        report_type=MFN_EU,
        data_start=now - timedelta(days=30),
        data_end=now - timedelta(days=10),
        import_status=Report.ImportStatus.IMPORTED,
    )
    Report.objects.create(
        account=account,
        report_type=MFN_EU,
        data_start=now - timedelta(days=12),
        data_end=now - timedelta(days=5),
        import_status=Report.ImportStatus.FAILED,
    )

    explanation = where_is_order(amazon_order_id=MISSING, now=now)

    assert explanation.window_start == now - timedelta(days=60)
    mfn_gaps = [(g.start, g.end) for g in explanation.gaps if g.kind.key == "mfn_orders_eu"]
    # The failed report covers nothing: its range is part of the gap after the imported one.
    assert mfn_gaps == [
        (now - timedelta(days=60), now - timedelta(days=30)),
        (now - timedelta(days=10), now),
    ]
    assert not explanation.day_is_a_gap


def test_imported_order_goes_to_its_detail(logged_in_client, account):
    order = Order.objects.create(account=account, amazon_order_id=MISSING)

    response = where_is(logged_in_client, MISSING)

    assert response.status_code == 302
    assert response["Location"] == reverse("orders:detail", args=[order.pk])


def test_not_an_order_id(logged_in_client):
    response = where_is(logged_in_client, "12345")
    assert response.status_code == 400
    assert "An Amazon order ID looks like 123-1234567-1234567." in response.content.decode()
