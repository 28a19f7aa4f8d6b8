"""Administration » Users and Audit log: invitations, roles, deactivation, and who may."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from core import services
from core.models import AuditEvent
from core.roles import ADMINISTRATORS, BUYER_DATA, OPERATORS, VIEWERS, Role, setup_roles
from tests.german import GERMAN, compiled_catalogue, page_text

pytestmark = pytest.mark.django_db

User = get_user_model()
ADMIN_PASSWORD = "admin pass 9 long"


def member(username: str, *groups: str, **fields) -> User:
    user = User.objects.create_user(
        username=username, email=f"{username}@example.com", password="role pass 9", **fields
    )
    named = setup_roles()
    user.groups.add(*(named[group] for group in groups))
    return user


def client_for(user: User) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def post(client: Client, path: str, data: dict | None = None):
    """A POST with the CSRF token the page's form would carry."""
    client.get("/administration/users/")
    return client.post(path, data or {}, HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)


@pytest.fixture
def admin() -> User:
    return member("boss", ADMINISTRATORS)


@pytest.fixture
def admin_browser(admin) -> Client:
    return client_for(admin)


def invite_link(message) -> str:
    found = re.search(r"http://testserver(/welcome/[^/\s]+/[^/\s]+/)", message.body)
    assert found, message.body
    return found.group(1)


def logs_in(username: str, password: str) -> bool:
    """Whether the login form lets this user in (Client.login skips django-axes' backend)."""
    return Client().post("/login/", {"username": username, "password": password}).status_code == 302


def page(response) -> str:
    return html.unescape(response.content.decode())


# Invitations


def test_an_administrator_invites_a_user_who_sets_a_password_once(admin_browser, admin):
    response = post(
        admin_browser,
        "/administration/users/invite/",
        {"email": "new.colleague@example.com", "first_name": "Nina", "role": "operator"},
    )
    assert response.status_code == 302
    invited = User.objects.get(email="new.colleague@example.com")
    assert invited.username == "new.colleague@example.com"
    assert not invited.has_usable_password()
    assert services.role_of(invited) == Role.OPERATOR
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new.colleague@example.com"]
    assert "Hello Nina," in message.body and "boss" in message.body
    link = invite_link(message)

    visitor = Client(enforce_csrf_checks=True)
    # The token moves from the URL into the session before the form is shown.
    opened = visitor.get(link)
    assert opened.status_code == 302
    form_url = opened["Location"]
    assert form_url.endswith("/set-password/")
    shown = visitor.get(form_url)
    assert 'name="new_password1"' in page(shown)
    token = visitor.cookies["csrftoken"].value
    done = visitor.post(
        form_url,
        {"new_password1": "a long new secret 42", "new_password2": "a long new secret 42"},
        HTTP_X_CSRFTOKEN=token,
    )
    assert done.status_code == 302 and done["Location"] == "/login/"
    invited.refresh_from_db()
    assert invited.check_password("a long new secret 42")
    assert logs_in("new.colleague@example.com", "a long new secret 42")

    # Used once: the same link now answers with the invalid-link page, and no form.
    again = Client().get(link)
    assert again.status_code == 200
    assert "This link does not work any more" in page(again)
    assert 'name="new_password1"' not in page(again)

    events = list(AuditEvent.objects.order_by("pk").values_list("action", "username", "detail"))
    assert events == [
        ("administration:invite", "boss", "invited new.colleague@example.com as operator"),
        (
            "accept_invitation",
            "new.colleague@example.com",
            "new.colleague@example.com set a password",
        ),
        ("login", "new.colleague@example.com", "POST /login/ -> 302"),
    ]


def test_an_invitation_with_bad_input_shows_field_errors_and_keeps_what_was_typed(
    admin_browser,
):
    member("taken", VIEWERS)
    for email, error in (
        ("TAKEN@example.com", "A user with this e-mail address exists already."),
        ("not an address", "Enter a valid email address."),
        ("", "This field is required."),
    ):
        response = post(
            admin_browser,
            "/administration/users/invite/",
            {"email": email, "first_name": "Kept", "role": "viewer"},
        )
        assert response.status_code == 400
        body = page(response)
        assert error in body
        assert 'value="Kept"' in body
    assert not mail.outbox
    assert User.objects.count() == 2
    assert not AuditEvent.objects.exists()


