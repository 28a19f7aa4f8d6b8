"""`make bench-load`'s load generator (bench/loadgen.py) against a live server: a user logs in
through the form and walks pages, and every failure is counted. No timing is asserted.

One user at a time: with SQLite, Django's live server shares one in-memory connection between
its threads, and users logging in at once would collide on it (`make bench-load` itself runs
many users against gunicorn and PostgreSQL)."""

from __future__ import annotations

import asyncio

import pytest
from django.contrib.auth import get_user_model

from bench.loadgen import Credentials, PageChoice, run_load
from core.roles import OPERATORS, VIEWERS, setup_roles

pytestmark = pytest.mark.slow

PASSWORD = "load generator test 42"
PAGES = [
    PageChoice("Home", 1, lambda rng: "/"),
    PageChoice("Orders", 1, lambda rng: f"/orders/?page={rng.randint(1, 3)}"),
    PageChoice("Processing", 1, lambda rng: "/reports/"),
    PageChoice("Settings", 1, lambda rng: "/settings/"),
]


@pytest.fixture
def load_users(transactional_db) -> list[Credentials]:
    """An Operator and a Viewer; each test lets one of them walk."""
    groups = setup_roles()
    users = []
    for n, role in enumerate([OPERATORS, VIEWERS]):
        user = get_user_model().objects.create_user(username=f"load{n}", password=PASSWORD)
        user.groups.add(groups[role])
        users.append(Credentials(user.username, PASSWORD))
    return users


def load(live_server, users, pages=PAGES, **options):
    return asyncio.run(
        run_load(
            live_server.url,
            users,
            pages,
            warmup_seconds=0.2,
            duration_seconds=1.5,
            think_seconds=(0.0, 0.05),
            **options,
        )
    )


@pytest.mark.parametrize("role", [0, 1], ids=["operator", "viewer"])
def test_a_logged_in_user_walks_every_page_without_errors(live_server, load_users, role):
    result = load(live_server, load_users[role : role + 1])

    assert [s.ok for s in result.logins] == [True]
    assert result.errors == 0, result.error_examples
    assert {s.status for s in result.samples} == {200}
    per_page = {stats.label: stats for stats in result.per_page()}
    assert set(per_page) == {"Home", "Orders", "Processing", "Settings"}
    assert all(stats.requests > 0 and stats.errors == 0 for stats in per_page.values())
    overall = result.overall()
    assert overall.requests == len(result.samples) == sum(s.requests for s in per_page.values())
    assert overall.p50_ms <= overall.p95_ms <= overall.p99_ms <= overall.max_ms


def test_behind_the_tls_proxy_the_secure_cookies_keep_users_logged_in(
    live_server, load_users, settings
):
    # What production sets: the scheme comes from the proxy, cookies are Secure.
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True

    result = load(live_server, load_users[:1], proxy_https=True)

    assert [s.ok for s in result.logins] == [True]
    assert result.errors == 0, result.error_examples
    assert len(result.samples) > 0


def test_failed_logins_lost_sessions_and_error_pages_are_counted(live_server, load_users):
    wrong = [Credentials(load_users[0].username, "not the password")]
    refused = load(live_server, wrong)
    assert refused.errors == 1
    assert refused.samples == []
    assert "login of load0: the login POST answered 200 without a session" in refused.error_examples

    missing = [PageChoice("No such page", 1, lambda rng: "/orders/999999/")]
    answered = load(live_server, load_users[1:], pages=missing)
    assert answered.samples and all(s.status == 404 for s in answered.samples)
    assert answered.errors == len(answered.samples)
    assert answered.error_examples == ["/orders/999999/: HTTP 404"]


def test_a_lost_session_is_an_error(live_server, load_users):
    def forget_sessions() -> None:
        from django.contrib.sessions.models import Session
        from django.db import connection

        Session.objects.all().delete()
        connection.close()

    async def at_measure_start() -> None:
        await asyncio.to_thread(forget_sessions)

    result = load(live_server, load_users[:1], at_measure_start=at_measure_start)

    assert result.logins[0].ok
    # Every click after the sessions were deleted is answered with the login page's redirect.
    assert result.samples and all(s.status == 302 for s in result.samples)
    assert result.errors == len(result.samples)
    assert all(e.endswith(": redirected to the login page") for e in result.error_examples)
