"""E-mail notifications: each condition mailed once per occurrence, only to who opted in, in
their language, and a failing mail server never breaks the pass."""

from __future__ import annotations

import io
import logging
import smtplib
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from amazon_settings import crypto
from amazon_settings.models import AUTHORIZATION_LIFETIME, SellerAccount
from core.roles import OPERATORS, VIEWERS, setup_roles
from reports import tasks
from reports.models import (
    EmailCondition,
    NotificationPreference,
    Report,
    SentNotification,
    WorkerHeartbeat,
)
from reports.services import email_notifications
from reports.services.email_notifications import send_due_notifications
from reports.services.worker import worker_schedules
from tests.conftest import free_port

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
User = get_user_model()


def make_account(number: int = 1, **fields) -> SellerAccount:
    defaults = {
        "selling_partner_id": f"A1MAILTEST{number:04d}",
        "region": "eu",
        "display_name": f"Mail Shop {number}",
        "refresh_token_encrypted": crypto.encrypt_secret(f"Atzr|mail-{number}"),
        "status": SellerAccount.Status.CONNECTED,
    }
    return SellerAccount.objects.create(**(defaults | fields))


def expiring_in(delta: timedelta) -> datetime:
    """The `authorized_at` of an authorization that expires `delta` after NOW."""
    return NOW + delta - AUTHORIZATION_LIFETIME


def make_user(username: str, *, role: str | None = OPERATORS, **fields) -> User:
    fields.setdefault("email", f"{username}@example.invalid")
    user = User.objects.create_user(username=username, password="mail pass 42", **fields)
    if role:
        user.groups.add(setup_roles()[role])
    return user


@pytest.fixture
def operator():
    return make_user("olga")


@pytest.fixture
def languages(monkeypatch):
    """Users' chosen languages, as `core.models.UserPreference.language` gives them: a test
    sets `languages[username] = "de"`. Independent of whether that model is there yet."""
    chosen: dict[str, str] = {}

    def preference(user):
        language = chosen.get(user.username)
        return SimpleNamespace(language=language) if language else None

    monkeypatch.setattr(User, "preference", property(preference), raising=False)
    return chosen


def mails_to(address: str) -> list[mail.EmailMultiAlternatives]:
    return [message for message in mail.outbox if address in message.to]


def test_authorization_expiring_is_mailed_at_30_7_and_1_days_once_each(operator):
    account = make_account(authorized_at=expiring_in(timedelta(days=20)))
    expires = account.authorization_expires_at.date().isoformat()
    make_account(2, authorized_at=NOW - timedelta(days=300))  # 65 days left: not yet

    assert send_due_notifications(now=NOW).sent == 1
    assert send_due_notifications(now=NOW).sent == 0  # run twice: mailed once
    assert send_due_notifications(now=NOW + timedelta(days=10)).sent == 0  # still the 30 days
    send_due_notifications(now=NOW + timedelta(days=14))  # 6 days left
    send_due_notifications(now=NOW + timedelta(days=14, hours=5))
    send_due_notifications(now=NOW + timedelta(days=19, hours=12))  # 12 hours left
    send_due_notifications(now=NOW + timedelta(days=19, hours=13))
    send_due_notifications(now=NOW + timedelta(days=21))  # expired: nothing more

    assert [message.subject for message in mail.outbox] == [
        "The authorization of Mail Shop 1 expires in 20 days",
        "The authorization of Mail Shop 1 expires in 6 days",
        "The authorization of Mail Shop 1 expires within a day",
    ]
    assert set(SentNotification.objects.values_list("key", flat=True)) == {
        f"auth-expiring-{days}:{account.pk}:{expires}" for days in (30, 7, 1)
    }
    first = mail.outbox[0]
    assert first.to == ["olga@example.invalid"]
    assert "http://127.0.0.1:8000/settings/" in first.body
    html, mimetype = first.alternatives[0]
    assert mimetype == "text/html"
    assert 'href="http://127.0.0.1:8000/settings/"' in html
    assert "http://127.0.0.1:8000/profile/" in first.body


def test_a_renewed_authorization_is_a_new_occurrence(operator):
    account = make_account(authorized_at=expiring_in(timedelta(days=5)))
    send_due_notifications(now=NOW)
    account.authorized_at = expiring_in(timedelta(days=5 + 365))
    account.save()
    send_due_notifications(now=NOW + timedelta(days=360))
    assert len(mail.outbox) == 2


