"""Roles: Viewers look, Operators change. Enforced and audited in one middleware.

Two Django groups (`setup_roles` creates them): Viewers get the view permissions of the
product's apps; Operators also get `core.operate`. Rather than decorating every view
(and trusting every new view to remember), `RoleMiddleware` refuses any unsafe request from a
user without `operate`, so a view added tomorrow is protected the day it lands. The admin is
left to its own permission checks, and login/logout stay open to everyone.

The same middleware writes the audit log: one `AuditEvent` per unsafe request that succeeded,
named by the URL pattern and the object in its arguments. It never reads the request body,
which can hold a refresh token.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import ResolverMatch

from core.audit import record_audit_event
from core.models import ProductPermission

logger = logging.getLogger(__name__)

VIEWERS = "Viewers"
OPERATORS = "Operators"
OPERATE_PERMISSION = "core.operate"
# Whose models a Viewer may look at in the admin, if an administrator also makes them staff.
VIEWED_APPS = ("core", "amazon_settings", "reports", "orders")

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Everyone must be able to log in and out; the admin checks its own model permissions.
OPEN_URL_NAMES = frozenset({"login", "logout"})
OPEN_NAMESPACES = frozenset({"admin"})
# POSTs that only compute an answer and write nothing (the request form's htmx preview): a
# Viewer may use them, and they are not worth an audit row.
READ_ONLY_POSTS = frozenset({"reports:request_preview"})

FORBIDDEN_MESSAGE = "Your role can look but not change: ask an operator."

# The URL argument that names the changed object, in order of preference, and what it is.
# `pk` means the main object of the app the URL belongs to.
PK_OBJECT_TYPES = {
    "amazon_settings": "seller account",
    "reports": "report",
    "orders": "order",
}
OBJECT_ARGUMENTS = (("schedule_id", "report schedule"), ("account_pk", "seller account"))


@transaction.atomic
def setup_roles() -> dict[str, Group]:
    """Create the Viewers and Operators groups with their permissions. Idempotent.

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
        )
    )
    viewers, _ = Group.objects.get_or_create(name=VIEWERS)
    viewers.permissions.add(*view)
    operators, _ = Group.objects.get_or_create(name=OPERATORS)
    operators.permissions.add(*view, operate)
    return {VIEWERS: viewers, OPERATORS: operators}


def can_operate(user: AbstractBaseUser | AnonymousUser) -> bool:
    """True for active superusers and users with `core.operate` (the Operators)."""
    return bool(user.is_authenticated and user.has_perm(OPERATE_PERMISSION))


def roles(request: HttpRequest) -> dict[str, bool]:
    """Template context: `can_operate`, so pages can hide buttons a Viewer may not press."""
    user = getattr(request, "user", None)
    return {"can_operate": user is not None and can_operate(user)}


def _is_open(match: ResolverMatch | None) -> bool:
    if match is None:
        return True  # no view: Django answers 404 without running anything
    return (
        match.view_name in OPEN_URL_NAMES
        or match.view_name in READ_ONLY_POSTS
        or bool(OPEN_NAMESPACES & set(match.namespaces))
    )


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
        if request.method not in UNSAFE_METHODS or _is_open(request.resolver_match):
            return None
        user = request.user
        if not user.is_authenticated or can_operate(user):
            return None
        return render(request, "roles/forbidden.html", {"message": FORBIDDEN_MESSAGE}, status=403)

    def _audit(
        self, request: HttpRequest, response: HttpResponse, *, before: AbstractBaseUser | None
    ) -> None:
        match = request.resolver_match
        if response.status_code >= 400 or match is None:
            return
        if match.view_name in READ_ONLY_POSTS or OPEN_NAMESPACES & set(match.namespaces):
            return  # the admin keeps its own history (LogEntry)
        after = getattr(request, "user", None)
        user = after if after is not None and after.is_authenticated else before
        if user is None:
            return  # e.g. a failed login: the form is shown again with 200
        object_type, object_id = _changed_object(match)
        detail = f"{request.method} {request.path} -> {response.status_code}"
        if error := _error_shown(request):
            detail += f"; error shown: {error}"
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
