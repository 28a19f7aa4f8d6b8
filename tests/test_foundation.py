"""The ground every page stands on: login everywhere, navigation, static assets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.urls import URLPattern, URLResolver, get_resolver

# The only URLs an anonymous visitor may open (the language switch: on the login page too).
PUBLIC_URL_NAMES = {"login", "health", "admin:login", "accept_invitation", "set_language"}
# The REST API takes a bearer token instead of a login (its docs page excepted): without one it
# answers 401; its schema describes no data and is open; its root is only a name for reverse(),
# and any other path under it is a 404 in the API's error shape.
API_DOCS = "api:openapi-view"
API_OPEN = {"api:openapi-json": 200, "api:api-root": 404, "api:not_found": 404}


def is_token_url(name: str | None) -> bool:
    return bool(name) and name.startswith("api:") and name != API_DOCS


SAMPLE_ARGUMENTS = {
    "int": "1",
    "str": "x",
    "slug": "x",
    "uuid": "00000000-0000-0000-0000-000000000000",
    "path": "x",
}


def walk_patterns(resolver: URLResolver, prefix: str = "", namespace: str = ""):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner_ns = namespace
            if pattern.namespace:
                inner_ns = f"{namespace}{pattern.namespace}:"
            yield from walk_patterns(pattern, prefix + str(pattern.pattern), inner_ns)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}{pattern.name}" if pattern.name else None
            yield name, prefix + str(pattern.pattern)


def concrete_url(route: str) -> str:
    """A URL that matches the route, with sample values for its converters."""
    url = re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLE_ARGUMENTS[m.group(1) or "str"], route)
    # Regex routes (the admin's) become plain paths.
    url = url.lstrip("^").rstrip("$")
    url = re.sub(r"\(\?P<\w+>[^)]*\)", "x", url)
    return "/" + url.replace("\\", "")


def all_urls() -> list[tuple[str | None, str]]:
    return sorted(set(walk_patterns(get_resolver())), key=lambda item: item[1])


def test_url_walk_finds_the_pages():
    names = {name for name, _ in all_urls()}
    assert {"home", "login", "logout", "health", "admin:index"} <= names


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "route"), all_urls())
def test_every_url_requires_login(client, name, route):
    url = concrete_url(route)
    response = client.get(url)
    if name in PUBLIC_URL_NAMES:
        assert response.status_code in (200, 302, 405)
        return
    if is_token_url(name):
        assert response.status_code == API_OPEN.get(name, 401), f"{url} ({name})"
        return
    assert response.status_code == 302, f"{url} ({name}) answered {response.status_code}"
    location = response.headers["Location"]
    assert location.startswith(("/login/", "/admin/login/")), f"{url} redirected to {location}"


@pytest.mark.django_db
def test_login_page_is_styled_and_served_without_login(client):
    response = client.get("/login/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "vendor/bootstrap/css/bootstrap.min.css" in body
    assert 'name="username"' in body and 'name="password"' in body


@pytest.mark.django_db
def test_logging_in_leads_to_the_first_steps(client, user):
    response = client.post(
        "/login/", {"username": "seller", "password": "correct horse 42"}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/"
    body = response.content.decode()
    assert "No Amazon account connected yet" in body
    assert "has not run yet" in body  # the worker's status is told, even before it ran


@pytest.mark.django_db
def test_wrong_password_is_refused_with_a_message(client, user):
    response = client.post("/login/", {"username": "seller", "password": "wrong"})
    assert response.status_code == 200
    assert "did not match" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_logout_takes_a_post_and_ends_the_session(logged_in_client):
    assert logged_in_client.get("/").status_code == 200
    response = logged_in_client.post("/logout/")
    assert response.status_code == 302
    assert logged_in_client.get("/").status_code == 302


@pytest.mark.django_db
def test_home_lists_connected_accounts(logged_in_client):
    from amazon_settings.models import SellerAccount

    SellerAccount.objects.create(
        selling_partner_id="A1SANDBOXEU", region="eu", display_name="Müller GmbH"
    )
    body = logged_in_client.get("/").content.decode()
    assert "Müller GmbH" in body
    assert "No Amazon account connected yet" not in body


@pytest.mark.django_db
def test_home_first_steps_are_buttons(logged_in_client):
    body = logged_in_client.get("/").content.decode()
    steps = re.search(r'<ol class="mb-0 first-steps">.*?</ol>', body, re.S).group(0)
    buttons = re.findall(r'<a class="btn [^"]*" href="([^"]+)">', steps)
    assert buttons == ["/settings/#connect-form", "/settings/", "/reports/request/"]
    assert "<strong>" not in steps


@pytest.mark.django_db
def test_worker_heartbeat_shows_on_home(logged_in_client):
    from reports.tasks import heartbeat

    heartbeat()
    heartbeat()  # twice is safe: one row, moved forward
    from reports.models import WorkerHeartbeat

    assert WorkerHeartbeat.objects.count() == 1
    assert "last ran" in logged_in_client.get("/").content.decode()


@pytest.mark.django_db
def test_navigation_offers_only_pages_that_exist(logged_in_client, admin_client):
    from core.navigation import NAVIGATION, available_navigation

    offered = {entry["url_name"] for entry in available_navigation()}
    assert "home" in offered
    for entry in available_navigation():
        # An entry with a permission is offered only to who holds it; a superuser holds all.
        client = admin_client if entry["permission"] else logged_in_client
        assert client.get(entry["url"]).status_code == 200, entry["url"]
    missing = {entry.url_name for entry in NAVIGATION} - offered
    body = logged_in_client.get("/").content.decode()
    for url_name in missing:
        assert url_name not in body


def test_bootstrap_comes_from_the_npm_package():
    found = finders.find("vendor/bootstrap/css/bootstrap.min.css")
    assert found is not None
    assert Path(found).is_relative_to(settings.BASE_DIR / "node_modules" / "bootstrap")
    assert finders.find("vendor/bootstrap/js/bootstrap.bundle.min.js")
    assert finders.find("vendor/bootstrap-icons/bootstrap-icons.min.css")


def test_templates_load_nothing_from_other_hosts():
    external = re.compile(r"""<(script|link)[^>]+(src|href)=["']https?://""", re.IGNORECASE)
    for template in (settings.BASE_DIR / "templates").rglob("*.html"):
        assert not external.search(template.read_text()), template


@pytest.mark.django_db
def test_health_answers_without_login(client):
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_setup_schedules_is_idempotent():
    from django.core.management import call_command
    from django_q.models import Schedule

    call_command("setup_schedules", verbosity=0)
    call_command("setup_schedules", verbosity=0)
    assert Schedule.objects.filter(name="worker.heartbeat").count() == 1
