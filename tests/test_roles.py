"""Roles and the audit log: Viewers look, Operators change, every change leaves a row."""

from __future__ import annotations

import html

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from amazon_settings import crypto
from amazon_settings import services as account_services
from amazon_settings.models import SellerAccount
from core.models import AuditEvent
from core.roles import (
    ADMINISTRATORS,
    BUYER_DATA,
    FORBIDDEN_MESSAGE,
    OPERATORS,
    VIEWERS,
    setup_roles,
)
from reports.models import Report
from tests.test_foundation import all_urls, concrete_url

pytestmark = pytest.mark.django_db

TOKEN = "Atzr|IwEBIRoleTestTokenNeverInTheAuditLog"
# "profile" changes only the user's own settings (core.roles.OWN_SETTINGS).
OPEN_FOR_EVERYONE = {
    "login",
    "logout",
    "reports:request_preview",
    "accept_invitation",
    "profile",
    # every user chooses their own language (core.preferences)
    "set_language",
}


def make_account(**fields) -> SellerAccount:
    defaults = {
        "selling_partner_id": "A1ROLETEST0001",
        "region": "eu",
        "display_name": "Role Shop",
        "refresh_token_encrypted": crypto.encrypt_secret(TOKEN),
        "status": SellerAccount.Status.CONNECTED,
    }
    return SellerAccount.objects.create(**(defaults | fields))


def changing_urls() -> list[tuple[str | None, str]]:
    # The REST API is read-only and takes tokens, not sessions; the token and webhook pages
    # need more than `operate` (all in tests/api).
    skipped = ("admin/", "api/v1/", "settings/api-tokens/", "settings/webhooks/")
    return [
        (name, route)
        for name, route in all_urls()
        if name not in OPEN_FOR_EVERYONE
        and not route.startswith(skipped)
        # Administrators' pages: tests/core/test_users.py refuses Viewers and Operators there.
        and not (name or "").startswith("administration:")
    ]


def test_setup_roles_is_idempotent_and_only_operators_may_operate():
    call_command("setup_roles", verbosity=0)
    call_command("setup_roles", verbosity=0)
    assert Group.objects.filter(name__in=[VIEWERS, OPERATORS, ADMINISTRATORS]).count() == 3
    operators = Group.objects.get(name=OPERATORS)
    viewers = Group.objects.get(name=VIEWERS)
    assert operators.permissions.filter(codename="operate").exists()
    assert not viewers.permissions.filter(codename="operate").exists()
    assert viewers.permissions.filter(codename="view_selleraccount").exists()
    administrators = Group.objects.get(name=ADMINISTRATORS)
    assert set(operators.permissions.all()) < set(administrators.permissions.all())
    assert not operators.permissions.filter(codename="manage_users").exists()
    assert administrators.permissions.filter(codename="manage_users").exists()


def test_setup_roles_keeps_permissions_an_administrator_added():
    groups = setup_roles()
    from django.contrib.auth.models import Permission

    extra = Permission.objects.get(codename="change_selleraccount")
    groups[VIEWERS].permissions.add(extra)
    setup_roles()
    assert groups[VIEWERS].permissions.filter(pk=extra.pk).exists()


@pytest.mark.parametrize(("name", "route"), changing_urls())
def test_a_viewer_may_not_change_anything(viewer_client, name, route):
    make_account()
    response = viewer_client.post(concrete_url(route), {"region": "eu"})
    assert response.status_code == 403, f"{route} ({name}) answered {response.status_code}"
    assert "ask an operator" in response.content.decode()
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(("name", "route"), changing_urls())
def test_an_operator_is_not_stopped_by_the_role_check(logged_in_client, name, route):
    client = logged_in_client
    client.raise_request_exception = False
    response = client.post(concrete_url(route), {})
    assert str(FORBIDDEN_MESSAGE) not in response.content.decode()


