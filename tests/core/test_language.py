"""German and English: the browser's language, the switch in the navigation, the choice kept
per user, and one format per kind (dates, numbers) in each language and time zone."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.template import Context, Template
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from core.models import UserPreference
from core.preferences import PreferenceError, save_preference

pytestmark = pytest.mark.django_db

GERMAN_BROWSER = {"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9,en;q=0.5"}


@pytest.fixture(autouse=True)
def back_to_english():
    """A request activates its language for the thread and leaves it: the next tests expect
    the default."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


def test_a_german_browser_gets_german_pages(logged_in_client):
    response = logged_in_client.get(reverse("home"), **GERMAN_BROWSER)
    body = response.content.decode()
    assert response["Content-Language"] == "de"
    assert '<html lang="de"' in body
    assert "Noch kein Amazon-Verkäuferkonto verbunden" in body
    assert "Berichte" in body and "Abmelden" in body
    assert "No Amazon account connected yet" not in body


def test_an_english_browser_gets_english_pages(logged_in_client):
    body = logged_in_client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    assert "No Amazon account connected yet" in body
    assert "Log out" in body


def test_the_login_page_follows_the_browser(client):
    body = client.get(reverse("login"), **GERMAN_BROWSER).content.decode()
    assert "Anmelden" in body


def test_the_switch_keeps_the_choice_with_the_user_over_the_browser(logged_in_client, user):
    response = logged_in_client.post(
        reverse("set_language"), {"language": "de", "next": "/reports/processing/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/reports/processing/"
    assert UserPreference.objects.get(user=user).language == "de"
    # Another browser (no cookie), in English: the user's choice wins.
    other = Client()
    other.force_login(user)
    body = other.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    assert "Noch kein Amazon-Verkäuferkonto verbunden" in body


def test_following_the_browser_again(logged_in_client, user):
    save_preference(user=user, language="de")
    logged_in_client.post(reverse("set_language"), {"language": ""})
    assert UserPreference.objects.get(user=user).language == ""
    body = logged_in_client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "No Amazon account connected yet" in body


def test_a_viewer_may_switch_and_it_is_not_audited(viewer_client, viewer):
    from core.models import AuditEvent

    response = viewer_client.post(reverse("set_language"), {"language": "de"})
    assert response.status_code == 302
    assert UserPreference.objects.get(user=viewer).language == "de"
    assert not AuditEvent.objects.exists()


def test_an_unknown_language_or_foreign_next_changes_nothing(logged_in_client, user):
    response = logged_in_client.post(
        reverse("set_language"), {"language": "xx", "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("home")
    assert not UserPreference.objects.filter(user=user).exists()
    with pytest.raises(PreferenceError):
        save_preference(user=user, time_zone="Mars/Olympus")


def test_the_navigation_offers_the_switch(logged_in_client):
    body = logged_in_client.get(reverse("home"), **GERMAN_BROWSER).content.decode()
    assert f'action="{reverse("set_language")}"' in body
    assert 'value="en"' in body and 'value="de"' in body


def test_a_users_time_zone_moves_the_moments(client, user):
    save_preference(user=user, language="en", time_zone="America/New_York")
    client.force_login(user)
    seen = {}

    from django.test.signals import template_rendered

    def grab(sender, template, context, **kwargs):
        seen.setdefault("zone", timezone.get_current_timezone_name())

    template_rendered.connect(grab)
    try:
        client.get(reverse("home"))
    finally:
        template_rendered.disconnect(grab)
    assert seen["zone"] == "America/New_York"
    assert timezone.get_current_timezone_name() != "America/New_York"  # not leaked


MOMENT = datetime(2026, 3, 1, 13, 5, 9, tzinfo=zoneinfo.ZoneInfo("UTC"))


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "2026-03-01 14:05|2026-03-01 14:05:09|2026-03-01|14:05:09|1,234,567"),
        ("de", "01.03.2026 14:05|01.03.2026 14:05:09|01.03.2026|14:05:09|1.234.567"),
    ],
)
def test_one_format_per_kind_in_each_language(language, expected):
    template = Template(
        "{% load moments humanize %}{{ at|moment }}|{{ at|precise_moment }}|{{ day|day }}"
        "|{{ at|clock }}|{{ n|intcomma }}"
    )
    with translation.override(language), timezone.override(zoneinfo.ZoneInfo("Europe/Berlin")):
        rendered = template.render(Context({"at": MOMENT, "day": date(2026, 3, 1), "n": 1234567}))
    assert rendered == expected


def test_a_date_input_keeps_iso_in_german():
    """The browser's date inputs need ISO values, whatever the language."""
    from reports.forms.cadences import StartImportForm

    with translation.override("de"):
        form = StartImportForm(
            earliest=date(2026, 1, 1),
            settings_url="/settings/",
            can_start=True,
            initial={"import_orders_from": date(2026, 1, 2)},
        )
        html = str(form["import_orders_from"])
    assert 'value="2026-01-02"' in html


@pytest.mark.parametrize(
    ("count", "english", "german"), [(1, "1 line", "1 Zeile"), (2, "2 lines", "2 Zeilen")]
)
def test_plurals_in_both_languages(count, english, german):
    template = Template(
        "{% load i18n %}{% blocktranslate count counter=n %}{{ total }} line{% plural %}"
        "{{ total }} lines{% endblocktranslate %}"
    )
    context = {"n": count, "total": count}
    with translation.override("en"):
        assert template.render(Context(context)) == english
    with translation.override("de"):
        assert template.render(Context(context)) == german


def test_the_preference_is_kept_in_the_session_from_the_login_on(client, user):
    save_preference(user=user, language="de", time_zone="Europe/Vienna")
    client.force_login(user)
    assert client.session["core.preference"] == ["de", "Europe/Vienna"]
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("home"))
    assert not [q for q in queries.captured_queries if "core_userpreference" in q["sql"]]


def test_a_deleted_user_takes_the_preference_along(user):
    save_preference(user=user, language="de")
    get_user_model().objects.filter(pk=user.pk).delete()
    assert not UserPreference.objects.exists()
