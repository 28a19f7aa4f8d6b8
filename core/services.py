"""Users and their roles, as administrators manage them on the Users page.

Every change is one transaction that writes the user and one `AuditEvent` with who did what to
whom, before -> after. Roles are the groups of `core.roles` (one role group per user, plus
"Buyer data" or not); groups an administrator made by hand in Django's admin are left alone.

Invitations use Django's password-reset tokens with their own salt (a reset link is not an
invitation, nor the reverse). A token holds the password hash, the last login, the e-mail and
whether the user is active, so it stops working once the password is set, the user logs in, or
the user is deactivated; and after PASSWORD_RESET_TIMEOUT in any case.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from core.audit import (
    ACTIVE_CHANGED,
    INVITED,
    PASSWORD_SET,
    ROLE_CHANGED,
    ROLE_WITH_BUYER_DATA,
    record_audit_event,
)
from core.exceptions import (
    InvitationNotSent,
    LastAdministrator,
    NotOnYourself,
    SuperuserRole,
    UserAlreadyExists,
)
from core.roles import ADMINISTRATION, BUYER_DATA, ROLE_GROUPS, Role, administrators, setup_roles
from core.selectors import email_taken
from core.stored_texts import stored_text

logger = logging.getLogger(__name__)

# (uidb64, token) -> the absolute URL of the page that sets the password. The view builds it
# from the request, so this module needs neither the host nor the URLconf.
AcceptUrl = Callable[[str, str], str]


class InvitationTokenGenerator(PasswordResetTokenGenerator):
    """Password-reset tokens of their own kind, invalid once the user is deactivated."""

    key_salt = "core.services.InvitationTokenGenerator"

    def _make_hash_value(self, user: AbstractBaseUser, timestamp: int) -> str:
        return f"{super()._make_hash_value(user, timestamp)}{int(user.is_active)}"


invitation_tokens = InvitationTokenGenerator()


def role_of(user: AbstractBaseUser) -> Role | None:
    """The user's role by their groups (the highest if they hold several), None for no role.
    Reads `user.groups.all()`, so prefetch it for a list."""
    names = {group.name for group in user.groups.all()}
    for role in (Role.ADMINISTRATOR, Role.OPERATOR, Role.VIEWER):
        if ROLE_GROUPS[role] in names:
            return role
    return None


def has_buyer_data(user: AbstractBaseUser) -> bool:
    """Whether the user is in the "Buyer data" group (Operators see buyer data anyway)."""
    return any(group.name == BUYER_DATA for group in user.groups.all())


def describe_role(role: Role | None, *, buyer_data: bool) -> str:
    """ "viewer", "viewer + buyer data", "no role": how the audit log names a role (in English,
    as the rest of the log, whoever reads it)."""
    name = role.value if role else "no role"
    return stored_text(ROLE_WITH_BUYER_DATA, role=name) if buyer_data else name


def invite_user(
    *,
    email: str,
    first_name: str = "",
    last_name: str = "",
    role: Role,
    buyer_data: bool,
    acting_user: AbstractBaseUser,
    accept_url: AcceptUrl,
) -> AbstractBaseUser:
    """Create a user without a password in `role`, and e-mail them a link to set one.

    The e-mail address is the username. Raises UserAlreadyExists (nothing written) and
    InvitationNotSent (the user and the audit event stay: `send_invitation` again).
    """
    user_model = get_user_model()
    email = user_model.objects.normalize_email(email).strip()
    with transaction.atomic():
        if email_taken(email):
            raise UserAlreadyExists(_("A user with this e-mail address exists already."))
        user = user_model(username=email, email=email, first_name=first_name, last_name=last_name)
        user.set_unusable_password()
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError as error:  # invited at the same moment by someone else
            raise UserAlreadyExists(_("A user with this e-mail address exists already.")) from error
        _put_in_role(user, role=role, buyer_data=buyer_data)
        record_audit_event(
            user=acting_user,
            action=f"{ADMINISTRATION}:invite",
            object_type="user",
            object_id=str(user.pk),
            detail=stored_text(
                INVITED, email=email, role=describe_role(role, buyer_data=buyer_data)
            ),
        )
    send_invitation(user, acting_user=acting_user, accept_url=accept_url)
    return user


def send_invitation(
    user: AbstractBaseUser, *, acting_user: AbstractBaseUser, accept_url: AcceptUrl
) -> None:
    """E-mail `user` a one-time link to set their password. Raises InvitationNotSent when the
    mail server refuses or does not answer (EMAIL_TIMEOUT)."""
    link = accept_url(
        urlsafe_base64_encode(force_bytes(user.pk)), invitation_tokens.make_token(user)
    )
    context = {
        "user": user,
        "invited_by": acting_user.get_full_name() or acting_user.get_username(),
        "link": link,
        "valid_days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400),
    }
    subject = render_to_string("core/invitation_subject.txt", context).strip()
    body = render_to_string("core/invitation_email.txt", context)
    try:
        send_mail(subject, body, None, [user.email], fail_silently=False)
    except (smtplib.SMTPException, OSError) as error:
        # The link is a secret: log the failure, never the message.
        logger.warning("Invitation to user %s not sent: %s", user.pk, type(error).__name__)
        raise InvitationNotSent(
            _(
                "%(email)s was added, but the invitation could not be sent (the mail server "
                "did not take it). Send it again from the Users page."
            )
            % {"email": user.email}
        ) from error


def set_role(
    user: AbstractBaseUser, *, role: Role, buyer_data: bool, acting_user: AbstractBaseUser
) -> AbstractBaseUser:
    """Give `user` the role and the "Buyer data" group or not. Idempotent (no change, no event).

    Raises NotOnYourself, SuperuserRole, and LastAdministrator when it would take the role
    away from the only active administrator.
    """
    if user.pk == acting_user.pk:
        raise NotOnYourself(
            _("You cannot change your own role: ask another administrator to do it.")
        )
    if user.is_superuser:
        raise SuperuserRole(
            _(
                "%(user)s is a superuser, who may do everything whatever the role: change "
                "that in Django's admin."
            )
            % {"user": user.get_username()}
        )
    with transaction.atomic():
        user = _locked(user)
        before = describe_role(role_of(user), buyer_data=has_buyer_data(user))
        after = describe_role(role, buyer_data=buyer_data)
        if before == after:
            return user
        if role != Role.ADMINISTRATOR:
            _refuse_without_other_administrator(user)
        _put_in_role(user, role=role, buyer_data=buyer_data)
        record_audit_event(
            user=acting_user,
            action=f"{ADMINISTRATION}:user",
            object_type="user",
            object_id=str(user.pk),
            detail=stored_text(
                ROLE_CHANGED, username=user.get_username(), before=before, after=after
            ),
        )
    return user


def deactivate_user(user: AbstractBaseUser, *, acting_user: AbstractBaseUser) -> AbstractBaseUser:
    """Stop `user` from logging in; their sessions end at their next request. Idempotent.

    Raises NotOnYourself, and LastAdministrator for the only active administrator.
    """
    if user.pk == acting_user.pk:
        raise NotOnYourself(
            _("You cannot deactivate your own account: ask another administrator to do it.")
        )
    return _set_active(user, active=False, acting_user=acting_user)


def reactivate_user(user: AbstractBaseUser, *, acting_user: AbstractBaseUser) -> AbstractBaseUser:
    """Let a deactivated user log in again, with the role they had. Idempotent."""
    return _set_active(user, active=True, acting_user=acting_user)


def accept_invitation(user: AbstractBaseUser, *, password: str) -> AbstractBaseUser:
    """Set the invited user's password (validated by the form). The token used for it stops
    working, as the password hash it was made from changes."""
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        record_audit_event(
            user=user,
            action="accept_invitation",
            object_type="user",
            object_id=str(user.pk),
            detail=stored_text(PASSWORD_SET, username=user.get_username()),
        )
    return user


def _set_active(
    user: AbstractBaseUser, *, active: bool, acting_user: AbstractBaseUser
) -> AbstractBaseUser:
    with transaction.atomic():
        user = _locked(user)
        if user.is_active == active:
            return user
        if not active:
            _refuse_without_other_administrator(user)
        user.is_active = active
        user.save(update_fields=["is_active"])
        state = {True: "active", False: "inactive"}
        record_audit_event(
            user=acting_user,
            action=f"{ADMINISTRATION}:{'reactivate' if active else 'deactivate'}",
            object_type="user",
            object_id=str(user.pk),
            detail=stored_text(
                ACTIVE_CHANGED,
                username=user.get_username(),
                before=state[not active],
                after=state[active],
            ),
        )
    return user


def _locked(user: AbstractBaseUser) -> AbstractBaseUser:
    """The user's row, locked until the transaction ends, with the active administrators'
    rows: two administrators removing each other at once cannot leave none (on PostgreSQL;
    SQLite runs one writer at a time)."""
    list(administrators().select_for_update().values_list("pk", flat=True))
    return get_user_model().objects.select_for_update().get(pk=user.pk)


def _refuse_without_other_administrator(user: AbstractBaseUser) -> None:
    if (
        administrators().filter(pk=user.pk).exists()
        and not administrators().exclude(pk=user.pk).exists()
    ):
        raise LastAdministrator(
            _(
                "%(user)s is the only active administrator: make someone else an administrator "
                "first, so that somebody can still manage users."
            )
            % {"user": user.get_username()}
        )


def _put_in_role(user: AbstractBaseUser, *, role: Role, buyer_data: bool) -> None:
    groups = setup_roles()
    product_groups = [groups[name] for name in (*ROLE_GROUPS.values(), BUYER_DATA)]
    user.groups.remove(*product_groups)
    wanted: list[Group] = [groups[ROLE_GROUPS[role]]]
    if buyer_data:
        wanted.append(groups[BUYER_DATA])
    user.groups.add(*wanted)
