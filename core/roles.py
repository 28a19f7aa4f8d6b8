"""Roles: Viewers look, Operators change, Administrators also manage users, buyer data only for
who needs it. Enforced and audited in one middleware.

Four Django groups (`setup_roles` creates them): Viewers get the view permissions of the
product's apps; Operators also get `core.operate` and `core.view_buyer_data`; Administrators
get all of that and `core.manage_users` (the Users and Audit log pages, as superusers do);
"Buyer data" holds only `core.view_buyer_data`, for a Viewer who answers customers. Rather
than decorating every view (and trusting every new view to remember), `RoleMiddleware` checks
every request against the URL it resolved to:
- a page needs the view permission of its app (`LOOK_PERMISSIONS`): a user in no group sees
  a page that says whom to ask instead of everything a Viewer sees;
- raw report files need `core.view_buyer_data` (`BUYER_DATA_URL_NAMES`); pages that show some
  buyer data hide it from users without it (`can_view_buyer_data` in templates and views);
- an unsafe request needs `core.operate`, and on the administration pages `core.manage_users`.
So a view added tomorrow is protected the day it lands. The admin is left to its own
permission checks; login, logout and the health check stay open to everyone.

The same middleware writes the audit log: one `AuditEvent` per unsafe request that succeeded,
named by the URL pattern and the object in its arguments. It never reads the request body,
which can hold a refresh token. A view whose service wrote a fuller event itself (who, what,
before -> after) marks the request (`core.audit.mark_audited`), and the middleware adds none.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError, models, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import ResolverMatch
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from core.audit import ERROR_SHOWN, SEPARATOR, is_audited, record_audit_event
from core.models import ProductPermission
from core.stored_texts import stored_text

logger = logging.getLogger(__name__)

VIEWERS = "Viewers"
OPERATORS = "Operators"
BUYER_DATA = "Buyer data"
ADMINISTRATORS = "Administrators"
OPERATE_PERMISSION = "core.operate"
BUYER_DATA_PERMISSION = "core.view_buyer_data"
MANAGE_USERS_PERMISSION = "core.manage_users"
# The URL namespace of the pages that manage users and show the audit log (core/urls.py).
ADMINISTRATION = "administration"


class Role(models.TextChoices):
    """What a user may do, as the Users page sets it: one of these, plus "Buyer data" or not."""

    VIEWER = "viewer", _("Viewer")
    OPERATOR = "operator", _("Operator")
    ADMINISTRATOR = "administrator", _("Administrator")


# The group each role is; a user holds exactly one of them (a superuser may hold none).
ROLE_GROUPS = {Role.VIEWER: VIEWERS, Role.OPERATOR: OPERATORS, Role.ADMINISTRATOR: ADMINISTRATORS}
# What a user must hold to look at the pages of each app (by URL namespace; the home page is
# the accounts' overview). Every page of the product resolves to one of these.
LOOK_PERMISSIONS = {
    "amazon_settings": "amazon_settings.view_selleraccount",
    "reports": "reports.view_report",
    "orders": "orders.view_order",
    "home": "amazon_settings.view_selleraccount",
    ADMINISTRATION: MANAGE_USERS_PERMISSION,
    # Tokens read everything a scope names: only who may hand them out sees them.
    "api_tokens": "api.manage_apitoken",
    # A webhook subscription is sent what a token reads: the same people manage both.
    "api_webhooks": "api.manage_apitoken",
}
# Pages that are buyer data as a whole: the report documents as Amazon sent them, and the PDFs
# of invoices issued here (they print the buyer's name and address).
BUYER_DATA_URL_NAMES = frozenset({"reports:download", "reports:raw", "orders:invoice_pdf"})
# Whose models a Viewer may look at in the admin, if an administrator also makes them staff.
VIEWED_APPS = ("core", "amazon_settings", "reports", "orders")

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Everyone must be able to log in and out and choose a language; the admin checks its own
# model permissions. The invitation link is opened by a user who has no password yet.
OPEN_URL_NAMES = frozenset({"login", "logout", "accept_invitation", "set_language"})
# A user's own preferences: not changes to the product, not audited.
PERSONAL_POSTS = frozenset({"set_language"})
OPEN_NAMESPACES = frozenset({"admin"})
# The REST API takes a bearer token instead of a session, with scopes per resource (`api`);
# its operations are read-only and its docs page shows no data.
TOKEN_NAMESPACES = frozenset({"api"})
# POSTs that only compute an answer and write nothing (the request form's htmx preview): a
# Viewer may use them, and they are not worth an audit row.
READ_ONLY_POSTS = frozenset({"reports:request_preview"})
# Pages where users change their own settings only (the profile: e-mail address and
# notifications): every logged-in user may post them, whatever the role; they are audited.
OWN_SETTINGS = frozenset({"profile"})

FORBIDDEN_MESSAGE = _("Your role can look but not change: ask an operator.")
BUYER_DATA_TITLE = _("Buyers' personal data is not part of your role")
BUYER_DATA_MESSAGE = format_lazy(
    _(
        "Buyers' personal data is not part of your role: ask an administrator to add you to "
        "the “{group}” group if your work needs it."
    ),
    group=BUYER_DATA,
)
ADMINISTRATORS_ONLY_TITLE = _("For administrators only")
ADMINISTRATORS_ONLY_MESSAGE = _(
    "Only administrators manage users and read the audit log: ask one if your work needs it."
)

# The URL argument that names the changed object, in order of preference, and what it is.
# `pk` means the main object of the app the URL belongs to.
PK_OBJECT_TYPES = {
    "amazon_settings": "seller account",
    "reports": "report",
    "orders": "order",
    ADMINISTRATION: "user",
    "api_webhooks": "webhook subscription",
}
OBJECT_ARGUMENTS = (
    ("schedule_id", "report schedule"),
    ("account_pk", "seller account"),
    ("delivery_id", "webhook delivery"),
)
# Every kind of object an audit event can name, for the audit log's filter.
AUDITED_OBJECT_TYPES = tuple(
    sorted({*PK_OBJECT_TYPES.values(), *(kind for _argument, kind in OBJECT_ARGUMENTS)})
)
# What the audit log calls each kind (events store the kind itself, in English).
OBJECT_TYPE_LABELS = {
    "order": _("Order"),
    "report": _("Report"),
    "report schedule": _("Report schedule"),
    "seller account": _("Seller account"),
    "user": _("User"),
}


def object_type_label(kind: str) -> str:
    """`kind` in the reader's language; a kind without a label as it is."""
    return str(OBJECT_TYPE_LABELS.get(kind, kind))


