"""Orders, Returns, Stock, Invoices and Settings » Invoicing for a German browser: the seller's
words, the locale's dates and amounts, German validation errors."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from amazon_settings.models import InvoicingMode
from orders.models import (
    Invoice,
    Order,
    OrderItem,
    OrderStatusChange,
    Return,
    StockLevel,
    StockSnapshot,
)
from tests.german import GERMAN, assert_german, compiled_catalogue, page_text
from tests.orders.conftest import NOW, set_invoicing

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures(compiled_catalogue.__name__)]


@pytest.fixture
def order(account) -> Order:
    order = Order.objects.create(
        account=account,
        amazon_order_id="302-1234567-7654321",
        marketplace_id="A1PA6795UKMFR9",
        sales_channel="Amazon.de",
        fulfillment_channel="MFN",
        status=Order.Status.CANCELED,
        purchased_at=NOW - timedelta(days=2),
        currency="EUR",
        items_total=Decimal("1234.50"),
        buyer_name="Erika Mustermann",
        source_report_id=7,
        source_line=2,
    )
    OrderItem.objects.create(
        order=order,
        order_item_id="1",
        sku="TASSE-1",
        quantity_ordered=2,
        item_price=Decimal("1234.50"),
    )
    OrderStatusChange.objects.create(
        order=order,
        from_status=Order.Status.UNSHIPPED,
        to_status=Order.Status.CANCELED,
        at=NOW - timedelta(days=1),
        recorded_at=NOW,
        source_report_id=8,
        source_line=3,
    )
    return order


def test_the_orders_list_in_german(logged_in_client, order):
    response = logged_in_client.get(reverse("orders:list"), **GERMAN)
    assert_german(
        response,
        german=["Bestellungen", "Retouren", "Bestand", "Rechnungen", "Gekauft ab", "Storniert"],
        english=["Purchased from", "All channels", "do not ship", "1 order", "Canceled"],
    )
    text = page_text(response)
    assert "1 Bestellung" in text and "nicht versenden" in text
    assert "1.234,50 EUR" in text  # the amount as Germans write it


def test_the_plural_of_the_order_count(logged_in_client, order, account):
    Order.objects.create(account=account, amazon_order_id="302-1234567-0000002")
    assert "2 Bestellungen" in page_text(logged_in_client.get(reverse("orders:list"), **GERMAN))
    assert "2 orders" in page_text(logged_in_client.get(reverse("orders:list")))


def test_a_date_range_backwards_is_refused_in_german(logged_in_client):
    response = logged_in_client.get(
        reverse("orders:list"), {"since": "2025-03-10", "until": "2025-03-01"}, **GERMAN
    )
    text = page_text(response)
    # Under the field it concerns (crispy), the label above it.
    assert "Gekauft bis Das Enddatum darf nicht vor dem Startdatum liegen." in text
    assert "must not be before" not in text


def test_the_order_page_in_german(logged_in_client, order):
    response = logged_in_client.get(reverse("orders:detail", args=[order.pk]), **GERMAN)
    assert_german(
        response,
        german=[
            "Bestellung 302-1234567-7654321",
            "Amazon hat diese Bestellung storniert",
            "Nicht versenden.",
            "Statusverlauf",
            "laut Bericht 8, Zeile 3",
            "vorher: Nicht versandt.",
            "Käufer, Liefer- und Rechnungsadresse",
        ],
        english=["Do not ship", "Status history", "according to", "before:", "Shipments"],
    )


def test_returns_in_german(logged_in_client, account):
    Return.objects.create(
        account=account,
        amazon_order_id="302-7777777-7777777",
        returned_at=NOW,
        sku="TASSE-1",
        quantity=1,
        order_missing=True,
        line_key="lpn-1",
    )
    response = logged_in_client.get(reverse("orders:returns"), **GERMAN)
    assert_german(
        response,
        german=["Retouren", "Retourniert ab", "Bestellung fehlt", "1 Retoure"],
        english=["Returned from", "order missing", "1 return", "Customer returns"],
    )


def test_stock_in_german(logged_in_client, account):
    StockLevel.objects.create(
        account=account, sku="TASSE-1", condition="SELLABLE", quantity=1500, changed_at=NOW
    )
    StockSnapshot.objects.create(account=account, taken_at=NOW, rows=1, units=1500)
    response = logged_in_client.get(reverse("orders:stock"), **GERMAN)
    assert_german(
        response,
        german=["Bestand", "Aktueller Bestand", "Verkaufsfähig", "1 Zeile", "1.500 Einheiten"],
        english=["Current levels", "Sellable", "1 row", "units", "Recent changes"],
    )


def test_invoices_in_german(logged_in_client, order, account):
    Invoice.objects.create(
        account=account,
        order=order,
        amazon_order_id=order.amazon_order_id,
        number="DE-2025-0001",
        kind=Invoice.Kind.CREDIT_NOTE,
        source=Invoice.Source.AMAZON_VCS,
        issued_on=date(2025, 3, 15),
        currency="EUR",
        gross=Decimal("-19.99"),
    )
    response = logged_in_client.get(reverse("orders:invoices"), **GERMAN)
    assert_german(
        response,
        german=["Rechnungen", "Gutschrift", "15.03.2025", "-19,99 EUR", "1 Beleg"],
        english=["Credit note", "Issued from", "All sources", "1 document", "2025-03-15"],
    )


def test_invoicing_settings_in_german_with_german_errors(logged_in_client, account):
    (de, *_others) = set_invoicing(account, mode=InvoicingMode.NOT_HANDLED, legal_data=False)
    url = reverse("orders:invoicing", args=[account.pk])
    assert_german(
        logged_in_client.get(url, **GERMAN),
        german=["Rechnungsstellung", "Wer die Rechnungen erstellt", "Firmenname"],
        english=["Who issues the invoices", "legal name", "Invoices are not handled here"],
    )

    response = logged_in_client.post(
        url,
        {
            "marketplace": de.pk,
            f"mp{de.pk}-invoicing_mode": InvoicingMode.VCS_LITE,
            f"mp{de.pk}-seller_vat_id": "DE12345",
        },
        **GERMAN,
    )

    assert response.status_code == 400
    text = page_text(response)
    assert (
        "Im Modus VCS Lite erforderlich: Jede hier erstellte Rechnung druckt diese Angabe." in text
    )
    assert "Eine USt-IdNr. aus DE besteht aus DE und 9 Ziffern" in text
    assert "Required in VCS Lite mode" not in text and "digits" not in text