def test_an_invitation_the_mail_server_refuses_keeps_the_user_to_send_again(
    admin_browser, monkeypatch
):
    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("no mail server")

    monkeypatch.setattr(services, "send_mail", refuse)
    response = post(
        admin_browser,
        "/administration/users/invite/",
        {"email": "later@example.com", "role": "viewer", "buyer_data": "on"},
    )
    assert response.status_code == 302
    shown = page(admin_browser.get(response["Location"]))
    assert "later@example.com was added, but the invitation could not be sent" in shown
    invited = User.objects.get(email="later@example.com")
    assert services.has_buyer_data(invited)
    monkeypatch.undo()
    resent = post(admin_browser, f"/administration/users/{invited.pk}/invitation/")
    assert resent.status_code == 302
    assert mail.outbox[0].to == ["later@example.com"]


def test_a_deactivated_user_s_invitation_link_does_not_work(admin_browser):
    post(
        admin_browser, "/administration/users/invite/", {"email": "x@example.com", "role": "viewer"}
    )
    link = invite_link(mail.outbox[0])
    invited = User.objects.get(email="x@example.com")
    post(admin_browser, f"/administration/users/{invited.pk}/deactivate/")
    assert Client().get(link).status_code == 200  # the invalid-link page, not the redirect
    assert "This link does not work any more" in page(Client().get(link))


# Roles


def test_an_administrator_changes_a_role_and_buyer_data(admin_browser):
    colleague = member("colleague", VIEWERS)
    response = post(
        admin_browser,
        f"/administration/users/{colleague.pk}/",
        {"role": "operator", "buyer_data": "on"},
    )
    assert response.status_code == 302
    colleague = User.objects.get(pk=colleague.pk)
    assert services.role_of(colleague) == Role.OPERATOR and services.has_buyer_data(colleague)
    assert set(colleague.groups.values_list("name", flat=True)) == {OPERATORS, BUYER_DATA}
    assert colleague.has_perm("core.operate")
    event = AuditEvent.objects.get()
    assert (event.action, event.object_type, event.object_id, event.username) == (
        "administration:user",
        "user",
        str(colleague.pk),
        "boss",
    )
    assert event.detail == "role of colleague: viewer -> operator + buyer data"
    # The same role again changes nothing and writes nothing.
    post(
        admin_browser,
        f"/administration/users/{colleague.pk}/",
        {"role": "operator", "buyer_data": "on"},
    )
    assert AuditEvent.objects.count() == 1


def test_a_role_change_leaves_groups_made_by_hand(admin_browser):
    from django.contrib.auth.models import Group

    colleague = member("colleague", VIEWERS)
    own = Group.objects.create(name="Accounting")
    colleague.groups.add(own)
    post(admin_browser, f"/administration/users/{colleague.pk}/", {"role": "administrator"})
    assert set(colleague.groups.values_list("name", flat=True)) == {ADMINISTRATORS, "Accounting"}


def test_a_bad_role_is_a_field_error(admin_browser):
    colleague = member("colleague", VIEWERS)
    response = post(admin_browser, f"/administration/users/{colleague.pk}/", {"role": "god"})
    assert response.status_code == 400
    assert "Select a valid choice. god is not one of the available choices." in page(response)
    assert services.role_of(User.objects.get(pk=colleague.pk)) == Role.VIEWER


def test_nobody_changes_their_own_role_or_a_superuser_s(admin_browser, admin):
    root = User.objects.create_superuser(username="root", password=ADMIN_PASSWORD)
    for target, message in (
        (admin, "You cannot change your own role: ask another administrator to do it."),
        (root, "root is a superuser, who may do everything whatever the role"),
    ):
        response = post(admin_browser, f"/administration/users/{target.pk}/", {"role": "viewer"})
        assert message in page(admin_browser.get(response["Location"]))
    assert services.role_of(User.objects.get(pk=admin.pk)) == Role.ADMINISTRATOR
    # The refusal is in the audit log, by the middleware, with the message shown.
    refused = AuditEvent.objects.filter(action="administration:user")
    assert refused.count() == 2
    assert all("error shown:" in event.detail for event in refused)


