"""Pages that belong to the whole product rather than one app: health and the login lockout."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


@login_not_required
def health(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers: answers without login, says nothing but "ok"."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def login_locked_out(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict | None = None,
) -> HttpResponse:
    """django-axes' answer to a login it refuses (AXES_LOCKOUT_CALLABLE): 429 and a page that
    says why, for how long, and who can lift it."""
    return render(
        request,
        "registration/locked_out.html",
        {
            "failure_limit": settings.AXES_FAILURE_LIMIT,
            "minutes": round(settings.AXES_COOLOFF_TIME.total_seconds() / 60),
            "username": (credentials or {}).get("username", ""),
        },
        status=429,
    )