@transaction.atomic
def setup_roles() -> dict[str, Group]:
    """Create the Viewers, Operators, Administrators and Buyer data groups with their
    permissions. Idempotent.

    Only adds what is missing: a permission an administrator added to a group by hand stays.
    """
    operate, _ = Permission.objects.get_or_create(
        content_type=ContentType.objects.get_for_model(ProductPermission),
        codename="operate",
        defaults={"name": "Can connect accounts, request and manage reports, change settings"},
    )
    view = list(
        Permission.objects.filter(
            content_type__app_label__in=VIEWED_APPS, codename__startswith="view_"
        ).exclude(codename="view_buyer_data")
    )
    viewers, _ = Group.objects.get_or_create(name=VIEWERS)
    viewers.permissions.add(*view)
    buyer_data_permission, _ = Permission.objects.get_or_create(
        content_type=operate.content_type,
        codename="view_buyer_data",
        defaults={
            "name": "Can see buyers' names, addresses, e-mails and phone numbers, and raw reports"
        },
    )
    operators, _ = Group.objects.get_or_create(name=OPERATORS)
    operators.permissions.add(*view, operate, buyer_data_permission)
    buyer_data, _ = Group.objects.get_or_create(name=BUYER_DATA)
    buyer_data.permissions.add(buyer_data_permission)
    manage_users, _ = Permission.objects.get_or_create(
        content_type=operate.content_type,
        codename="manage_users",
        defaults={
            "name": "Can invite users, set their roles, deactivate them and read the audit log"
        },
    )
    # API tokens and webhooks (the `api` app's, named here since core imports no app): they
    # read what a scope names, so administrators hand them out.
    manage_api = Permission.objects.filter(
        content_type__app_label="api", codename="manage_apitoken"
    )
    administrators, _ = Group.objects.get_or_create(name=ADMINISTRATORS)
    administrators.permissions.add(*view, operate, buyer_data_permission, manage_users, *manage_api)
    return {
        VIEWERS: viewers,
        OPERATORS: operators,
        ADMINISTRATORS: administrators,
        BUYER_DATA: buyer_data,
    }


def can_operate(user: AbstractBaseUser | AnonymousUser) -> bool:
    """True for active superusers and users with `core.operate` (the Operators)."""
    return bool(user.is_authenticated and user.has_perm(OPERATE_PERMISSION))


def can_view_buyer_data(user: AbstractBaseUser | AnonymousUser) -> bool:
    """True for active superusers and users with `core.view_buyer_data`."""
    return bool(user.is_authenticated and user.has_perm(BUYER_DATA_PERMISSION))


def can_manage_users(user: AbstractBaseUser | AnonymousUser) -> bool:
    """True for active superusers and users with `core.manage_users` (the Administrators)."""
    return bool(user.is_authenticated and user.has_perm(MANAGE_USERS_PERMISSION))


def roles(request: HttpRequest) -> dict[str, bool]:
    """Template context: `can_operate`, so pages can hide buttons a Viewer may not press, and
    `can_view_buyer_data`, so they leave out buyers' personal data for who may not see it."""
    user = getattr(request, "user", None)
    return {
        "can_operate": user is not None and can_operate(user),
        "can_view_buyer_data": user is not None and can_view_buyer_data(user),
    }


def administrators() -> models.QuerySet:
    """The active users who may manage users: superusers and whoever holds
    `core.manage_users` through a group or by hand."""
    user_model = get_user_model()
    holds = models.Q(
        groups__permissions__codename="manage_users",
        groups__permissions__content_type__app_label="core",
    ) | models.Q(
        user_permissions__codename="manage_users",
        user_permissions__content_type__app_label="core",
    )
    return user_model.objects.filter(
        models.Q(is_superuser=True)
        | models.Q(pk__in=user_model.objects.filter(holds).values("pk")),
        is_active=True,
    )


