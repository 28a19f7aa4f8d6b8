"""An account connected under a wrong seller ID (the consent callback's `selling_partner_id`
changed): Amazon's notifications through its push subscription name the real seller, and the
consumer marks the account so that a person sees the cause and the fix, and its imports stop."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from amazon_settings import push, services
from amazon_settings.models import PushSubscription, SellerAccount
from amazon_settings.selectors import accounts_needing_attention, connection_status
from amazon_settings.services import ConnectionCheck
from amazon_settings.spapi import SpApiAuthError
from core.models import AuditEvent, ChangeEvent
from reports.diagnosis import access, results
from reports.models import RejectedNotification, Report
from reports.services import notifications, transitions, worker
from reports.services.email_notifications import send_due_notifications
from tests.amazon_fixtures import EU_SELLER
from tests.amazon_settings.test_consent_flow import callback_path, consent_on_amazon, tampered
from tests.german import GERMAN, compiled_catalogue, page_text
from tests.reports.test_email_notifications import languages, make_user  # noqa: F401
from tests.reports.test_push import consume, handed, queue, sent_and_waiting  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures(compiled_catalogue.__name__)]

Status = SellerAccount.Status
REAL_SELLER = "A1KERZENWERK5D"
INVENTED_SELLER = "A9INVENTED00XX"
SUBSCRIPTION = "5d2f1b3c-0000-4000-8000-00000000beef"
MFN_TYPE = "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING"
CAUSE = (
    "Amazon's notifications for this authorization come from seller A1KERZENWERK5D, not from "
    "A9INVENTED00XX: the account was connected under a wrong seller ID. Disconnect it and "
    "connect the seller again through Amazon's consent page."
)
CAUSE_DE = (
    "Amazons Benachrichtigungen zu dieser Berechtigung kommen vom Verkäufer A1KERZENWERK5D, "
    "nicht von A9INVENTED00XX: Das Konto wurde unter einer falschen Verkäufer-ID verbunden. "
    "Trennen Sie es und verbinden Sie den Verkäufer erneut über Amazons Zustimmungsseite."
)


@pytest.fixture
def invented(settings) -> SellerAccount:
    """An account connected under an ID nobody else has, holding the real seller's token,
    importing and subscribed to push (Amazon's subscription is the real seller's)."""
    settings.PUSH_SQS_QUEUE_URL = "https://sqs.eu-west-1.amazonaws.com/111122223333/orders"
    now = timezone.now()
    account = SellerAccount.objects.create(
        selling_partner_id=INVENTED_SELLER,
        region="eu",
        display_name="Invented Shop",
        refresh_token_encrypted="encrypted",
        authorized_at=now,
        last_success_at=now,
        status=Status.CONNECTED,
        order_import_active=True,
    )
    PushSubscription.objects.create(
        account=account,
        state=PushSubscription.State.ACTIVE,
        subscription_id=SUBSCRIPTION,
        active_since=now - timedelta(days=1),
        next_attempt_at=now + timedelta(hours=12),
    )
    return account


def message(*, seller: str, subscription: str = SUBSCRIPTION, report_id: str = "50001") -> str:
    return json.dumps(
        {
            "notificationVersion": "2020-09-04",
            "notificationType": "REPORT_PROCESSING_FINISHED",
            "payloadVersion": "2020-09-04",
            "eventTime": "2025-03-01T10:00:00.000Z",
            "payload": {
                "reportProcessingFinishedNotification": {
                    "sellerId": seller,
                    "accountId": f"amzn1.merchant.o.{seller}",
                    "reportId": report_id,
                    "reportType": MFN_TYPE,
                    "processingStatus": "DONE",
                    "reportDocumentId": "amzn1.spdoc.1.4.eu.x",
                }
            },
            "notificationMetadata": {
                "applicationId": "amzn1.sellerapps.app.x",
                "subscriptionId": subscription,
                "publishTime": "2025-03-01T10:00:01.000Z",
                "notificationId": str(uuid.uuid4()),
            },
        }
    )


def handle(body: str) -> notifications.Outcome:
    return notifications.handle_notification(body, message_id=str(uuid.uuid4()))


def waiting_report(account: SellerAccount) -> Report:
    return Report.objects.create(
        account=account,
        report_type=MFN_TYPE,
        amazon_report_id="49999",
        import_status=Report.ImportStatus.WAITING,
        next_attempt_at=timezone.now() - timedelta(minutes=1),
    )


def test_a_notification_from_another_seller_on_the_subscription_marks_the_account(
    invented, logged_in_client
):
    report = waiting_report(invented)
    assert transitions.due_reports(timezone.now()).filter(pk=report.pk).exists()

    assert handle(message(seller=REAL_SELLER)) == notifications.Outcome.REJECTED

    invented.refresh_from_db()
    assert invented.status == Status.SELLER_MISMATCH
    # The worker leaves it alone: no request, no check, no download under the wrong ID.
    assert not invented.is_usable
    assert not SellerAccount.objects.usable().filter(pk=invented.pk).exists()
    assert not transitions.due_reports(timezone.now()).filter(pk=report.pk).exists()
    status = connection_status(invented)
    assert (status.key, status.tone, status.action) == ("seller_mismatch", "danger", "disconnect")
    assert status.explanation == CAUSE
    assert [account for account, _status in accounts_needing_attention()] == [invented]
    # Kept as rejected, with the cause: deleted from the queue, never looping.
    (rejected,) = RejectedNotification.objects.all()
    assert rejected.reason == CAUSE
    (audit,) = AuditEvent.objects.filter(action="amazon_settings:seller_mismatch")
    assert (audit.object_type, audit.object_id, audit.detail) == (
        "seller account",
        str(invented.pk),
        CAUSE,
    )
    assert ChangeEvent.objects.filter(
        event_type="account.status_changed", account_id=invented.pk
    ).exists()

    page = page_text(logged_in_client.get(reverse("amazon_settings:settings")))
    assert "Invented Shop: Wrong seller ID." in page  # the banner
    assert page.count(CAUSE) == 2  # the banner and the account's card
    german = page_text(logged_in_client.get(reverse("amazon_settings:settings"), **GERMAN))
    assert "Invented Shop: Falsche Verkäufer-ID." in german
    assert german.count(CAUSE_DE) == 2
    assert "connected under a wrong seller ID" not in german


def test_the_same_message_again_changes_nothing_more(invented):
    body = message(seller=REAL_SELLER)
    handle(body)
    events = ChangeEvent.objects.count()

    assert handle(body) == notifications.Outcome.REJECTED

    assert ChangeEvent.objects.count() == events
    assert AuditEvent.objects.filter(action="amazon_settings:seller_mismatch").count() == 1
    assert RejectedNotification.objects.count() == 2
    invented.refresh_from_db()
    assert invented.status == Status.SELLER_MISMATCH


def test_a_notification_of_the_accounts_own_seller_changes_nothing(invented):
    invented.selling_partner_id = REAL_SELLER
    invented.save(update_fields=["selling_partner_id"])
    report = waiting_report(invented)

    assert handle(message(seller=REAL_SELLER, report_id="49999")) == notifications.Outcome.HURRIED

    invented.refresh_from_db()
    assert invented.status == Status.CONNECTED
    assert not RejectedNotification.objects.exists()
    assert not AuditEvent.objects.exists()
    report.refresh_from_db()
    assert report.import_status == Report.ImportStatus.DOWNLOADING


def test_the_real_seller_connected_too_gets_its_notifications_and_the_wrong_one_is_marked(
    invented,
):
    # The seller connected again correctly: Amazon's subscription (one per seller and app) is
    # found for both accounts.
    real = SellerAccount.objects.create(
        selling_partner_id=REAL_SELLER,
        region="eu",
        display_name="Kerzenwerk",
        refresh_token_encrypted="encrypted",
        status=Status.CONNECTED,
    )
    PushSubscription.objects.create(
        account=real, state=PushSubscription.State.ACTIVE, subscription_id=SUBSCRIPTION
    )
    report = waiting_report(real)

    assert handle(message(seller=REAL_SELLER, report_id="49999")) == notifications.Outcome.HURRIED

    invented.refresh_from_db()
    real.refresh_from_db()
    assert (invented.status, real.status) == (Status.SELLER_MISMATCH, Status.CONNECTED)
    report.refresh_from_db()
    assert report.import_status == Report.ImportStatus.DOWNLOADING


def test_no_call_and_no_pass_of_the_worker_clears_the_mark(invented, monkeypatch):
    read_before = SellerAccount.objects.get(pk=invented.pk)  # as a pass holds it
    handle(message(seller=REAL_SELLER))
    subscribed = []
    monkeypatch.setattr(push, "subscribe_account", lambda *a, **k: subscribed.append(a))
    PushSubscription.objects.update(next_attempt_at=timezone.now() - timedelta(minutes=1))

    # A call's success (Test connection, a pass that read the account before the mark) or its
    # failure is evidence about the token, not about whose it is.
    services.note_success(read_before)
    assert read_before.status == Status.SELLER_MISMATCH
    services.note_failure(
        SellerAccount.objects.get(pk=invented.pk),
        SpApiAuthError(operation="lwa", status=400, reason="authorization_revoked"),
    )
    push.repair_subscriptions()
    worker.tick(inline=True)

    invented.refresh_from_db()
    assert invented.status == Status.SELLER_MISMATCH
    assert connection_status(invented).explanation == CAUSE
    assert invented.last_success_at is not None and invented.last_error
    assert subscribed == []


def test_disconnecting_clears_the_mark_and_a_later_message_leaves_it_alone(
    invented, logged_in_client
):
    handle(message(seller=REAL_SELLER))

    logged_in_client.post(reverse("amazon_settings:disconnect", args=[invented.pk]))
    handle(message(seller=REAL_SELLER))

    invented.refresh_from_db()
    assert invented.status == Status.DISCONNECTED
    assert AuditEvent.objects.filter(action="amazon_settings:seller_mismatch").count() == 1
    assert "wrong seller ID" not in page_text(
        logged_in_client.get(reverse("amazon_settings:settings"))
    )


def test_end_to_end_a_tampered_connection_is_marked_by_the_first_notification(
    logged_in_client,
    amazon,
    queue,  # noqa: F811
    handed,  # noqa: F811
):
    started = logged_in_client.post("/settings/connect/", {"region": "eu"})
    path = callback_path(consent_on_amazon(started["Location"], seller=EU_SELLER))
    assert logged_in_client.get(tampered(path, seller=INVENTED_SELLER)).status_code == 302
    account = SellerAccount.objects.get(selling_partner_id=INVENTED_SELLER)
    assert connection_status(account).key == "connected"  # nothing tells it at the callback
    assert push.subscribe_account(account).state == PushSubscription.State.ACTIVE
    sent_and_waiting(account)

    outcomes = consume(handed, until=lambda outcomes: outcomes["rejected"] >= 1)

    assert outcomes["rejected"] == 1
    account.refresh_from_db()
    cause = CAUSE.replace(REAL_SELLER, EU_SELLER)
    assert account.status == Status.SELLER_MISMATCH
    assert connection_status(account).explanation == cause
    assert RejectedNotification.objects.get().reason == cause
    assert cause in page_text(logged_in_client.get(reverse("amazon_settings:settings")))

    # A new authorization through the consent page for the account clears the mark (and if it
    # is the wrong seller's again, its next notification marks it again).
    renewed = logged_in_client.post(reverse("amazon_settings:renew", args=[account.pk]))
    path = callback_path(consent_on_amazon(renewed["Location"], seller=EU_SELLER))
    assert logged_in_client.get(tampered(path, seller=INVENTED_SELLER)).status_code == 302
    account.refresh_from_db()
    assert account.status == Status.CONNECTED


def test_the_mark_is_mailed_once_with_the_cause_in_each_readers_language(
    invented,
    languages,  # noqa: F811
):
    make_user("olga")
    make_user("greta")
    languages["greta"] = "de"
    handle(message(seller=REAL_SELLER))

    assert send_due_notifications().sent == 2
    assert send_due_notifications().sent == 0

    (english,) = [m for m in mail.outbox if m.to == ["olga@example.invalid"]]
    assert english.subject == "Invented Shop was connected under a wrong seller ID"
    assert CAUSE in english.body and "Renew" not in english.body
    (german,) = [m for m in mail.outbox if m.to == ["greta@example.invalid"]]
    assert german.subject == "Invented Shop wurde unter einer falschen Verkäufer-ID verbunden"
    assert CAUSE_DE in german.body


def test_orders_missing_names_the_cause_and_sends_to_the_accounts_card(invented):
    handle(message(seller=REAL_SELLER))
    invented.refresh_from_db()

    tests = [ConnectionCheck("Sellers.getMarketplaceParticipations", True, "1 marketplace")]
    check = access.check_authorization(invented, tests=tests, now=timezone.now())

    assert (check.status, check.summary) == (results.PROBLEM, CAUSE)
    assert [(f.label, f.url, f.method) for f in check.fixes] == [
        ("Open Settings", f"{reverse('amazon_settings:settings')}#account-{invented.pk}", "get")
    ]
