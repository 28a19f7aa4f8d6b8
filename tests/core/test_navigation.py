"""The menu is built once per language, URLconf and script prefix and filtered per request:
what each user sees must still follow their language, their permissions and the page they
are on."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse, set_script_prefix

from core.navigation import navigation


def menu_labels(response) -> list[str]:
    return [
        str(child["label"])
        for entry in response.context["navigation"]
        for child in entry.get("children", [entry])
    ]


@pytest.fixture
def administrator(db):
    from core.roles import ADMINISTRATORS, setup_roles

    user = get_user_model().objects.create_user(username="admin-role", password="x" * 16)
    user.groups.add(setup_roles()[ADMINISTRATORS])
    return user


def test_menu_follows_the_language_of_each_request(logged_in_client):
    english = logged_in_client.get("/", headers={"accept-language": "en"})
    german = logged_in_client.get("/", headers={"accept-language": "de"})
    again = logged_in_client.get("/", headers={"accept-language": "en"})

    assert "Orders » Returns" in menu_labels(english)
    assert "Bestellungen » Retouren" in menu_labels(german)
    assert menu_labels(again) == menu_labels(english)
    assert ">Retouren<" in german.content.decode()


def test_menu_follows_each_users_permissions(logged_in_client, administrator):
    operator_page = logged_in_client.get("/")
    admin_client = Client()
    admin_client.force_login(administrator)
    admin_page = admin_client.get("/")
    operator_again = logged_in_client.get("/")

    users_entry = "Administration » Users"
    assert users_entry not in menu_labels(operator_page)
    assert users_entry in menu_labels(admin_page)
    assert users_entry not in menu_labels(operator_again)
    assert reverse("administration:users") not in operator_again.content.decode()


def test_menu_marks_the_page_it_is_on(logged_in_client):
    for url_name in ("orders:list", "reports:processing"):
        menu = logged_in_client.get(reverse(url_name)).context["navigation"]
        active = [
            child["url_name"]
            for entry in menu
            for child in entry.get("children", [entry])
            if child["active"]
        ]
        assert active == [url_name]


def test_menu_urls_follow_the_script_prefix(rf, user):
    def orders_url() -> str:
        request = rf.get("/")
        request.user = user
        request.resolver_match = None
        menu = navigation(request)["navigation"]
        entries = [child for entry in menu for child in entry.get("children", [entry])]
        return next(entry["url"] for entry in entries if entry["url_name"] == "orders:list")

    assert orders_url() == "/orders/"
    set_script_prefix("/dashboard/")
    try:
        assert orders_url() == "/dashboard/orders/"
    finally:
        set_script_prefix("/")
    assert orders_url() == "/orders/"


def test_fragment_pays_nothing_for_the_menu(rf, user, django_assert_num_queries):
    """The menu is built only when a template reads it: an htmx fragment rendered with the
    request (a Processing row) checks no permission for it."""
    request = rf.get("/")
    request.user = get_user_model().objects.get(pk=user.pk)  # no permissions cached yet
    request.resolver_match = None
    with django_assert_num_queries(0):
        menu = navigation(request)["navigation"]
    with django_assert_num_queries(2):  # the user's and their groups' permissions, once
        assert len(list(menu)) > 1