def test_a_viewer_sees_every_page(viewer_client):
    account = make_account()
    for path, htmx in (
        ("/", False),
        ("/settings/", False),
        ("/reports/", False),
        ("/reports/request/", False),
        ("/settings/log/", False),
        (f"/reports/diagnosis/{account.pk}/", False),
        # "Orders missing?" polls for its test call to Amazon, which a Viewer's visit queues.
        (f"/reports/diagnosis/{account.pk}/connection-test/", True),
    ):
        response = viewer_client.get(path, **({"HTTP_HX_REQUEST": "true"} if htmx else {}))
        assert response.status_code == 200, path
        assert response.context["can_operate"] is False


def test_operators_get_can_operate_in_templates(logged_in_client):
    assert logged_in_client.get("/").context["can_operate"] is True


def test_a_viewer_may_preview_a_request_and_log_out(viewer_client):
    assert viewer_client.post("/reports/request/preview/", {}).status_code == 200
    assert viewer_client.post("/logout/").status_code == 302
    assert viewer_client.get("/").status_code == 302  # logged out


def test_a_viewer_disconnects_nothing(viewer_client):
    account = make_account()
    response = viewer_client.post(f"/settings/accounts/{account.pk}/disconnect/")
    assert response.status_code == 403
    account.refresh_from_db()
    assert account.refresh_token_encrypted


def test_a_user_without_a_group_sees_whom_to_ask_and_nothing_else(admin_user):
    nobody = get_user_model().objects.create_user(username="nobody", password="x" * 12)
    client = Client()
    client.force_login(nobody)
    make_account()
    for path in ("/", "/settings/", "/orders/", "/reports/", "/settings/log/"):
        response = client.get(path)
        assert response.status_code == 403, path
        page = response.content.decode()
        assert "Your account has no role yet" in page
        assert "Ask an administrator to add you to one of them: admin." in page
        assert "Role Shop" not in page
    assert client.post("/settings/connect/", {"region": "eu"}).status_code == 403
    assert client.get("/health/").status_code == 200


def role_client(role: str, *, also: tuple[str, ...] = ()) -> Client:
    """A logged-in client for `role` (no group, one of the groups, or a superuser), in the
    groups `also` too."""
    groups = setup_roles()
    user_model = get_user_model()
    if role == "admin":
        user = user_model.objects.create_superuser(username="root", password="admin pass 9")
    else:
        name = "-".join((role, *also))
        user = user_model.objects.create_user(username=name, password="role pass 9")
        if role != "none":
            user.groups.add(groups[role])
    user.groups.add(*(groups[group] for group in also))
    client = Client()
    client.force_login(user)
    client.raise_request_exception = False
    return client


# Who may GET what: "look" pages need a Viewer's view permissions, buyer-data pages also
# core.view_buyer_data; login, logout, health and the language switch are open, the profile to
# every logged-in user.
BUYER_DATA_PAGES = {"reports:download", "reports:raw", "orders:invoice_pdf"}
OPEN_PAGES = {"login", "logout", "health", "accept_invitation", "profile", "set_language"}
MAY_LOOK = {
    "none": False,
    VIEWERS: True,
    BUYER_DATA: False,
    OPERATORS: True,
    ADMINISTRATORS: True,
    "admin": True,
}
MAY_SEE_BUYERS = {
    "none": False,
    VIEWERS: False,
    BUYER_DATA: True,
    OPERATORS: True,
    ADMINISTRATORS: True,
    "admin": True,
}
MAY_ADMINISTER = {
    "none": False,
    VIEWERS: False,
    BUYER_DATA: False,
    OPERATORS: False,
    ADMINISTRATORS: True,
    "admin": True,
}


# API tokens read what their scopes name, webhooks are sent what their events name: only who
# may hand tokens out (the Administrators and superusers) manages either.
TOKEN_ADMIN_PAGES = {"api_tokens:list", "api_tokens:revoke"}
TOKEN_ADMIN_NAMESPACES = ("api_webhooks:",)


def product_pages() -> list[tuple[str | None, str]]:
    # The REST API answers tokens, not roles (tests/api); its docs page shows no data.
    return [
        (name, route) for name, route in all_urls() if not route.startswith(("admin/", "api/v1/"))
    ]


