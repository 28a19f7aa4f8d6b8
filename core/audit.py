"""The audit log: who changed what through the dashboard.

`core.roles.RoleMiddleware` calls `record_audit_event` after every unsafe request that
succeeded, unless the view's service recorded a fuller event itself and the view said so with
`mark_audited`. The events are read on the Audit log page (administrators) and in the Django
admin (read-only there).
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest

from core.models import AuditEvent


def record_audit_event(
    *,
    user: AbstractBaseUser | None,
    action: str,
    object_type: str = "",
    object_id: str = "",
    status_code: int | None = None,
    detail: str = "",
) -> AuditEvent:
    """Store one audit event. Values are cut to their columns: an audit row is never refused
    for being long, since the change it records has already happened."""
    fields = AuditEvent._meta
    return AuditEvent.objects.create(
        user=user if user is not None and user.pk else None,
        username=(user.get_username() if user is not None else "")[
            : fields.get_field("username").max_length
        ],
        action=action[: fields.get_field("action").max_length],
        object_type=object_type[: fields.get_field("object_type").max_length],
        object_id=object_id[: fields.get_field("object_id").max_length],
        status_code=status_code,
        detail=detail[: fields.get_field("detail").max_length],
    )


# Set on a request whose view recorded its own audit event.
_AUDITED = "_core_audited"


def mark_audited(request: HttpRequest) -> None:
    """Tell `RoleMiddleware` that this request's change is in the audit log already."""
    setattr(request, _AUDITED, True)


def is_audited(request: HttpRequest) -> bool:
    """True when the view marked the request with `mark_audited`."""
    return bool(getattr(request, _AUDITED, False))
