"""Amazon's data protection rules: buyer data and raw documents go after the retention time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from amazon_settings.models import SellerAccount
from orders.models import Order, OrderItem, Return, ShipmentLine
from orders.privacy import ORDER_PII_FIELDS, remove_buyer_data
from reports import tasks
from reports.documents import store_raw_document
from reports.models import Report, ReportEvent
from reports.services.privacy import delete_personal_documents, remove_personal_data
from reports.services.worker import register_schedules, worker_schedules

pytestmark = pytest.mark.django_db

NOW = timezone.now()
BUYER = {
    "buyer_name": "Erika Mustermann",
    "buyer_email": "x7k2@marketplace.amazon.de",
    "buyer_phone": "+49 30 1234567",
    "recipient_name": "Erika Mustermann",
    "ship_address_1": "Heidestraße 17",
    "ship_address_2": "Hinterhaus",
    "ship_address_3": "3. OG",
    "ship_city": "Köln",
    "ship_state": "NRW",
    "ship_postal_code": "51147",
    "ship_phone": "+49 221 555",
    "ship_country": "DE",
    "buyer_vat_number": "DE123456789",
    "buyer_company_name": "Mustermann GmbH",
}


@pytest.fixture
def account() -> SellerAccount:
    return SellerAccount.objects.create(
        selling_partner_id="A1PRIVACYTEST1", region="eu", display_name="Privacy Shop"
    )


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def make_order(account, order_id: str, *, days_ago: int, **fields) -> Order:
    order = Order.objects.create(
        account=account,
        amazon_order_id=order_id,
        purchased_at=NOW - timedelta(days=days_ago),
        **(BUYER | fields),
    )
    OrderItem.objects.create(order=order, order_item_id=f"{order_id}-1", sku="SKU", item_price=9)
    return order


def has_buyer_data(order: Order) -> bool:
    order.refresh_from_db()
    return any(getattr(order, name) for name in ORDER_PII_FIELDS)


def test_buyer_data_of_old_orders_is_removed_and_the_order_stays(account):
    old = make_order(account, "302-0000001-0000001", days_ago=45)
    recent = make_order(account, "302-0000002-0000002", days_ago=5)
    assert remove_buyer_data(older_than_days=30, now=NOW) == 1
    assert not has_buyer_data(old)
    assert has_buyer_data(recent)
    # The order, its items and amounts stay; so do the country and the business's tax identity.
    assert old.items.get().item_price == 9
    assert (old.ship_country, old.buyer_vat_number, old.buyer_company_name) == (
        "DE",
        "DE123456789",
        "Mustermann GmbH",
    )


def test_the_billing_address_goes_with_the_other_buyer_data(account):
    billing = {
        "billing_name": "Mustermann Rechnungsstelle",
        "bill_address_1": "Rechnungsweg 5",
        "bill_address_2": "Postfach 12",
        "bill_address_3": "Gebäude B",
        "bill_city": "Bonn",
        "bill_state": "NRW",
        "bill_postal_code": "53111",
        "bill_country": "DE",
    }
    old = make_order(account, "302-0000001-0000001", days_ago=45, **billing)
    # An order whose only buyer data is its billing address is found too.
    only_billing = make_order(
        account,
        "302-0000002-0000002",
        days_ago=45,
        **(dict.fromkeys(ORDER_PII_FIELDS, "") | {"bill_address_1": "Rechnungsweg 7"}),
    )

    assert remove_buyer_data(older_than_days=30, now=NOW) == 2

    old.refresh_from_db()
    only_billing.refresh_from_db()
    assert [getattr(old, name) for name in billing] == [""] * 7 + ["DE"]
    assert only_billing.bill_address_1 == ""


def test_the_clock_starts_at_the_last_shipment(account):
    order = make_order(account, "302-0000003-0000003", days_ago=60)
    for days_ago, number in ((50, "1"), (10, "2")):
        ShipmentLine.objects.create(
            account=account,
            order=order,
            shipment_id=f"D{number}",
            shipment_item_id=number,
            shipped_at=NOW - timedelta(days=days_ago),
        )
    assert remove_buyer_data(older_than_days=30, now=NOW) == 0
    assert has_buyer_data(order)
    assert remove_buyer_data(older_than_days=30, now=NOW + timedelta(days=21)) == 1
    assert not has_buyer_data(order)


def test_without_a_shipment_the_last_update_counts(account):
    order = make_order(
        account, "302-0000004-0000004", days_ago=90, last_updated_at=NOW - timedelta(days=3)
    )
    assert remove_buyer_data(older_than_days=30, now=NOW) == 0
    assert has_buyer_data(order)


def test_return_comments_go_after_the_retention(account):
    def make_return(days_ago: int, key: str) -> Return:
        return Return.objects.create(
            account=account,
            amazon_order_id="302-0000005-0000005",
            returned_at=NOW - timedelta(days=days_ago),
            sku="SKU",
            line_key=key,
            quantity=1,
            reason="DEFECTIVE",
            customer_comments="Bitte an Erika Mustermann, Heidestraße 17, zurück",
        )

    old, recent = make_return(40, "a"), make_return(2, "b")
    assert remove_buyer_data(older_than_days=30, now=NOW) == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.customer_comments == "" and old.reason == "DEFECTIVE"
    assert recent.customer_comments


def test_removing_buyer_data_twice_changes_nothing_the_second_time(account):
    for number in range(3):
        make_order(account, f"302-000000{number}-0000009", days_ago=40)
    assert remove_buyer_data(older_than_days=30, now=NOW) == 3
    assert remove_buyer_data(older_than_days=30, now=NOW) == 0


def test_a_negative_retention_is_refused():
    with pytest.raises(ValueError, match="negative"):
        remove_buyer_data(older_than_days=-1)


def make_report(account, report_type: str, *, days_ago: int, **fields) -> Report:
    report = Report.objects.create(
        account=account,
        report_type=report_type,
        import_status=Report.ImportStatus.IMPORTED,
        downloaded_at=NOW - timedelta(days=days_ago),
        **fields,
    )
    store_raw_document(report, b"order-id\tbuyer-name\n302-1\tErika Mustermann\n", charset="utf-8")
    report.save()
    return report


def test_old_documents_with_buyer_data_are_deleted_with_a_note(account, logged_in_client):
    mfn = make_report(account, "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING", days_ago=31)
    name, storage = mfn.raw_file.name, mfn.raw_file.storage
    stock = make_report(account, "GET_AFN_INVENTORY_DATA", days_ago=90)
    fresh = make_report(account, "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL", days_ago=2)
    assert delete_personal_documents(older_than_days=30, now=NOW) == 1
    mfn.refresh_from_db()
    assert not mfn.raw_file
    assert not storage.exists(name)
    assert mfn.raw_size and mfn.import_status == Report.ImportStatus.IMPORTED
    note = ReportEvent.objects.get(report=mfn)
    assert "deleted for data protection" in note.message and "30 days" in note.message
    for kept in (stock, fresh):
        kept.refresh_from_db()
        assert kept.raw_file and kept.raw_file.storage.exists(kept.raw_file.name)
    # The pages explain rather than fail.
    assert logged_in_client.get(f"/reports/{mfn.pk}/").status_code == 200
    assert (
        "deleted for data protection"
        in logged_in_client.get(f"/reports/{mfn.pk}/").content.decode()
    )
    assert logged_in_client.get(f"/reports/{mfn.pk}/download/").status_code == 404


@pytest.mark.parametrize(
    "report_type",
    [
        "GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING",
        "GET_ORDER_REPORT_DATA_INVOICING",
        "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_INVOICING",
        "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA",
        "GET_FLAT_FILE_VAT_INVOICE_DATA_REPORT",
        "SC_VAT_TAX_REPORT",
    ],
)
def test_every_report_type_with_buyer_data_is_covered(account, report_type):
    make_report(account, report_type, days_ago=40)
    assert delete_personal_documents(older_than_days=30, now=NOW) == 1


def test_a_document_a_worker_holds_is_left_for_the_next_run(account):
    report = make_report(
        account,
        "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING",
        days_ago=40,
        leased_until=NOW + timedelta(minutes=5),
    )
    assert delete_personal_documents(older_than_days=30, now=NOW) == 0
    assert delete_personal_documents(older_than_days=30, now=NOW + timedelta(minutes=6)) == 1
    report.refresh_from_db()
    assert not report.raw_file


def test_a_file_already_gone_from_storage_is_still_cleared(account):
    report = make_report(account, "SC_VAT_TAX_REPORT", days_ago=40)
    report.raw_file.storage.delete(report.raw_file.name)
    assert delete_personal_documents(older_than_days=30, now=NOW) == 1
    report.refresh_from_db()
    assert not report.raw_file


def test_the_daily_pass_run_twice(account, settings):
    settings.PII_RETENTION_DAYS = 30
    make_order(account, "302-0000007-0000007", days_ago=40)
    make_report(account, "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING", days_ago=40)
    first = tasks.remove_personal_data()
    assert (first.records, first.documents) == (1, 1)
    second = tasks.remove_personal_data()
    assert (second.records, second.documents) == (0, 0)
    assert ReportEvent.objects.count() == 1


def test_the_retention_setting_is_used(account, settings):
    make_order(account, "302-0000008-0000008", days_ago=10)
    settings.PII_RETENTION_DAYS = 30
    assert tasks.remove_personal_data().records == 0
    settings.PII_RETENTION_DAYS = 7
    assert tasks.remove_personal_data().records == 1


def test_the_pass_is_scheduled_daily():
    specs = {spec.name: spec for spec in worker_schedules()}
    spec = specs["privacy.remove_personal_data"]
    assert spec.func == "reports.tasks.remove_personal_data"
    assert spec.seconds == 24 * 60 * 60
    register_schedules()
    register_schedules()
    from django_q.models import Schedule

    assert Schedule.objects.filter(name=spec.name).count() == 1


def test_registering_moves_a_schedule_stored_under_the_old_task_path():
    # Before reports/tasks.py held every task, the pass ran as reports.privacy_tasks.<name>;
    # a database set up then keeps that path until the schedules are registered again.
    from django_q.models import Schedule

    Schedule.objects.create(
        name="privacy.remove_personal_data",
        func="reports.privacy_tasks.remove_personal_data",
        schedule_type=Schedule.MINUTES,
        minutes=1440,
    )
    register_schedules()
    register_schedules()
    (schedule,) = Schedule.objects.filter(name="privacy.remove_personal_data")
    assert schedule.func == "reports.tasks.remove_personal_data"


def test_every_scheduled_task_path_can_be_imported():
    from django.utils.module_loading import import_string

    for spec in worker_schedules():
        assert callable(import_string(spec.func)), spec.func


def test_the_service_takes_an_explicit_retention(account):
    make_order(account, "302-0000010-0000010", days_ago=3)
    assert remove_personal_data(older_than_days=1, now=NOW).records == 1