def test_only_opted_in_active_users_with_an_address_are_mailed(operator):
    make_account(status=SellerAccount.Status.AUTHORIZATION_REVOKED, status_changed_at=NOW)
    make_user("vera", role=VIEWERS)  # Viewers are not mailed by default
    opted_in_viewer = make_user("vicky", role=VIEWERS)
    NotificationPreference.objects.create(user=opted_in_viewer, authorization_refused=True)
    opted_out = make_user("otto")
    NotificationPreference.objects.create(user=opted_out, report_failed=True)
    make_user("ida", is_active=False)
    make_user("nora", email="")
    User.objects.create_superuser(username="root", password="root pass 42", email="root@x.invalid")

    assert send_due_notifications(now=NOW).sent == 3
    assert send_due_notifications(now=NOW).sent == 0
    assert sorted(address for message in mail.outbox for address in message.to) == [
        "olga@example.invalid",
        "root@x.invalid",
        "vicky@example.invalid",
    ]


def test_each_mail_is_in_its_readers_language(operator, languages):
    make_user("greta")
    languages["greta"] = "de"
    make_account(status=SellerAccount.Status.ACCESS_DENIED, status_changed_at=NOW)

    send_due_notifications(now=NOW)

    german = mails_to("greta@example.invalid")[0]
    assert german.extra_headers["Content-Language"] == "de"
    assert '<html lang="de">' in german.alternatives[0][0]
    # The status word too, although the pass that found the refusal ran in English.
    assert "Zugriff verweigert" in german.body and "Access denied" not in german.body
    english = mails_to("olga@example.invalid")[0]
    assert english.extra_headers["Content-Language"] == "en"
    assert '<html lang="en">' in english.alternatives[0][0]
    assert "Access denied" in english.body


def test_the_language_is_the_users_choice_else_the_sites(settings, languages):
    user = make_user("greta")
    assert email_notifications.notification_language(user) == settings.LANGUAGE_CODE
    languages["greta"] = "de"
    assert email_notifications.notification_language(user) == "de"


def test_revoked_or_denied_access_is_mailed_once_per_refusal(operator):
    revoked = make_account(
        1, status=SellerAccount.Status.AUTHORIZATION_REVOKED, status_changed_at=NOW
    )
    make_account(
        2,
        status=SellerAccount.Status.ACCESS_DENIED,
        status_changed_at=NOW,
        status_detail="Access to requested resource is denied.",
    )
    make_account(3, status=SellerAccount.Status.DISCONNECTED, refresh_token_encrypted="")

    send_due_notifications(now=NOW)
    send_due_notifications(now=NOW + timedelta(hours=1))
    assert sorted(message.subject for message in mail.outbox) == [
        "Amazon refused access to Mail Shop 1",
        "Amazon refused access to Mail Shop 2",
    ]
    assert "Access to requested resource is denied." in mails_to("olga@example.invalid")[1].body

    # Renewed, then revoked again: a new occurrence.
    revoked.status = SellerAccount.Status.CONNECTED
    revoked.save()
    send_due_notifications(now=NOW + timedelta(days=1))
    revoked.status = SellerAccount.Status.AUTHORIZATION_REVOKED
    revoked.status_changed_at = NOW + timedelta(days=2)
    revoked.save()
    send_due_notifications(now=NOW + timedelta(days=2))
    assert len(mail.outbox) == 3


def make_report(account: SellerAccount, status: str, *, at: datetime, **fields) -> Report:
    report = Report.objects.create(
        account=account, report_type="GET_AFN_INVENTORY_DATA", import_status=status, **fields
    )
    Report.objects.filter(pk=report.pk).update(updated_at=at)
    return report


def test_a_failed_or_held_report_is_mailed_once(operator):
    account = make_account()
    failed = make_report(
        account,
        Report.ImportStatus.FAILED,
        at=NOW - timedelta(minutes=5),
        failure_reason=Report.FailureReason.BAD_DOCUMENT,
        last_error="The document could not be decoded.",
    )
    held = make_report(
        account,
        Report.ImportStatus.HELD,
        at=NOW - timedelta(minutes=3),
        last_error="Stock fell by 80 % since the last report.",
    )
    make_report(account, Report.ImportStatus.FAILED, at=NOW - timedelta(days=2))  # too old
    make_report(account, Report.ImportStatus.IMPORTED, at=NOW)

    assert send_due_notifications(now=NOW).sent == 2
    assert send_due_notifications(now=NOW + timedelta(minutes=5)).sent == 0

    by_subject = {message.subject: message for message in mail.outbox}
    assert set(by_subject) == {
        "A report of Mail Shop 1 failed",
        "A report of Mail Shop 1 is held for your confirmation",
    }
    failed_mail = by_subject["A report of Mail Shop 1 failed"]
    assert "The document could not be decoded." in failed_mail.body
    assert f"http://127.0.0.1:8000/reports/{failed.pk}/" in failed_mail.body
    held_mail = by_subject["A report of Mail Shop 1 is held for your confirmation"]
    assert "Stock fell by 80 % since the last report." in held_mail.body
    assert f"http://127.0.0.1:8000/reports/{held.pk}/" in held_mail.body