# Deactivation


def test_a_deactivated_user_cannot_log_in_and_is_logged_out(admin_browser):
    colleague = member("colleague", OPERATORS)
    their_browser = client_for(colleague)
    assert their_browser.get("/").status_code == 200
    response = post(admin_browser, f"/administration/users/{colleague.pk}/deactivate/")
    assert response.status_code == 302
    assert "colleague is deactivated" in page(admin_browser.get(response["Location"]))
    assert not User.objects.get(pk=colleague.pk).is_active
    # Their open session ends at their next request, and the password no longer works.
    assert their_browser.get("/")["Location"].startswith("/login/")
    refused = Client().post("/login/", {"username": "colleague", "password": "role pass 9"})
    assert refused.status_code == 200 and "did not match" in page(refused)
    event = AuditEvent.objects.get(action="administration:deactivate")
    assert event.detail == "colleague: active -> inactive" and event.username == "boss"

    post(admin_browser, f"/administration/users/{colleague.pk}/reactivate/")
    assert logs_in("colleague", "role pass 9")
    assert AuditEvent.objects.get(action="administration:reactivate").detail == (
        "colleague: inactive -> active"
    )


def test_nobody_deactivates_themselves(admin_browser, admin):
    response = post(admin_browser, f"/administration/users/{admin.pk}/deactivate/")
    shown = page(admin_browser.get(response["Location"]))
    assert "You cannot deactivate your own account: ask another administrator to do it." in shown
    assert User.objects.get(pk=admin.pk).is_active


def test_the_last_active_administrator_stays(admin):
    other = member("other", ADMINISTRATORS)
    operator = member("op", OPERATORS)
    # Two administrators: one may go.
    services.deactivate_user(other, acting_user=admin)
    # Now `admin` is the only one: neither deactivated nor demoted, by another administrator
    # either (a superuser who has since been deactivated does not count).
    root = User.objects.create_superuser(username="root", password=ADMIN_PASSWORD)
    root.is_active = False
    root.save()
    from core.exceptions import LastAdministrator

    with pytest.raises(LastAdministrator, match="boss is the only active administrator"):
        services.deactivate_user(admin, acting_user=operator)
    with pytest.raises(LastAdministrator):
        services.set_role(admin, role=Role.OPERATOR, buyer_data=False, acting_user=operator)
    assert User.objects.get(pk=admin.pk).is_active


def test_two_administrators_removing_each_other_leave_one(admin):
    """The page refuses yourself first, so the last administrator is reached by a race: each
    removes the other, the second with a page loaded before the first change."""
    other = member("other", ADMINISTRATORS)
    services.deactivate_user(other, acting_user=admin)
    from core.exceptions import LastAdministrator

    with pytest.raises(LastAdministrator):
        services.deactivate_user(admin, acting_user=other)
    assert User.objects.get(pk=admin.pk).is_active


def test_a_demoted_administrator_loses_the_pages_at_once(admin_browser, admin):
    root = User.objects.create_superuser(username="root", password=ADMIN_PASSWORD)
    post(client_for(root), f"/administration/users/{admin.pk}/", {"role": "viewer"})
    assert services.role_of(User.objects.get(pk=admin.pk)) == Role.VIEWER
    assert admin_browser.get("/administration/users/").status_code == 403
    assert admin_browser.get("/").status_code == 200


# Who may


