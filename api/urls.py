"""The API's URLs: django-ninja's, each view wrapped to log the request with its token's name
and to take the token instead of a session (`LoginRequiredMiddleware` lets them through; the
docs page alone stays a page that needs a login). What ninja answers itself (a method other
than GET, its root) and any other path under /api/v1/ answer in the API's error shape."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, path

from api.v1 import NOT_FOUND, api, error_response

logger = logging.getLogger("api.requests")
DOCS_URL_NAME = "openapi-view"
ROOT_URL_NAME = "api-root"


def _logged(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        status = 500  # unless the view answers
        try:
            response = view(request, *args, **kwargs)
            if response.status_code == 405 and not response.get("Content-Type", "").startswith(
                "application/json"
            ):
                allowed = response["Allow"]
                response = error_response(
                    request,
                    405,
                    "method_not_allowed",
                    f"The API is read-only: use {allowed}.",
                )
                response["Allow"] = allowed
            status = response.status_code
            return response
        finally:
            token = getattr(request, "api_token", None)
            # The token's name, never the token.
            logger.info(
                "API %s %s -> %s by %s",
                request.method,
                request.path,
                status,
                token.name if token is not None else "(no valid token)",
            )

    return wrapper


def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Any path under /api/v1/ that is no operation, in the API's error shape."""
    return error_response(request, 404, "not_found", NOT_FOUND)


def _patterns() -> list[URLPattern | URLResolver]:
    patterns, _, _ = api.urls
    patterns = [*patterns, path("<path:rest>", not_found, name="not_found")]
    for pattern in patterns:
        if pattern.name == DOCS_URL_NAME:
            continue
        if pattern.name == ROOT_URL_NAME:  # only a name for reverse(): nothing is served
            pattern.callback = not_found
        pattern.callback = _logged(pattern.callback)
        pattern.callback.login_required = False
    return patterns


urlpatterns = _patterns()
app_name = "api"
