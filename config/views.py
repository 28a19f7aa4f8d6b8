"""Pages that belong to the whole product rather than one app: home and health."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from amazon_settings.models import SellerAccount
from reports.selectors import worker_last_seen


def home(request: HttpRequest) -> HttpResponse:
    accounts = SellerAccount.objects.order_by("display_name")
    return render(
        request, "home.html", {"accounts": accounts, "worker_last_seen": worker_last_seen()}
    )


@login_not_required
def health(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers: answers without login, says nothing but "ok"."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
