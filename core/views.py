"""The administration pages (users and their roles, invitations, the audit log) and the
language switch of the navigation.

`RoleMiddleware` lets only holders of `core.manage_users` reach the `administration` namespace
(superusers and Administrators). Each view calls one service, which writes its own audit event
with before -> after, and marks the request so the middleware does not add a second one; a
refused change (an error message) is audited by the middleware as any other.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.views import INTERNAL_RESET_SESSION_TOKEN, PasswordResetConfirmView
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core import selectors, services
from core.audit import mark_audited
from core.exceptions import CoreError, InvitationNotSent
from core.forms import AuditFilterForm, InviteForm, LanguageForm, RoleForm, SetPasswordCrispyForm
from core.pagination import LimitedCountPaginator
from core.preferences import remember_in_session, save_preference
from core.roles import Role

PAGE_SIZE = 50


def _accept_url(request: HttpRequest) -> services.AcceptUrl:
    def accept_url(uidb64: str, token: str) -> str:
        return request.build_absolute_uri(
            reverse("accept_invitation", kwargs={"uidb64": uidb64, "token": token})
        )

    return accept_url


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@require_GET
def user_list(request: HttpRequest) -> HttpResponse:
    """Every user: name, e-mail, role, active, last login; and the button to invite one."""
    page = LimitedCountPaginator(selectors.user_list(), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {
            "user": user,
            "role": services.role_of(user),
            "buyer_data": services.has_buyer_data(user),
            "invited": not user.has_usable_password(),
        }
        for user in page
    ]
    return render(request, "core/users.html", {"page": page, "rows": rows})


@require_http_methods(["GET", "POST"])
def invite(request: HttpRequest) -> HttpResponse:
    """Invite a user by e-mail, in a role."""
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.invite_user(
                email=data["email"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                role=Role(data["role"]),
                buyer_data=data["buyer_data"],
                acting_user=request.user,
                accept_url=_accept_url(request),
            )
        except InvitationNotSent as error:
            mark_audited(request)  # the user was added, and audited
            messages.error(request, str(error))
            return redirect("administration:users")
        except CoreError as error:
            form.add_error("email", str(error))
        else:
            mark_audited(request)
            messages.success(
                request,
                _("%(email)s is invited: the e-mail holds a link to set a password.")
                % {"email": user.email},
            )
            return redirect("administration:users")
    return render(request, "core/invite.html", {"form": form}, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def user_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One user: their role (changed here), whether they are active, and the last changes to
    them from the audit log."""
    user = get_object_or_404(get_user_model().objects.prefetch_related("groups"), pk=pk)
    initial = {
        "role": services.role_of(user) or Role.VIEWER,
        "buyer_data": services.has_buyer_data(user),
    }
    form = RoleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.set_role(
                user,
                role=Role(form.cleaned_data["role"]),
                buyer_data=form.cleaned_data["buyer_data"],
                acting_user=request.user,
            )
        except CoreError as error:
            messages.error(request, str(error))
        else:
            mark_audited(request)
            messages.success(
                request, _("The role of %(user)s is saved.") % {"user": user.get_username()}
            )
        return redirect("administration:user", pk=user.pk)
    history = selectors.audit_events(object_type="user", object_id=str(user.pk))[:20]
    return render(
        request,
        "core/user.html",
        {
            "subject": user,
            "role": services.role_of(user),
            "invited": not user.has_usable_password(),
            "form": form,
            "history": history,
        },
        status=400 if form.errors else 200,
    )


@require_POST
def deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    """Stop a user from logging in."""
    return _change(
        request,
        pk,
        services.deactivate_user,
        _("%(user)s is deactivated: they cannot log in any more."),
    )


@require_POST
def reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    """Let a deactivated user log in again."""
    return _change(request, pk, services.reactivate_user, _("%(user)s can log in again."))


@require_POST
def resend_invitation(request: HttpRequest, pk: int) -> HttpResponse:
    """E-mail an invited user a new link (the old one may have expired)."""
    user = get_object_or_404(get_user_model(), pk=pk, is_active=True)
    if user.has_usable_password():
        messages.error(
            request, _("%(user)s has set a password already.") % {"user": user.get_username()}
        )
        return redirect("administration:user", pk=user.pk)
    try:
        services.send_invitation(user, acting_user=request.user, accept_url=_accept_url(request))
    except CoreError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, _("The invitation is sent again to %(email)s.") % {"email": user.email}
        )
    return redirect("administration:user", pk=user.pk)


def _change(request: HttpRequest, pk: int, service: object, done: str) -> HttpResponse:
    user = get_object_or_404(get_user_model(), pk=pk)
    try:
        service(user, acting_user=request.user)
    except CoreError as error:
        messages.error(request, str(error))
    else:
        mark_audited(request)
        messages.success(request, done % {"user": user.get_username()})
    return redirect("administration:user", pk=user.pk)


@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    """Every change made through the dashboard, newest first, filtered."""
    form = AuditFilterForm(request.GET or None)
    page = LimitedCountPaginator(
        selectors.audit_events(**form.selector_filters()), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "core/audit_log.html",
        {"form": form, "page": page, "query": _query_without_page(request)},
    )


class AcceptInvitationView(PasswordResetConfirmView):
    """The invitation link: set a password once, then log in. Django's reset view, with the
    invitation tokens; the token leaves the URL for the session before the form is shown, so
    it is never sent on in a Referer."""

    token_generator = services.invitation_tokens
    form_class = SetPasswordCrispyForm
    template_name = "core/accept_invitation.html"
    title = ""

    def form_valid(self, form: SetPasswordForm) -> HttpResponse:
        services.accept_invitation(self.user, password=form.cleaned_data["new_password1"])
        mark_audited(self.request)
        del self.request.session[INTERNAL_RESET_SESSION_TOKEN]
        messages.success(
            self.request, _("Your password is set: log in with your e-mail address and it.")
        )
        return redirect("login")


@login_not_required
@require_POST
def set_language(request: HttpRequest) -> HttpResponseRedirect:
    """Switch the language and go back to the page the switch was on.

    A logged-in user's choice is saved with them (it follows them to other browsers); the
    cookie keeps it for the login page too. "" goes back to the browser's language."""
    form = LanguageForm(request.POST)
    language = form.cleaned_data["language"] if form.is_valid() else None
    target = form.cleaned_data.get("next", "") if form.is_valid() else ""
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("home")
    response = HttpResponseRedirect(target or reverse("home"))
    if language is None:
        return response
    if request.user.is_authenticated:
        preference = save_preference(user=request.user, language=language)
        remember_in_session(request, language=language, time_zone=preference.time_zone)
    if language:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            path=settings.LANGUAGE_COOKIE_PATH,
            domain=settings.LANGUAGE_COOKIE_DOMAIN,
            secure=settings.LANGUAGE_COOKIE_SECURE,
            httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        )
    else:
        response.delete_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            path=settings.LANGUAGE_COOKIE_PATH,
            domain=settings.LANGUAGE_COOKIE_DOMAIN,
        )
    return response