def test_a_report_that_fails_again_after_a_reset_is_mailed_again(operator):
    report = make_report(make_account(), Report.ImportStatus.FAILED, at=NOW)
    send_due_notifications(now=NOW)
    Report.objects.filter(pk=report.pk).update(updated_at=NOW + timedelta(hours=2))
    send_due_notifications(now=NOW + timedelta(hours=2))
    assert len(mail.outbox) == 2


def test_a_worker_silent_for_an_hour_is_mailed_once(operator):
    send_due_notifications(now=NOW)  # never ran: a new installation, nothing to say
    heartbeat = WorkerHeartbeat.objects.create(
        name=WorkerHeartbeat.WORKER, last_seen_at=NOW - timedelta(minutes=50)
    )
    send_due_notifications(now=NOW)
    assert mail.outbox == []

    send_due_notifications(now=NOW + timedelta(minutes=15))
    send_due_notifications(now=NOW + timedelta(hours=5))
    assert [message.subject for message in mail.outbox] == ["The background worker has stopped"]
    assert "http://127.0.0.1:8000/" in mail.outbox[0].body

    # It ran again, then stopped again: a new occurrence.
    heartbeat.last_seen_at = NOW + timedelta(hours=6)
    heartbeat.save()
    send_due_notifications(now=NOW + timedelta(hours=8))
    assert len(mail.outbox) == 2


class FailingBackend(LocmemBackend):
    """The mail server refuses the first `failures` mails (set by the test), then works."""

    failures = 0

    def send_messages(self, messages):
        if FailingBackend.failures:
            FailingBackend.failures -= 1
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)


def test_a_failing_mail_server_is_logged_and_retried_at_the_next_pass(operator, settings, caplog):
    settings.EMAIL_BACKEND = "tests.reports.test_email_notifications.FailingBackend"
    settings.EMAIL_HOST_PASSWORD = "smtp-password-never-logged"
    make_user("greta")
    make_account(status=SellerAccount.Status.AUTHORIZATION_REVOKED, status_changed_at=NOW)
    FailingBackend.failures = 1

    with caplog.at_level(logging.WARNING, logger="reports.services.email_notifications"):
        result = send_due_notifications(now=NOW)

    # The server failed: the pass stopped at once (one timeout, not one per mail), wrote no
    # "sent" and raised nothing.
    assert (result.sent, result.failed) == (0, 1)
    assert mail.outbox == []
    assert not SentNotification.objects.exists()
    assert "SMTPServerDisconnected: Connection unexpectedly closed" in caplog.text
    assert "smtp-password-never-logged" not in caplog.text
    assert "@example.invalid" not in caplog.text

    assert send_due_notifications(now=NOW + timedelta(minutes=5)).sent == 2
    assert send_due_notifications(now=NOW + timedelta(minutes=10)).sent == 0
    assert len(mail.outbox) == 2


class RefusingBackend(LocmemBackend):
    """The mail server refuses one address and takes the others."""

    def send_messages(self, messages):
        if "olga@example.invalid" in messages[0].to:
            raise smtplib.SMTPRecipientsRefused({"olga@example.invalid": (550, b"No such user")})
        return super().send_messages(messages)


def test_a_refused_address_does_not_stop_the_others(operator, settings):
    settings.EMAIL_BACKEND = "tests.reports.test_email_notifications.RefusingBackend"
    make_user("greta")
    make_account(status=SellerAccount.Status.AUTHORIZATION_REVOKED, status_changed_at=NOW)
    result = send_due_notifications(now=NOW)
    assert (result.sent, result.failed) == (1, 1)
    assert [message.to for message in mail.outbox] == [["greta@example.invalid"]]
    assert list(SentNotification.objects.values_list("user__username", flat=True)) == ["greta"]