@pytest.mark.parametrize("role", ["none", VIEWERS, BUYER_DATA, OPERATORS, ADMINISTRATORS, "admin"])
def test_every_page_answers_each_role_as_the_table_says(role):
    account = make_account()
    report = Report.objects.create(account=account, report_type="GET_AFN_INVENTORY_DATA")
    client = role_client(role)
    wrong = []
    for name, route in product_pages():
        url = concrete_url(route).replace("/1/", f"/{report.pk}/")
        response = client.get(url)
        if name in OPEN_PAGES:
            allowed = True
        elif name.startswith("administration:"):
            allowed = MAY_ADMINISTER[role]
        elif name in BUYER_DATA_PAGES:
            allowed = MAY_LOOK[role] and MAY_SEE_BUYERS[role]
        elif name in TOKEN_ADMIN_PAGES or name.startswith(TOKEN_ADMIN_NAMESPACES):
            allowed = MAY_ADMINISTER[role]
        else:
            allowed = MAY_LOOK[role]
        if (response.status_code == 403) == allowed:
            wrong.append(f"{url} ({name}): {response.status_code}")
    assert not wrong, f"{role}: " + "; ".join(wrong)


def test_a_superuser_passes(admin_client):
    response = admin_client.post("/settings/connect/", {"region": "eu"})
    assert response.status_code == 302
    assert AuditEvent.objects.get().action == "amazon_settings:connect_start"


def test_anonymous_posts_go_to_the_login_page(client):
    response = client.post("/settings/connect/", {"region": "eu"})
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_the_admin_keeps_its_own_permission_checks(viewer):
    viewer.is_staff = True
    viewer.save()
    client = Client()
    client.force_login(viewer)
    # Not the role page: the admin answers by its own rules (a Viewer has no change permission).
    response = client.post("/admin/amazon_settings/selleraccount/add/", {})
    assert response.status_code == 403
    assert str(FORBIDDEN_MESSAGE) not in response.content.decode()


def test_a_change_is_audited_with_who_what_and_which(logged_in_client, user):
    account = make_account()
    response = logged_in_client.post(f"/settings/accounts/{account.pk}/disconnect/")
    assert response.status_code == 302
    event = AuditEvent.objects.get()
    assert event.user == user and event.username == "seller"
    assert event.action == "amazon_settings:disconnect"
    assert (event.object_type, event.object_id) == ("seller account", str(account.pk))
    assert event.status_code == 302
    assert f"POST /settings/accounts/{account.pk}/disconnect/" in event.detail


def test_a_report_action_names_the_report_and_an_error_shown(logged_in_client):
    account = make_account()
    report = Report.objects.create(
        account=account,
        report_type="GET_AFN_INVENTORY_DATA",
        import_status=Report.ImportStatus.IMPORTED,
        imported_at=timezone.now(),
    )
    logged_in_client.post(f"/reports/{report.pk}/skip/")
    event = AuditEvent.objects.get()
    assert (event.action, event.object_type, event.object_id) == (
        "reports:skip",
        "report",
        str(report.pk),
    )
    assert "error shown: This report is already finished." in event.detail
    # The error still reaches the seller: reading it for the audit did not consume it.
    page = logged_in_client.get("/reports/").content.decode()
    assert "This report is already finished." in page


