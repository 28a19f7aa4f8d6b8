"""The audit log: who changed what through the dashboard.

`core.roles.RoleMiddleware` calls `record_audit_event` after every unsafe request that
succeeded, unless the view's service recorded a fuller event itself and the view said so with
`mark_audited`. The events are read on the Audit log page (administrators) and in the Django
admin (read-only there).

A detail is stored in English, built from a template registered with `core.stored_texts`, and
shown in the reader's language (`translate_detail`), as the worker's stored texts are.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest
from django.utils.translation import gettext_noop

from core.models import AuditEvent
from core.stored_texts import register, translate_stored

INVITED = gettext_noop("invited %(email)s as %(role)s")
ROLE_CHANGED = gettext_noop("role of %(username)s: %(before)s -> %(after)s")
PASSWORD_SET = gettext_noop("%(username)s set a password")
ACTIVE_CHANGED = gettext_noop("%(username)s: %(before)s -> %(after)s")
ERROR_SHOWN = gettext_noop("error shown: %(error)s")
# The words inside them: roles as `core.services.describe_role` names them, and the states.
WORDS = (
    gettext_noop("viewer"),
    gettext_noop("operator"),
    gettext_noop("administrator"),
    gettext_noop("no role"),
    gettext_noop("active"),
    gettext_noop("inactive"),
)
ROLE_WITH_BUYER_DATA = gettext_noop("%(role)s + buyer data")
# The more specific first: a text is read by the first template it fits.
register(INVITED, ROLE_CHANGED, PASSWORD_SET, ERROR_SHOWN, ROLE_WITH_BUYER_DATA, ACTIVE_CHANGED)
# Parts of a detail joined by this are translated one by one.
SEPARATOR = "; "


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


def translate_detail(detail: str) -> str:
    """An event's detail in the reader's language, each of its parts (joined by `SEPARATOR`)
    on its own; what no template built (a path, an order number, a name) stays as it was."""
    return SEPARATOR.join(translate_stored(part) for part in detail.split(SEPARATOR))


# Set on a request whose view recorded its own audit event.
_AUDITED = "_core_audited"


def mark_audited(request: HttpRequest) -> None:
    """Tell `RoleMiddleware` that this request's change is in the audit log already."""
    setattr(request, _AUDITED, True)


def is_audited(request: HttpRequest) -> bool:
    """True when the view marked the request with `mark_audited`."""
    return bool(getattr(request, _AUDITED, False))
