"""The API's URLs: django-ninja's, each view wrapped to log the request with its token's name
and to take the token instead of a session (`LoginRequiredMiddleware` lets them through; the
docs page alone stays a page that needs a login)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver

from api.v1 import api

logger = logging.getLogger("api.requests")
DOCS_URL_NAME = "openapi-view"


def _logged(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        token = getattr(request, "api_token", None)
        # The token's name, never the token.
        logger.info(
            "API %s %s -> %s by %s",
            request.method,
            request.path,
            response.status_code,
            token.name if token is not None else "(no valid token)",
        )
        return response

    return wrapper


def _patterns() -> list[URLPattern | URLResolver]:
    patterns, _, _ = api.urls
    for pattern in patterns:
        if pattern.name == DOCS_URL_NAME:
            continue
        pattern.callback = _logged(pattern.callback)
        pattern.callback.login_required = False
    return patterns


urlpatterns = _patterns()
app_name = "api"
