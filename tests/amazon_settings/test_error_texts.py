"""SP-API errors are stored in English (`str(error)`: the call log, an account's last error, a
report's history) and read in the reader's language: each family's headline translated from
the stored text, Amazon's own words (the facts) kept as Amazon wrote them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from amazon_settings import error_texts
from amazon_settings.models import ApiCall, SellerAccount
from amazon_settings.spapi import (
    DocumentCorrupt,
    DocumentError,
    DocumentTooLarge,
    DocumentUndecodable,
    DocumentUrlExpired,
    SpApiAuthError,
    SpApiError,
    SpApiRequestError,
    SpApiThrottled,
    SpApiTransientError,
)
from amazon_settings.spapi.errors import HEADLINES
from core.stored_texts import _pattern, translate_stored
from reports import stored_texts as report_texts
from tests.german import GERMAN, compiled_catalogue, page_text

pytestmark = pytest.mark.usefixtures(compiled_catalogue.__name__)

# Amazon's words with parentheses and a sentence that is also in the catalogue: kept as sent.
QUOTA = "You exceeded your quota (Reports.getReport, 0.0167/s)."
CAUGHT = "Amazon denied access."

FAMILIES = [
    (
        SpApiThrottled(
            operation="Reports.getReport",
            status=429,
            code="QuotaExceeded",
            message=QUOTA,
            retry_after=59.6,
        ),
        "Amazon hat Reports.getReport gedrosselt; erneuter Versuch in 60 s "
        f"(429 QuotaExceeded: {QUOTA})",
    ),
    (
        SpApiThrottled(operation="Orders.getOrders", retry_after=0.2),
        "Zu viele Aufrufe von Orders.getOrders; der nächste ist in 1 s erlaubt, daher wurde er "
        "nicht gesendet",
    ),
    (
        SpApiTransientError(
            operation="Orders.getOrders", status=503, message="Service Unavailable"
        ),
        "Amazon konnte Orders.getOrders gerade nicht beantworten; der Aufruf wird wiederholt "
        "(503: Service Unavailable)",
    ),
    (
        SpApiAuthError(
            operation="LWA.refreshToken",
            status=400,
            reason="authorization_revoked",
            code="invalid_grant",
            message="The request has an invalid grant parameter : refresh_token",
        ),
        "Amazon akzeptiert die Berechtigung dieses Verkäufers nicht mehr; der Verkäufer muss die "
        "App erneut berechtigen (400 invalid_grant: The request has an invalid grant parameter : "
        "refresh_token)",
    ),
    (
        SpApiAuthError(
            operation="LWA.exchangeCode", status=400, reason="invalid_code", code="invalid_grant"
        ),
        "Amazon hat den Berechtigungscode abgelehnt; er ist abgelaufen oder wurde schon "
        "verwendet, daher muss der Verkäufer die Berechtigung neu starten (400 invalid_grant)",
    ),
    (
        SpApiAuthError(
            operation="LWA.refreshToken",
            status=401,
            reason="client_rejected",
            code="invalid_client",
            message="Client authentication failed",
        ),
        "Amazon hat die LWA-Client-ID oder das Client-Secret der App abgelehnt; prüfen oder "
        "erneuern Sie das Client-Secret (401 invalid_client: Client authentication failed)",
    ),
    (
        SpApiAuthError(
            operation="Reports.createReport",
            status=403,
            reason="access_denied",
            code="Unauthorized",
            message=CAUGHT,
        ),
        f"Amazon hat den Zugriff auf Reports.createReport verweigert (403 Unauthorized: {CAUGHT})",
    ),
    (
        SpApiRequestError(
            operation="Reports.createReport",
            status=400,
            code="InvalidInput",
            message="Invalid dataStartTime (must be before dataEndTime)",
        ),
        "Amazon hat die Anfrage an Reports.createReport abgelehnt "
        "(400 InvalidInput: Invalid dataStartTime (must be before dataEndTime))",
    ),
    (
        SpApiError(operation="Reports.getReport", status=302, message="Found"),
        "Amazon konnte Reports.getReport nicht ausführen (302: Found)",
    ),
    (
        DocumentError(operation="download", status=404, code="NoSuchKey"),
        "Die Berichtsdatei konnte nicht gelesen werden (404 NoSuchKey)",
    ),
    (
        DocumentUrlExpired(operation="download", status=403, code="AccessDenied"),
        "Der Link zur Berichtsdatei ist vor dem Download abgelaufen; ein neuer Link wird "
        "benötigt (403 AccessDenied)",
    ),
    (
        DocumentTooLarge(operation="download", code="TooLarge", message="over 500 MB"),
        "Die Berichtsdatei ist größer, als diese Installation annimmt (TooLarge: over 500 MB)",
    ),
    (
        DocumentCorrupt(
            operation="gunzip",
            code="CorruptGzip",
            message="Error -3 while decompressing data (invalid block type)",
        ),
        "Die Berichtsdatei ist beschädigt (ihre komprimierten Daten sind unvollständig oder "
        "ungültig) (CorruptGzip: Error -3 while decompressing data (invalid block type))",
    ),
    (
        DocumentUndecodable(operation="decode", offset=1234, charset="windows-1252"),
        "Die Berichtsdatei ist kein gültiger Text: Byte 1234 lässt sich nicht als windows-1252 "
        "lesen",
    ),
]


@pytest.mark.parametrize(("error", "german"), FAMILIES, ids=lambda v: type(v).__name__)
def test_each_family_is_read_in_german_from_its_stored_english(error, german):
    stored = str(error)
    with translation.override("de"):
        assert translate_stored(stored) == german
        assert error_texts.describe(error) == german
    with translation.override("en"):
        assert translate_stored(stored) == stored
        assert error_texts.describe(error) == stored


def test_every_headline_has_a_family_here():
    """A new headline needs its case above (and its German)."""
    headlines = [error.headline() for error, _ in FAMILIES]
    missing = [
        template
        for template in HEADLINES
        if not any(_pattern(template).fullmatch(headline) for headline in headlines)
    ]
    assert missing == []


def test_an_error_inside_a_report_s_history_is_german_with_the_moment_in_the_reader_s_zone():
    error = SpApiThrottled(
        operation="Reports.getReport", status=429, code="QuotaExceeded", retry_after=60
    )
    at = datetime(2026, 12, 6, 13, 5, tzinfo=UTC)
    retrying = report_texts.stored_text(
        report_texts.RETRYING, error=error, time=report_texts.stored_moment(at)
    )
    gave_up = report_texts.stored_text(report_texts.GAVE_UP, attempts=5, error=error)
    denied = report_texts.stored_text(
        report_texts.DENIED,
        error=SpApiAuthError(
            operation="Orders.getOrders", status=403, reason="access_denied", code="Unauthorized"
        ),
    )
    throttled = (
        "Amazon hat Reports.getReport gedrosselt; erneuter Versuch in 60 s (429 QuotaExceeded)"
    )
    with translation.override("de"), timezone.override("Europe/Berlin"):
        assert translate_stored(retrying) == f"{throttled} Neuer Versuch um 06.12.2026 14:05."
        assert translate_stored(gave_up) == f"Nach 5 Versuchen aufgegeben: {throttled}"
        assert translate_stored(denied) == (
            "Amazon hat den Zugriff verweigert: Erneuern Sie die Berechtigung unter "
            "Einstellungen. (Amazon hat den Zugriff auf Orders.getOrders verweigert "
            "(403 Unauthorized))"
        )
    with translation.override("en"), timezone.override("America/New_York"):
        assert translate_stored(retrying) == (
            "Amazon throttled Reports.getReport; try again in 60 s (429 QuotaExceeded) "
            "Trying again at 2026-12-06 08:05."
        )


def test_old_stored_texts_without_a_template_stay_as_they_are():
    old = [
        # The British spelling of before, and a clock time in the worker's zone.
        "Amazon no longer accepts this seller's authorisation; the seller must authorise the app "
        "again (400 invalid_grant)",
        "Amazon is not answering. Trying again at 12:00.",
        "Something Amazon said (in parentheses)",
    ]
    with translation.override("de"):
        assert [translate_stored(text) for text in old] == [
            old[0],
            "Amazon is not answering. Neuer Versuch um 12:00.",
            old[2],
        ]


@pytest.mark.django_db
def test_the_log_and_settings_show_the_stored_error_in_german(logged_in_client):
    error = SpApiAuthError(
        operation="Reports.createReport",
        status=403,
        reason="access_denied",
        code="Unauthorized",
        message="Access to requested resource is denied.",
    )
    account = SellerAccount.objects.create(
        selling_partner_id="A2MUELLERHW7QX",
        region="eu",
        display_name="Müller",
        refresh_token_encrypted="encrypted",
        authorized_at=timezone.now(),
        status=SellerAccount.Status.ACCESS_DENIED,
        status_detail=str(error),
        last_error=str(error),
        last_error_at=timezone.now(),
    )
    ApiCall.objects.create(
        at=timezone.now(),
        account=account,
        operation="Reports.createReport",
        method="POST",
        path="/reports/2021-06-30/reports",
        outcome=ApiCall.Outcome.DENIED,
        http_status=403,
        error_code="Unauthorized",
        error_message=str(error),
        duration_ms=120,
    )
    german = (
        "Amazon hat den Zugriff auf Reports.createReport verweigert "
        "(403 Unauthorized: Access to requested resource is denied.)"
    )
    for page in ("amazon_settings:log", "amazon_settings:settings"):
        text = page_text(logged_in_client.get(reverse(page), **GERMAN))
        assert german in text, page
        assert "Amazon denied access to" not in text, page
