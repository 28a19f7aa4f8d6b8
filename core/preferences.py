"""Each user's language and time zone (`UserPreference`): saved, read, and applied to every
request of theirs.

Django's LocaleMiddleware picks the language from the switch's cookie or the browser's
Accept-Language; `UserPreferenceMiddleware`, after authentication, puts a logged-in user's
saved choice above both, so it follows them to any browser. The choice is read from the
database at login (or once in a session older than this) and kept in the session, so pages cost
no query for it.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from core.models import UserPreference

SESSION_KEY = "core.preference"


class PreferenceError(ValueError):
    """A language or time zone the dashboard does not offer."""


def valid_time_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def save_preference(
    *, user: AbstractBaseUser, language: str | None = None, time_zone: str | None = None
) -> UserPreference:
    """Save `user`'s language and/or time zone ("" for the browser's language or the
    installation's time zone; None leaves it as it is)."""
    if language is not None and language and language not in dict(settings.LANGUAGES):
        raise PreferenceError(f"Unknown language: {language!r}")
    if time_zone is not None and time_zone and not valid_time_zone(time_zone):
        raise PreferenceError(f"Unknown time zone: {time_zone!r}")
    preference, _ = UserPreference.objects.get_or_create(user=user)
    changed = []
    if language is not None:
        preference.language = language
        changed.append("language")
    if time_zone is not None:
        preference.time_zone = time_zone
        changed.append("time_zone")
    if changed:
        preference.save(update_fields=changed)
    return preference


def preference_of(user: AbstractBaseUser) -> tuple[str, str]:
    """`user`'s (language, time zone), "" where they follow the browser or installation."""
    preference = UserPreference.objects.filter(user=user).values_list("language", "time_zone")
    return next(iter(preference), ("", ""))


def remember_in_session(request: HttpRequest, *, language: str, time_zone: str) -> None:
    """Keep the user's choice in their session (the middleware reads it from there)."""
    request.session[SESSION_KEY] = [language, time_zone]


def remember_at_login(
    sender: type, *, request: HttpRequest | None, user: AbstractBaseUser, **kwargs: object
) -> None:
    """On login (signal `user_logged_in`), keep the user's choice in their new session: the
    session is written then anyway, so their pages cost no query or write for it."""
    if request is not None and hasattr(request, "session"):
        language, time_zone = preference_of(user)
        remember_in_session(request, language=language, time_zone=time_zone)


class UserPreferenceMiddleware:
    """Activate a logged-in user's saved language and time zone for their request.

    After AuthenticationMiddleware and Django's LocaleMiddleware (whose choice it overrides;
    LocaleMiddleware still names the active language in Content-Language)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        stored = request.session.get(SESSION_KEY)
        if not (isinstance(stored, list) and len(stored) == 2):
            language, time_zone = preference_of(user)
            remember_in_session(request, language=language, time_zone=time_zone)
        else:
            language, time_zone = stored
        if language in dict(settings.LANGUAGES):
            translation.activate(language)
            request.LANGUAGE_CODE = language
        if time_zone and valid_time_zone(time_zone):
            timezone.activate(zoneinfo.ZoneInfo(time_zone))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
