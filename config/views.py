"""Pages that belong to the whole product rather than one app: home, health, login lockout."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone

from amazon_settings.models import SellerAccount
from reports import diagnosis
from reports.selectors import worker_last_seen


def home(request: HttpRequest) -> HttpResponse:
    """The dashboard: a status strip per account and the orders imported per day."""
    accounts = list(SellerAccount.objects.order_by("display_name", "pk"))
    last_seen = worker_last_seen()
    now = timezone.now()
    return render(
        request,
        "home.html",
        {
            "accounts": accounts,
            "strips": diagnosis.account_strips(accounts, now=now),
            "chart": diagnosis.orders_per_day(now=now) if accounts else None,
            "worker_last_seen": last_seen,
            "worker_stale": last_seen is None or now - last_seen > diagnosis.worker_stale_after(),
        },
    )


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