@pytest.mark.parametrize("groups", [(VIEWERS,), (OPERATORS,), (VIEWERS, BUYER_DATA)])
def test_viewers_and_operators_get_403_on_every_administration_page_and_form(groups):
    target = member("target", VIEWERS)
    browser = client_for(member("someone", *groups))
    token_source = Client()
    token_source.get("/login/")
    for path in (
        "/administration/users/",
        "/administration/users/invite/",
        f"/administration/users/{target.pk}/",
        "/administration/audit/",
    ):
        refused = browser.get(path)
        assert refused.status_code == 403, path
        assert "Only administrators manage users and read the audit log" in page(refused)
    browser.get("/")  # a CSRF cookie, so a refusal is the role's and not CSRF's
    token = browser.cookies["csrftoken"].value
    for path, data in (
        ("/administration/users/invite/", {"email": "sneaky@example.com", "role": "operator"}),
        (f"/administration/users/{target.pk}/", {"role": "administrator"}),
        (f"/administration/users/{target.pk}/deactivate/", {}),
    ):
        refused = browser.post(path, data, HTTP_X_CSRFTOKEN=token)
        assert refused.status_code == 403, path
        assert "Only administrators" in page(refused)
    assert not User.objects.filter(email="sneaky@example.com").exists()
    assert services.role_of(User.objects.get(pk=target.pk)) == Role.VIEWER
    assert User.objects.get(pk=target.pk).is_active
    assert not mail.outbox
    assert not AuditEvent.objects.exists()


def test_the_menu_offers_administration_only_to_administrators(admin_browser):
    viewer, operator = client_for(member("v", VIEWERS)), client_for(member("o", OPERATORS))
    for browser in (viewer, operator):
        body = page(browser.get("/"))
        assert "/administration/users/" not in body and "/administration/audit/" not in body
    body = page(admin_browser.get("/"))
    assert 'href="/administration/users/"' in body and 'href="/administration/audit/"' in body


def test_forms_need_the_csrf_token(admin_browser):
    colleague = member("colleague", VIEWERS)
    refused = admin_browser.post(f"/administration/users/{colleague.pk}/deactivate/")
    assert refused.status_code == 403
    assert User.objects.get(pk=colleague.pk).is_active
    refused = admin_browser.post(
        "/administration/users/invite/", {"email": "n@example.com", "role": "viewer"}
    )
    assert refused.status_code == 403
    assert not User.objects.filter(email="n@example.com").exists()


def test_the_users_page_lists_name_e_mail_role_active_and_last_login(admin_browser, admin):
    member("viewer", VIEWERS, first_name="Vera", last_name="Viewer")
    member("gone", OPERATORS, is_active=False)
    User.objects.create_superuser(username="root", email="root@example.com", password="x" * 12)
    body = page(admin_browser.get("/administration/users/"))

    def row(pk: int) -> str:
        return re.search(rf'<tr class="user-row[^"]*" id="user-{pk}">(.*?)</tr>', body, re.S)[1]

    vera = row(User.objects.get(username="viewer").pk)
    assert "Vera Viewer" in vera and "viewer@example.com" in vera and "Viewer" in vera
    assert "never" in vera
    assert "deactivated" in row(User.objects.get(username="gone").pk)
    assert "superuser" in row(User.objects.get(username="root").pk)


# The audit log page


def event_at(when: datetime, **fields) -> AuditEvent:
    return AuditEvent.objects.create(at=when, **fields)


def test_the_audit_log_filters_by_user_action_object_and_days(admin_browser, settings):
    berlin = ZoneInfo(settings.TIME_ZONE)
    day = datetime(2026, 3, 10, 12, 0, tzinfo=berlin)
    event_at(day, username="anna", action="reports:reset", object_type="report", object_id="7")
    event_at(day, username="bernd", action="reports:skip", object_type="report", object_id="8")
    event_at(
        day - timedelta(days=3),
        username="anna",
        action="amazon_settings:disconnect",
        object_type="seller account",
        object_id="7",
    )
    # The days are Berlin's: 00:30 on the 11th in Berlin (23:30 on the 10th in UTC) is past a
    # range that ends on the 10th; 23:30 on the 10th is inside it.
    event_at(datetime(2026, 3, 10, 23, 30, tzinfo=berlin), username="late", action="x:late")
    event_at(datetime(2026, 3, 11, 0, 30, tzinfo=berlin), username="later", action="x:later")

    def shown(query: str) -> set[str]:
        body = page(admin_browser.get(f"/administration/audit/?{query}"))
        rows = re.findall(r'<tr class="audit-row">(.*?)</tr>', body, re.S)
        return {re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[2] for row in rows}

    assert shown("user=ANNA") == {
        "<code>reports:reset</code>",
        "<code>amazon_settings:disconnect</code>",
    }
    assert shown("action=reports:") == {"<code>reports:reset</code>", "<code>reports:skip</code>"}
    assert shown("object_type=report&object_id=7") == {"<code>reports:reset</code>"}
    assert shown("object_id=7") == {
        "<code>reports:reset</code>",
        "<code>amazon_settings:disconnect</code>",
    }
    assert shown("since=2026-03-10&until=2026-03-10") == {
        "<code>reports:reset</code>",
        "<code>reports:skip</code>",
        "<code>x:late</code>",
    }
    assert shown("until=2026-03-09") == {"<code>amazon_settings:disconnect</code>"}