def test_the_request_body_never_reaches_the_audit_log(logged_in_client, monkeypatch):
    def accept(**kwargs):
        return make_account(display_name="Pasted")

    monkeypatch.setattr(account_services, "self_authorize", accept)
    response = logged_in_client.post(
        "/settings/self-authorize/",
        {"selling_partner_id": "A1ROLETEST0001", "region": "eu", "refresh_token": TOKEN},
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get()
    assert event.action == "amazon_settings:self_authorize"
    row = " ".join(str(value) for value in AuditEvent.objects.values().get().values())
    assert "Atzr" not in row


def test_refused_and_failed_requests_are_not_audited(logged_in_client, viewer_client):
    viewer_client.post("/settings/connect/", {"region": "eu"})  # 403
    logged_in_client.post("/settings/self-authorize/", {"refresh_token": "nonsense"})  # 400
    logged_in_client.post("/settings/accounts/999/disconnect/")  # 404
    logged_in_client.post("/reports/request/preview/", {})  # read-only
    assert not AuditEvent.objects.exists()


def test_login_and_logout_are_audited_but_not_a_wrong_password(client, user):
    client.post("/login/", {"username": "seller", "password": "wrong"})
    assert not AuditEvent.objects.exists()
    client.post("/login/", {"username": "seller", "password": "correct horse 42"})
    client.post("/logout/")
    assert list(AuditEvent.objects.order_by("pk").values_list("action", "username")) == [
        ("login", "seller"),
        ("logout", "seller"),
    ]


def test_the_audit_log_is_read_only_in_the_admin(admin_client, logged_in_client):
    account = make_account()
    logged_in_client.post(f"/settings/accounts/{account.pk}/disconnect/")
    event = AuditEvent.objects.get()
    listing = admin_client.get("/admin/core/auditevent/")
    assert listing.status_code == 200
    assert "amazon_settings:disconnect" in listing.content.decode()
    assert admin_client.get("/admin/core/auditevent/add/").status_code == 403
    detail = admin_client.get(f"/admin/core/auditevent/{event.pk}/change/")
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode()
    admin_client.post(f"/admin/core/auditevent/{event.pk}/delete/", {"post": "yes"})
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_audit_events_survive_their_user(logged_in_client, user):
    account = make_account()
    logged_in_client.post(f"/settings/accounts/{account.pk}/disconnect/")
    user.delete()
    event = AuditEvent.objects.get()
    assert event.user is None and event.username == "seller"


def test_buyers_data_is_shown_only_to_roles_that_include_it():
    from orders.models import Order

    account = make_account()
    order = Order.objects.create(
        account=account,
        amazon_order_id="302-1234567-1234567",
        buyer_name="Erika Mustermann",
        buyer_email="erika@marketplace.amazon.de",
        recipient_name="Erika Mustermann",
        ship_address_1="Hauptstraße 1",
        ship_city="Berlin",
        ship_postal_code="10115",
        ship_country="DE",
        billing_name="Mustermann Rechnungsstelle",
        bill_address_1="Rechnungsweg 5",
        bill_city="Bonn",
        bill_postal_code="53111",
    )
    viewer, operator = role_client(VIEWERS), role_client(OPERATORS)
    for path in ("/orders/", f"/orders/{order.pk}/"):
        hidden = viewer.get(path).content.decode()
        assert "Erika" not in hidden and "Hauptstraße" not in hidden and "erika@" not in hidden
        assert "Rechnung" not in hidden and "53111" not in hidden
        assert "hidden: not part of your role" in hidden
        shown = html.unescape(operator.get(path).content.decode())
        assert "Erika Mustermann" in shown and "erika@marketplace.amazon.de" in shown
    shown = html.unescape(operator.get(f"/orders/{order.pk}/").content.decode())
    assert "Mustermann Rechnungsstelle" in shown and "Rechnungsweg 5" in shown
    # Searching for a buyer is looking at buyers: a Viewer's search does not match them.
    assert "302-1234567-1234567" not in viewer.get("/orders/?q=Mustermann").content.decode()
    assert "302-1234567-1234567" in operator.get("/orders/?q=Mustermann").content.decode()
    assert "302-1234567-1234567" in viewer.get("/orders/?q=302-1234567").content.decode()


def test_a_report_s_rows_and_raw_file_need_the_buyer_data_permission(tmp_path, settings):
    from django.core.files.base import ContentFile

    settings.MEDIA_ROOT = tmp_path
    report = Report.objects.create(
        account=make_account(), report_type="GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING"
    )
    report.raw_file.save("raw.tsv", ContentFile(b"order-id\tbuyer-name\n1\tErika\n"))
    viewer = role_client(VIEWERS)
    page = viewer.get(f"/reports/{report.pk}/").content.decode()
    assert "Erika" not in page
    assert "holds buyers' personal data, which is not part of your role" in html.unescape(page)
    refused = viewer.get(f"/reports/{report.pk}/download/")
    assert refused.status_code == 403
    assert "Buyers" in html.unescape(refused.content.decode())
    member = role_client(VIEWERS, also=(BUYER_DATA,))  # a Viewer who answers customers
    assert member.get(f"/reports/{report.pk}/download/").status_code == 200
    assert "Erika" in member.get(f"/reports/{report.pk}/").content.decode()
