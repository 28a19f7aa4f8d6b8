"""The home page: the dashboard of every account, without calling Amazon."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from amazon_settings.models import SellerAccount
from orders.selectors import invoicing_stops
from reports import dashboard, selectors


def home(request: HttpRequest) -> HttpResponse:
    """The dashboard: a status strip per account and the orders imported per day."""
    accounts = list(SellerAccount.objects.order_by("display_name", "pk"))
    # The chart counts by purchase date; `?chart=imported` counts by the day of the import.
    chart_by = "imported" if request.GET.get("chart") == "imported" else "purchased"
    last_seen = selectors.worker_last_seen()
    now = timezone.now()
    return render(
        request,
        "home.html",
        {
            "accounts": accounts,
            "strips": dashboard.account_strips(accounts, now=now),
            "chart": dashboard.orders_per_day(now=now, by=chart_by) if accounts else None,
            "chart_by": chart_by,
            "invoicing_stops": invoicing_stops(accounts),
            "worker_last_seen": last_seen,
            "worker_stale": last_seen is None or now - last_seen > selectors.worker_stale_after(),
        },
    )
