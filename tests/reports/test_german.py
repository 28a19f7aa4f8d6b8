"""Orders missing? and a failed report's details for a German browser: the checks, and the
reasons the worker stored in English, read in German."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from amazon_settings import crypto
from amazon_settings.models import AccountMarketplace, SellerAccount
from amazon_settings.spapi.documents import CharsetFacts, choose_charset
from reports import stored_texts as texts
from reports.catalog import BY_KEY
from reports.models import ConnectionTest, Report, ReportEvent
from reports.services import connection_tests
from reports.services.transitions import record_event
from tests.german import GERMAN, assert_german, compiled_catalogue, page_text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures(compiled_catalogue.__name__)]

GAVE_UP = texts.stored_text(
    texts.GAVE_UP,
    attempts=8,
    error=texts.stored_text(texts.STORED_UNREADABLE, error="connection reset by peer"),
)


@pytest.fixture(autouse=True)
def no_worker(monkeypatch) -> None:
    """The page's test call and the reports' tasks are not handed to a worker."""
    monkeypatch.setattr("reports.services.transitions.async_task", lambda *a, **k: None)
    monkeypatch.setattr("reports.services.connection_tests.async_task", lambda *a, **k: None)


@pytest.fixture
def account() -> SellerAccount:
    now = timezone.now()
    account = SellerAccount.objects.create(
        selling_partner_id="A2MUELLERHW7QX",
        region="eu",
        display_name="Müller Haushaltswaren",
        refresh_token_encrypted=crypto.encrypt_secret("Atzr|test"),
        status=SellerAccount.Status.CONNECTED,
        authorized_at=now - timedelta(days=10),
        last_success_at=now - timedelta(hours=1),
        import_orders_from=now - timedelta(days=10),
    )
    AccountMarketplace.objects.create(
        account=account, marketplace_id="A1PA6795UKMFR9", country_code="DE", name="DE"
    )
    return account


@pytest.fixture
def failed_report(account) -> Report:
    now = timezone.now()
    report = Report.objects.create(
        account=account,
        report_type=BY_KEY["mfn_orders_eu"].report_type,
        marketplace_ids=["A1PA6795UKMFR9"],
        data_start=now - timedelta(days=3),
        data_end=now - timedelta(days=2),
        amazon_report_id="50001",
        amazon_status=Report.AmazonStatus.DONE,
        import_status=Report.ImportStatus.FAILED,
        failure_reason=Report.FailureReason.RETRIES_EXHAUSTED,
        last_error=GAVE_UP,
        attempts=8,
    )
    record_event(report, message=texts.stored_text(texts.SENT, report_id="50001", name="MFN"))
    record_event(report, message=GAVE_UP)
    return report


def test_orders_missing_in_german(logged_in_client, account, failed_report):
    response = logged_in_client.get(reverse("reports:diagnosis", args=[account.pk]), **GERMAN)
    assert_german(
        response,
        german=[
            "Berechtigung vorhanden und gültig",
            "Der Hintergrunddienst ist noch nie gelaufen",
            "Hängende, fehlgeschlagene oder abgebrochene Berichte",
            "fehlgeschlagen (Alle Wiederholungen erfolglos)",
            "Nach 8 Versuchen aufgegeben: Die gespeicherte Berichtsdatei konnte nicht gelesen "
            "werden: connection reset by peer",
            "1 Bericht der letzten 30 Tage wurde nicht abgeschlossen",
            "Lücken in der importierten Zeit",
            "Ablauf der Berechtigung",
        ],
        english=[
            "Authorization present and valid",
            "The background worker has never run",
            "Stuck, failed or cancelled reports",
            "Gave up after",
            "Could not read the stored document",
            "of the last 30 days did not finish",
            "Gaps in the imported time",
            "Authorization expiry",
            " days)",
            "problem",  # a check's status as its code, not its word
        ],
    )


def test_a_failed_reports_details_in_german(logged_in_client, failed_report):
    response = logged_in_client.get(reverse("reports:detail", args=[failed_report.pk]), **GERMAN)
    assert_german(
        response,
        german=[
            "Nach 8 Versuchen aufgegeben: Die gespeicherte Berichtsdatei konnte nicht gelesen "
            "werden: connection reset by peer",
            "An Amazon gesendet als Bericht 50001 (MFN).",
        ],
        english=["Gave up after", "Could not read the stored document", "Sent to Amazon as"],
    )


def test_the_same_details_in_english(logged_in_client, failed_report):
    response = logged_in_client.get(
        reverse("reports:detail", args=[failed_report.pk]), HTTP_ACCEPT_LANGUAGE="en"
    )
    text = page_text(response)
    assert GAVE_UP in text
    assert "Sent to Amazon as report 50001 (MFN)." in text


def test_a_stored_text_is_translated_with_its_values_and_unknown_text_stays():
    retrying = texts.stored_text(texts.RETRYING, error="Amazon is not answering.", time="12:00")
    with translation.override("de"):
        assert (
            texts.translate_stored(retrying) == "Amazon is not answering. Neuer Versuch um 12:00."
        )
        assert texts.translate_stored("5 minutes") == "5 Minuten"
        assert texts.translate_stored("Something Amazon said.") == "Something Amazon said."
        assert texts.translate_stored("") == ""
    with translation.override("en"):
        assert texts.translate_stored(retrying) == retrying


def test_row_errors_and_a_held_stock_report_read_in_german(logged_in_client, account):
    """The importers store their reasons in English (orders.stored_texts); the report's page
    shows them in German, the column names and cells as the file has them."""
    from orders import stored_texts as order_texts
    from orders.models import StockSnapshot
    from orders.services.stock import stock_drop_reason
    from reports.models import ReportRowError

    StockSnapshot.objects.create(account=account, taken_at=timezone.now(), rows=40, units=1000)
    held = stock_drop_reason(account=account, rows=40, units=10)
    report = Report.objects.create(
        account=account,
        report_type=BY_KEY["fba_stock"].report_type,
        marketplace_ids=["A1PA6795UKMFR9"],
        import_status=Report.ImportStatus.HELD,
        last_error=held,
    )
    record_event(report, message=held)
    ReportRowError.objects.create(
        report=report,
        line_number=7,
        reason=order_texts.stored_text(order_texts.NOT_A_NUMBER, column="quantity", value="'x'"),
    )
    response = logged_in_client.get(reverse("reports:detail", args=[report.pk]), **GERMAN)
    assert_german(
        response,
        german=[
            "quantity: 'x' ist keine Zahl",
            "Der Bestandsbericht hat 10 Stück, weniger als 50 % der 1000 des vorigen Berichts. "
            "Bestätigen Sie, um ihn trotzdem zu importieren.",
        ],
        english=["is not a number", "The stock report has", "Confirm to import it anyway"],
    )


def test_the_request_forms_refusals_in_german(logged_in_client, account):
    response = logged_in_client.post(
        reverse("reports:request"),
        {"account": account.pk, "kind": "mfn_orders_eu", "start": "", "end": ""},
        **GERMAN,
    )
    assert response.status_code == 400
    text = page_text(response)
    assert "Wählen Sie mindestens einen Marktplatz." in text
    assert "Choose at least one marketplace." not in text


def test_a_moment_in_a_stored_text_is_shown_in_the_readers_zone_and_format(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    at = datetime(2026, 12, 6, 14, 5, tzinfo=UTC)
    stored = texts.stored_text(texts.REGENERATION_WAIT, hours=4, moment=texts.stored_moment(at))
    assert stored == (
        "Amazon makes this report at most every 4 hours; it is sent at 2026-12-06T14:05Z."
    )
    with translation.override("de"), timezone.override("Europe/Berlin"):
        assert texts.translate_stored(stored).endswith("er wird am 06.12.2026 15:05 gesendet.")
    with translation.override("en"), timezone.override("America/New_York"):
        assert texts.translate_stored(stored).endswith("it is sent at 2026-12-06 09:05.")


def test_the_history_of_a_downloaded_report_in_german(logged_in_client, failed_report):
    """The charset's reason (spapi's plain-Python sentence), Amazon's notification and each
    step's statuses are shown in German, as the rest of the history."""
    facts = CharsetFacts("Cp1252")
    facts.feed("Müller;Gießkanne\n".encode("cp1252"))
    reason = choose_charset(facts.finish()).reason
    assert reason == "Amazon labelled it Cp1252; its bytes are not UTF-8: read as windows-1252."
    now = timezone.now()
    for import_status, message in (
        ("waiting", texts.stored_text(texts.NOTIFIED, status="DONE")),
        ("importing", texts.stored_text(texts.DOWNLOADED, size=6333, reason=reason)),
    ):
        ReportEvent.objects.create(
            report=failed_report,
            at=now,
            import_status=import_status,
            amazon_status="DONE",
            message=message,
        )
    response = logged_in_client.get(reverse("reports:detail", args=[failed_report.pk]), **GERMAN)
    assert_german(
        response,
        german=[
            "Benachrichtigung von Amazon: Der Bericht ist DONE; sofort abgeholt.",
            "6333 Bytes heruntergeladen. Amazon hat sie als Cp1252 gekennzeichnet; ihre Bytes "
            "sind kein UTF-8: als windows-1252 gelesen.",
            "Wird importiert · Amazon: Fertig",
        ],
        english=["its bytes are not UTF-8", "Amazon's notification", "importing · DONE"],
    )


def test_a_finished_connection_tests_answers_in_the_readers_language(account):
    """The worker stores the answers in English; the page reads ours in German."""
    test = ConnectionTest.objects.create(
        account=account,
        state=ConnectionTest.State.FINISHED,
        requested_at=timezone.now(),
        results=[
            {"operation": "Reports.getReportSchedules", "ok": True,
             "message": "Amazon granted access to reports."},
        ],
    )  # fmt: skip
    with translation.override("de"):
        (check,) = connection_tests.connection_checks(test)
    assert check.message == "Amazon hat den Zugriff auf Berichte erteilt."
