"""The profile page: every user chooses their e-mail notifications and address."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from core.models import AuditEvent
from reports.models import EmailCondition, NotificationPreference

pytestmark = pytest.mark.django_db

ALL = sorted(EmailCondition.values)


def checked(page: str, value: str) -> bool:
    marker = f'value="{value}"'
    start = page.index(marker)
    tag = page[page.rindex("<input", 0, start) : page.index(">", start)]
    return " checked" in tag


def test_the_profile_needs_a_login(client):
    response = client.get("/profile/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert client.post("/profile/", {"email": "x@example.invalid"}).status_code == 302
    assert not NotificationPreference.objects.exists()


def test_operators_start_with_everything_viewers_with_nothing(logged_in_client, viewer_client):
    page = logged_in_client.get("/profile/").content.decode()
    assert all(checked(page, value) for value in ALL)
    page = viewer_client.get("/profile/").content.decode()
    assert not any(checked(page, value) for value in ALL)
    assert "An account&#x27;s authorization was revoked or access was denied" in page


def test_a_viewer_saves_their_opt_ins_and_address(viewer_client, viewer):
    response = viewer_client.post(
        "/profile/",
        {"email": " vera@example.invalid ", "conditions": ["report_failed", "worker_silent"]},
    )
    assert response.status_code == 302
    viewer.refresh_from_db()
    assert viewer.email == "vera@example.invalid"
    assert viewer.notification_preference.conditions == {"report_failed", "worker_silent"}
    page = viewer_client.get("/profile/").content.decode()
    assert "Your e-mail notifications are saved." in page
    assert 'value="vera@example.invalid"' in page
    assert checked(page, "report_failed") and not checked(page, "authorization_expiring")
    assert AuditEvent.objects.get().action == "profile"


def test_an_operator_opts_out_of_everything(logged_in_client, user):
    assert logged_in_client.post("/profile/", {"email": ""}).status_code == 302
    assert user.notification_preference.conditions == frozenset()
    page = logged_in_client.get("/profile/").content.decode()
    assert not any(checked(page, value) for value in ALL)


def test_a_bad_address_is_a_field_error_and_nothing_is_lost(logged_in_client, user):
    user.email = "seller@example.invalid"
    user.save()
    response = logged_in_client.post(
        "/profile/", {"email": "not an address", "conditions": ["worker_silent"]}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Enter a valid email address." in page
    assert 'value="not an address"' in page  # what was typed stays to be corrected
    assert checked(page, "worker_silent") and not checked(page, "report_failed")
    user.refresh_from_db()
    assert user.email == "seller@example.invalid"
    assert not NotificationPreference.objects.exists()


def test_an_unknown_condition_is_a_field_error(logged_in_client):
    response = logged_in_client.post(
        "/profile/", {"email": "", "conditions": ["everything_please"]}
    )
    assert response.status_code == 400
    assert "Select a valid choice. everything_please is not one of the available choices." in (
        response.content.decode()
    )


def test_a_user_without_a_role_may_use_the_profile_too():
    nobody = get_user_model().objects.create_user(username="nobody", password="x" * 12)
    client = Client()
    client.force_login(nobody)
    assert client.get("/profile/").status_code == 200
    assert client.post("/profile/", {"email": "n@example.invalid"}).status_code == 302


def test_every_page_links_to_the_profile(logged_in_client):
    assert 'href="/profile/"' in logged_in_client.get("/").content.decode()