@pytest.mark.usefixtures(compiled_catalogue.__name__)
def test_the_audit_log_names_objects_in_the_readers_language(admin_browser):
    event_at(datetime(2026, 3, 10, 12, 0, tzinfo=ZoneInfo("UTC")), username="anna",
             action="reports:reset", object_type="report", object_id="7")  # fmt: skip
    response = admin_browser.get("/administration/audit/", **GERMAN)
    text = page_text(response)
    assert "Bericht 7" in text and "report 7" not in text
    # The object filter offers the kinds by their German names.
    assert re.search(
        r'<option value="seller account">\s*Verkäuferkonto\s*</option>', page(response)
    )


def test_the_audit_log_refuses_a_reversed_range_with_a_clear_message(admin_browser):
    event_at(datetime(2026, 3, 10, tzinfo=ZoneInfo("UTC")), username="anna", action="a:b")
    body = page(admin_browser.get("/administration/audit/?since=2026-03-11&until=2026-03-10"))
    assert "The first day comes after the last: swap them." in body
    bad = page(admin_browser.get("/administration/audit/?since=3026-01-01"))
    assert "Enter a date between the years 2000 and 2100." in bad


def test_the_audit_log_pages_with_a_capped_count(admin_browser, monkeypatch):
    from core import pagination

    monkeypatch.setattr(pagination, "COUNT_LIMIT", 60)
    start = datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC"))
    AuditEvent.objects.bulk_create(
        AuditEvent(at=start + timedelta(minutes=i), username="bulk", action=f"a:{i}")
        for i in range(120)
    )
    first = page(admin_browser.get("/administration/audit/"))
    assert first.count('class="audit-row"') == 50
    assert "60+ events" in first
    assert "<code>a:119</code>" in first  # newest first
    third = page(admin_browser.get("/administration/audit/?user=bulk&page=3"))
    assert third.count('class="audit-row"') == 20
    assert "<code>a:0</code>" in third
    assert "user=bulk&page=2" in third


@pytest.mark.usefixtures(compiled_catalogue.__name__)
def test_the_audit_log_reads_its_sentences_in_german(admin_browser, admin):
    """Details are stored in English and shown in the reader's language; a path stays."""
    from core.audit import record_audit_event

    for detail in (
        "role of colleague: viewer -> operator + buyer data",
        "colleague: active -> inactive",
        "invited anna@example.com as viewer",
        "POST /reports/1/reset/ -> 302; error shown: This report is already finished.",
        "FBA stock: Every hour → Off; VCS invoices: Every day → Every 2 hours",
    ):
        record_audit_event(user=admin, action="test", detail=detail)
    german = page_text(admin_browser.get("/administration/audit/", **GERMAN))
    for sentence in (
        "Rolle von colleague: Betrachter -> Bearbeiter + Käuferdaten",
        "colleague: aktiv -> inaktiv",
        "anna@example.com als Betrachter eingeladen",
        "POST /reports/1/reset/ -> 302; angezeigter Fehler: ",
        "FBA stock: Stündlich → Aus; VCS-Rechnungen: Täglich → Alle 2 Stunden",
    ):
        assert sentence in german, sentence
    english = page_text(admin_browser.get("/administration/audit/"))
    assert "role of colleague: viewer -> operator + buyer data" in english
