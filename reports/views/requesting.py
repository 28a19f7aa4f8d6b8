"""Reports » Request: the form, its htmx preview, and the requests it creates."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from amazon_settings.exceptions import AccountNotConnected
from reports.catalog import BY_KEY
from reports.exceptions import InvalidReportRequest
from reports.forms.requesting import ReportRequestForm
from reports.services import requesting


@require_http_methods(["GET", "POST"])
def request_page(request: HttpRequest) -> HttpResponse:
    """The request form; on success the reports are created and Processing shows the batch.

    A preset link under the dates (`?range=30&account=…&kind=…`) opens the form with that
    range, for browsers without script; with script, static/js/app.js fills the dates in."""
    if request.method == "POST":
        form = ReportRequestForm(request.POST)
    else:
        form = ReportRequestForm(preset=request.GET.get("range", ""), initial=_chosen(request))
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        started = timezone.now()
        try:
            reports = requesting.request_reports(
                data["account"],
                kind_key=data["kind"],
                marketplace_ids=data["marketplace_ids"],
                start=data["start"],
                end=data["end"],
                acting_user=request.user,
            )
        except InvalidReportRequest as error:
            form.add_service_error(error)
        except AccountNotConnected as error:
            form.add_error("account", str(error))
        else:
            created = [report for report in reports if report.created_at >= started]
            messages.success(request, _request_message(len(created), len(reports) - len(created)))
            url = reverse("reports:processing")
            return redirect(f"{url}?batch={created[0].batch}" if created else url)
    return render(
        request,
        "reports/request.html",
        {"form": form, "preview": form.split_preview() if form.is_bound else None},
        status=400 if form.is_bound else 200,
    )


def _chosen(request: HttpRequest) -> dict[str, str]:
    """The account and report type a preset link carries, if they are ones the form knows."""
    chosen = {}
    if request.GET.get("account", "").isdigit():
        chosen["account"] = request.GET["account"]
    if request.GET.get("kind", "") in BY_KEY:
        chosen["kind"] = request.GET["kind"]
    return chosen


def _request_message(created: int, reused: int) -> str:
    return ngettext(
        "%(created)d report created, %(reused)d reused (the same range was already requested "
        "or made by Amazon). The worker sends new reports to Amazon within minutes.",
        "%(created)d reports created, %(reused)d reused (the same range was already requested "
        "or made by Amazon). The worker sends new reports to Amazon within minutes.",
        created,
    ) % {"created": created, "reused": reused}


@require_POST
def request_preview(request: HttpRequest) -> HttpResponse:
    """htmx: how the chosen range will be sent, re-computed whenever the form changes."""
    form = ReportRequestForm(request.POST)
    return render(request, "reports/_request_preview.html", {"preview": form.split_preview()})
