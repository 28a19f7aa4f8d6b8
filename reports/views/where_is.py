"""Where is order X? The explanation page, and the request that fills a coverage gap."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from amazon_settings.exceptions import AccountNotConnected
from reports.catalog import BY_KEY
from reports.diagnosis.results import describe_range
from reports.exceptions import InvalidReportRequest
from reports.forms.where_is import GapRequestForm, WhereIsForm
from reports.services import requesting
from reports.where_is import where_is_order


@require_GET
def where_is(request: HttpRequest) -> HttpResponse:
    form = WhereIsForm(request.GET or None)
    explanation = None
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        explanation = where_is_order(
            amazon_order_id=data["order_id"], day=data["date"], account=data["account"]
        )
        if len(explanation.orders) == 1:
            order = explanation.orders[0]
            messages.info(
                request, _("Order %(order_id)s is imported.") % {"order_id": order.amazon_order_id}
            )
            return redirect("orders:detail", pk=order.pk)
    return render(
        request,
        "reports/where_is.html",
        {"form": form, "explanation": explanation},
        status=400 if form.is_bound and form.errors else 200,
    )


@require_POST
def where_is_request(request: HttpRequest) -> HttpResponse:
    """Request the order reports of one gap; Processing then shows the new batch."""
    form = GapRequestForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The gap to request was not understood; reload and try again."))
        return redirect("reports:where_is")
    data = form.cleaned_data
    account = data["account"]
    marketplace_ids = account.marketplaces.selected_ids()
    back = reverse("reports:where_is")
    if data["order_id"]:
        query = {"order_id": data["order_id"], "date": data["date"] or ""}
        back = f"{back}?{urlencode(query)}"
    if not marketplace_ids:
        messages.error(
            request,
            _("Choose the marketplaces of %(account)s in Settings first.")
            % {"account": account.display_name},
        )
        return redirect(back)
    try:
        reports = requesting.request_reports(
            account,
            kind_key=data["kind"],
            marketplace_ids=marketplace_ids,
            start=data["start"],
            end=data["end"],
            acting_user=request.user,
        )
    except (InvalidReportRequest, AccountNotConnected) as error:
        messages.error(request, str(error))
        return redirect(back)
    messages.success(
        request,
        ngettext(
            "%(count)s report (%(kind)s) requested for %(range)s. The worker imports it within "
            "minutes; search the order again then.",
            "%(count)s reports (%(kind)s) requested for %(range)s. The worker imports them within "
            "minutes; search the order again then.",
            len(reports),
        )
        % {
            "count": len(reports),
            "kind": BY_KEY[data["kind"]].name,
            "range": describe_range(data["start"], data["end"]),
        },
    )
    batch = reports[0].batch if reports else ""
    return redirect(f"{reverse('reports:processing')}?batch={batch}")