def _look_permission(match: ResolverMatch) -> str:
    """The permission needed to look at the page `match` resolved to ("" for none)."""
    key = match.namespaces[0] if match.namespaces else match.view_name
    return LOOK_PERMISSIONS.get(key, "")


def _administrators() -> list[str]:
    user_model = get_user_model()
    return list(
        user_model.objects.filter(is_active=True, is_superuser=True)
        .order_by(user_model.USERNAME_FIELD)
        .values_list(user_model.USERNAME_FIELD, flat=True)[:3]
    )


def _is_open(match: ResolverMatch) -> bool:
    return match.view_name in OPEN_URL_NAMES or bool(OPEN_NAMESPACES & set(match.namespaces))


def _changed_object(match: ResolverMatch) -> tuple[str, str]:
    for argument, object_type in OBJECT_ARGUMENTS:
        if argument in match.kwargs:
            return object_type, str(match.kwargs[argument])
    if "pk" in match.kwargs:
        namespace = match.namespaces[0] if match.namespaces else ""
        return PK_OBJECT_TYPES.get(namespace, namespace or "object"), str(match.kwargs["pk"])
    return "", ""


def _error_shown(request: HttpRequest) -> str:
    """The first error message the view queued for the next page, if any.

    Several views answer a refused action with a redirect and an error message rather than a
    4xx, so the audit row says so. Reads the queue without marking it used, so the message
    still reaches the seller.
    """
    storage = getattr(request, "_messages", None)
    for message in getattr(storage, "_queued_messages", []):
        if "error" in message.tags.split():
            return str(message.message)
    return ""


class RoleMiddleware:
    """Refuse unsafe requests of users who may not operate; audit the ones that succeed.

    Place it after AuthenticationMiddleware and LoginRequiredMiddleware (anonymous visitors
    are sent to the login page before they reach it) and after MessageMiddleware.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method not in UNSAFE_METHODS:
            return self.get_response(request)
        # Taken before the view runs: logout replaces request.user with AnonymousUser.
        before = getattr(request, "user", None)
        if before is not None and not before.is_authenticated:
            before = None
        response = self.get_response(request)
        self._audit(request, response, before=before)
        return response

    def process_view(
        self, request: HttpRequest, view_func: Callable, view_args: tuple, view_kwargs: dict
    ) -> HttpResponse | None:
        match = request.resolver_match
        user = request.user
        if match is not None and TOKEN_NAMESPACES & set(match.namespaces):
            return None
        if not user.is_authenticated or match is None or _is_open(match):
            return None
        needed = _look_permission(match)
        if needed == MANAGE_USERS_PERMISSION and not user.has_perm(needed):
            return render(
                request,
                "roles/forbidden.html",
                {"title": ADMINISTRATORS_ONLY_TITLE, "message": ADMINISTRATORS_ONLY_MESSAGE},
                status=403,
            )
        if needed and not user.has_perm(needed):
            return render(
                request, "roles/no_role.html", {"administrators": _administrators()}, status=403
            )
        changes = request.method in UNSAFE_METHODS and match.view_name not in (
            READ_ONLY_POSTS | OWN_SETTINGS
        )
        # The administration pages were allowed above by `core.manage_users`, which is theirs.
        if changes and needed != MANAGE_USERS_PERMISSION and not can_operate(user):
            return render(
                request, "roles/forbidden.html", {"message": FORBIDDEN_MESSAGE}, status=403
            )
        if match.view_name in BUYER_DATA_URL_NAMES and not can_view_buyer_data(user):
            return render(
                request,
                "roles/forbidden.html",
                {"title": BUYER_DATA_TITLE, "message": BUYER_DATA_MESSAGE},
                status=403,
            )
        return None

    def _audit(
        self, request: HttpRequest, response: HttpResponse, *, before: AbstractBaseUser | None
    ) -> None:
        match = request.resolver_match
        if response.status_code >= 400 or match is None or is_audited(request):
            return
        if match.view_name in READ_ONLY_POSTS | PERSONAL_POSTS:
            return
        if OPEN_NAMESPACES & set(match.namespaces):
            return  # the admin keeps its own history (LogEntry)
        after = getattr(request, "user", None)
        user = after if after is not None and after.is_authenticated else before
        if user is None:
            return  # e.g. a failed login: the form is shown again with 200
        object_type, object_id = _changed_object(match)
        detail = f"{request.method} {request.path} -> {response.status_code}"
        if error := _error_shown(request):
            detail += SEPARATOR + stored_text(ERROR_SHOWN, error=error)
        try:
            record_audit_event(
                user=user,
                action=match.view_name,
                object_type=object_type,
                object_id=object_id,
                status_code=response.status_code,
                detail=detail,
            )
        except DatabaseError:
            # The change itself is done; failing the response now would make the user repeat
            # it. The log line keeps the evidence.
            logger.exception("Could not write the audit event for %s by %s", detail, user)
