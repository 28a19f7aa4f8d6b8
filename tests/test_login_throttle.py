"""Login throttling (django-axes): wrong passwords lock a username out from one address."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.test import Client

PASSWORD = "correct horse 42"


@pytest.fixture
def person(db):
    return get_user_model().objects.create_user(username="seller", password=PASSWORD)


def log_in(client: Client, password: str, *, address: str = "203.0.113.7"):
    return client.post("/login/", {"username": "seller", "password": password}, REMOTE_ADDR=address)


def test_the_right_password_is_refused_after_five_wrong_ones(person, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, "wrong").status_code == 200  # the form again, with its error
    locked = log_in(client, "wrong")
    assert locked.status_code == 429
    again = log_in(client, PASSWORD)
    assert again.status_code == 429
    page = again.content.decode()
    assert 'id="locked-out"' in page
    assert "There were 5 wrong passwords for <strong>seller</strong>" in page
    assert "refused for 15 minutes" in page
    assert "_auth_user_id" not in client.session
    # The lock is per username and address: the same user from elsewhere may still log in.
    other = Client()
    assert log_in(other, PASSWORD, address="198.51.100.9").status_code == 302


def test_admins_see_the_lockout_and_lifting_it_lets_the_user_in(person, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "wrong")
    attempt = AccessAttempt.objects.get(username="seller")
    assert (attempt.ip_address, attempt.failures_since_start) == ("203.0.113.7", 5)

    admin = get_user_model().objects.create_superuser(username="root", password="admin pass 9")
    admin_client = Client()
    admin_client.force_login(admin)
    listing = admin_client.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200 and "seller" in listing.content.decode()

    attempt.delete()  # what the admin's delete action does
    assert log_in(client, PASSWORD).status_code == 302


def test_a_success_before_the_limit_starts_the_count_again(person, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, "wrong")
    assert log_in(client, PASSWORD).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, "wrong").status_code == 200
    assert log_in(client, PASSWORD).status_code == 302


def test_the_forwarded_address_counts_only_from_a_trusted_proxy(person, settings):
    settings.TRUSTED_PROXY_IPS = ["10.0.0.2"]
    via_proxy = Client(REMOTE_ADDR="10.0.0.2")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        via_proxy.post(
            "/login/",
            {"username": "seller", "password": "wrong"},
            HTTP_X_FORWARDED_FOR="192.0.2.1, 203.0.113.7",
        )
    # The proxy appended the address it saw last; the client wrote the first entry itself.
    assert AccessAttempt.objects.get().ip_address == "203.0.113.7"
    # Another client behind the same proxy is not locked out with it.
    other = via_proxy.post(
        "/login/",
        {"username": "seller", "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="198.51.100.9",
    )
    assert other.status_code == 302
    # From anywhere else the header is the client's own word and is ignored.
    AccessAttempt.objects.all().delete()
    direct = Client(REMOTE_ADDR="192.0.2.50")
    direct.post(
        "/login/",
        {"username": "seller", "password": "wrong"},
        HTTP_X_FORWARDED_FOR="203.0.113.99",
    )
    assert AccessAttempt.objects.get().ip_address == "192.0.2.50"