def test_an_unreachable_smtp_server_never_breaks_the_pass(operator, settings, caplog):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()  # nothing listens there
    settings.EMAIL_HOST_USER = "mailer"
    settings.EMAIL_HOST_PASSWORD = "smtp-password-never-logged"
    make_account(status=SellerAccount.Status.AUTHORIZATION_REVOKED, status_changed_at=NOW)

    with caplog.at_level(logging.WARNING):
        result = send_due_notifications(now=NOW)

    assert (result.sent, result.failed) == (0, 1)
    assert not SentNotification.objects.exists()
    assert "ConnectionRefusedError" in caplog.text
    assert "smtp-password-never-logged" not in caplog.text


def test_smtp_has_a_timeout(settings):
    from django.core.mail import get_connection

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    assert settings.EMAIL_TIMEOUT > 0
    assert get_connection().timeout == settings.EMAIL_TIMEOUT


def test_a_mail_claimed_by_another_pass_is_left_to_it_unless_that_pass_died(operator):
    make_account(status=SellerAccount.Status.AUTHORIZATION_REVOKED, status_changed_at=NOW)
    key = f"auth-refused:{SellerAccount.objects.get().pk}:authorization_revoked:20260302T090000"
    claim = SentNotification.objects.create(
        user=operator,
        key=key,
        condition=EmailCondition.AUTHORIZATION_REFUSED,
        claimed_at=NOW - timedelta(minutes=1),
    )
    assert send_due_notifications(now=NOW).sent == 0  # another pass is sending it

    assert send_due_notifications(now=NOW + timedelta(minutes=20)).sent == 1  # it died
    claim.refresh_from_db()
    assert claim.sent_at == NOW + timedelta(minutes=20)
    assert len(mail.outbox) == 1


def test_queries_do_not_grow_with_the_accounts(operator):
    def steady_pass_queries() -> int:
        send_due_notifications(now=NOW)
        with CaptureQueriesContext(connection) as queries:
            assert send_due_notifications(now=NOW).sent == 0
        return len(queries)

    make_account(1, authorized_at=expiring_in(timedelta(days=3)))
    make_report(SellerAccount.objects.get(), Report.ImportStatus.FAILED, at=NOW)
    one = steady_pass_queries()
    for number in range(2, 8):
        account = make_account(number, authorized_at=expiring_in(timedelta(days=3)))
        make_report(account, Report.ImportStatus.FAILED, at=NOW)
    make_user("greta")
    assert steady_pass_queries() == one
    # Olga: two mails per account; Greta, who came later, the same.
    assert len(mail.outbox) == 2 * 7 * 2


def test_nothing_due_costs_three_queries(operator, django_assert_num_queries):
    make_account()
    with django_assert_num_queries(3):
        assert send_due_notifications(now=NOW).sent == 0


def test_the_worker_sends_them_on_its_schedule_and_by_command(operator):
    schedules = {spec.name: spec.func for spec in worker_schedules()}
    assert schedules["notifications.email"] == "reports.tasks.send_notifications"

    make_account(status=SellerAccount.Status.AUTHORIZATION_REVOKED, status_changed_at=NOW)
    assert tasks.send_notifications().sent == 1
    out = io.StringIO()
    call_command("send_notifications", stdout=out)
    assert out.getvalue().strip() == "0 notification(s) sent, 0 failed."
    assert len(mail.outbox) == 1


def test_the_demo_prints_the_mails_with_links_to_itself(operator, settings, capsys, tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "demo_script", settings.BASE_DIR / "scripts/demo.py"
    )
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    env = demo.demo_environment(9100, 9101, tmp_path, sqs_port=9102)
    assert env["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    assert env["SITE_URL"] == "http://127.0.0.1:9100"

    settings.EMAIL_BACKEND = env["EMAIL_BACKEND"]
    settings.SITE_URL = env["SITE_URL"]
    make_account(status=SellerAccount.Status.AUTHORIZATION_REVOKED, status_changed_at=NOW)
    send_due_notifications(now=NOW)
    printed = capsys.readouterr().out
    assert "Subject: Amazon refused access to Mail Shop 1" in printed
    assert "http://127.0.0.1:9100/settings/" in printed


def test_the_subject_counts_the_days_left_in_words(operator):
    make_account(authorized_at=expiring_in(timedelta(days=1, hours=12)))
    send_due_notifications(now=NOW)
    assert [message.subject for message in mail.outbox] == [
        "The authorization of Mail Shop 1 expires in 1 day"
    ]
