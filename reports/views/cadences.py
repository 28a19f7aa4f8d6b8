"""Settings » Report cadence of an account, and the question a new connection returns to: from
which day to import its orders."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods

from amazon_settings.exceptions import AccountNotConnected
from amazon_settings.models import SellerAccount
from core.roles import can_operate
from reports.catalog import kinds_for_region
from reports.exceptions import InvalidReportRequest
from reports.forms.cadences import CadenceForm, StartImportForm
from reports.services import cadences, requesting


def _order_report_limits(account: SellerAccount) -> list[tuple[str, int]]:
    """(name, days) of each order report of the account's region: how far back Amazon has it."""
    return [
        (kind.name, kind.look_back.days)
        for kind in kinds_for_region(account.region)
        if kind.imports_orders and kind.requestable
    ]


@require_http_methods(["GET", "POST"])
def start_import(request: HttpRequest, account_pk: int) -> HttpResponse:
    """Where the consent of a new connection returns to: asks once from which day to import
    (by default as far back as Amazon keeps the order reports), then imports by itself."""
    account = get_object_or_404(SellerAccount, pk=account_pk)
    earliest = requesting.first_import_day(account)
    form = StartImportForm(
        request.POST or None,
        earliest=earliest,
        initial={"import_orders_from": earliest},
        settings_url=f"{reverse('amazon_settings:settings')}#account-{account.pk}",
        can_start=can_operate(request.user),
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                reports = requesting.start_order_import(
                    account, start=form.start(), acting_user=request.user
                )
            except AccountNotConnected as error:
                messages.error(request, str(error))
                return redirect("amazon_settings:settings")
            except InvalidReportRequest as error:
                form.add_error("import_orders_from", str(error))
            else:
                messages.success(
                    request,
                    ngettext(
                        "Importing the orders of %(account)s since %(day)s: %(count)d report "
                        "requested, the newest first; the rest follows by itself. Pause it "
                        "with the Order import switch in Settings.",
                        "Importing the orders of %(account)s since %(day)s: %(count)d reports "
                        "requested, the newest first; the rest follows by itself. Pause it "
                        "with the Order import switch in Settings.",
                        len(reports),
                    )
                    % {
                        "account": account.display_name,
                        "day": date_format(form.cleaned_data["import_orders_from"]),
                        "count": len(reports),
                    },
                )
                return redirect(f"{reverse('reports:processing')}?account={account.pk}")
        status = 400
    return render(
        request,
        "reports/start_import.html",
        {
            "account": account,
            "form": form,
            "limits": _order_report_limits(account),
            "cadences": cadences.account_cadences(account),
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
def cadence_page(request: HttpRequest, account_pk: int) -> HttpResponse:
    """Settings » Report cadence: how often each report type of the account is imported."""
    account = get_object_or_404(SellerAccount, pk=account_pk)
    views = cadences.account_cadences(account)
    form = CadenceForm(request.POST or None, cadences=views, disabled=not can_operate(request.user))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                changes = cadences.set_cadences(
                    account, intervals=form.intervals(), acting_user=request.user
                )
            except InvalidReportRequest as error:
                form.add_error(error.field or None, str(error))
            else:
                if changes:
                    messages.success(
                        request,
                        _("Cadence saved: %(changes)s. The worker applies it at its next pass.")
                        % {"changes": "; ".join(changes)},
                    )
                else:
                    messages.info(request, _("Nothing changed."))
                return redirect("reports:cadence", account_pk=account.pk)
        status = 400
    return render(
        request,
        "reports/cadence.html",
        {
            "account": account,
            "form": form,
        },
        status=status,
    )


@require_GET
def cadence_summary(request: HttpRequest, account_pk: int) -> HttpResponse:
    """The cadences as one line each, for the account's card in Settings (an htmx fragment)."""
    account = get_object_or_404(SellerAccount, pk=account_pk)
    if not request.htmx:
        return redirect("reports:cadence", account_pk=account.pk)
    return render(
        request,
        "reports/cadence.html#summary",
        {"account": account, "cadences": cadences.account_cadences(account)},
    )
