"""Reads of the administration pages: the users with their roles, and the audit log filtered."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from core.models import AuditEvent


def user_list() -> QuerySet:
    """Every user, active ones first, by username, with their groups (for `role_of`)."""
    return (
        get_user_model().objects.prefetch_related("groups").order_by("-is_active", "username", "pk")
    )


def audit_events(
    *,
    username: str = "",
    action: str = "",
    object_type: str = "",
    object_id: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEvent]:
    """Audit events, newest first. `username` matches whole names (any case), `action` the
    start of the URL name ("reports:" for every report action), `since` inclusive and `until`
    exclusive."""
    events = AuditEvent.objects.order_by("-at", "-pk")
    if username:
        events = events.filter(username__iexact=username)
    if action:
        events = events.filter(action__startswith=action)
    if object_type:
        events = events.filter(object_type=object_type)
    if object_id:
        events = events.filter(object_id=object_id)
    if since is not None:
        events = events.filter(at__gte=since)
    if until is not None:
        events = events.filter(at__lt=until)
    return events


def email_taken(email: str) -> bool:
    """Whether a user has this e-mail address, or has it as username (any case)."""
    users = get_user_model().objects
    return (
        users.filter(email__iexact=email).exists() or users.filter(username__iexact=email).exists()
    )
