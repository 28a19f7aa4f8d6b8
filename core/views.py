"""The language switch of the navigation."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from core.forms import LanguageForm
from core.preferences import remember_in_session, save_preference


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
