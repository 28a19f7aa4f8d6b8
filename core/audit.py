"""The audit log: who changed what through the dashboard.

`core.roles.RoleMiddleware` calls `record_audit_event` after every unsafe request that
succeeded; the events are read in the Django admin (read-only there).
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser

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
