"""Reports » Processing: the report list, its polling rows and the row actions."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.humanize.templatetags.humanize import intcomma
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling

from amazon_settings.exceptions import AmazonSettingsError
from core.pagination import LimitedCountPaginator
from reports import selectors
from reports.catalog import kind_for_report_type, short_name_for
from reports.exceptions import ReportActionNotAllowed
from reports.forms.processing import ProcessingFilterForm, ReportActionForm
from reports.models import Report
from reports.services import actions
from reports.stored_texts import translate_stored

PAGE_SIZE = 50
# The folded line of empty automatic reports counts up to this many, and lists the newest
# this many when opened (the rest are one filter away).
EMPTY_COUNT_LIMIT = 1000
EMPTY_LIST_SIZE = 50

Status = Report.ImportStatus
Amazon = Report.AmazonStatus


IMPORT_TONES = {
    Status.QUEUED: "secondary",
    Status.WAITING: "info",
    Status.DOWNLOADING: "primary",
    Status.IMPORTING: "primary",
    Status.IMPORTED: "success",
    Status.NO_DATA: "light",
    Status.FAILED: "danger",
    Status.CANCELLED: "secondary",
    Status.SKIPPED: "dark",
    Status.HELD: "warning",
}


AMAZON_TONES = {
    Amazon.NONE: "light",
    Amazon.IN_QUEUE: "secondary",
    Amazon.IN_PROGRESS: "info",
    Amazon.DONE: "success",
    Amazon.CANCELLED: "warning",
    Amazon.FATAL: "danger",
}


# The row actions and the service each one calls (looked up at call time).
ACTION_SERVICES = {
    "reset": "reset_report",
    "cancel": "cancel_report",
    "skip": "skip_report",
    "confirm": "confirm_held_report",
}


class ReportUrls:
    """The URLs a Processing row links to, each reversed once per page rather than per row.

    A row links to up to six URLs, and `reverse()` walks the URLconf each time: per row, that
    shows in the page's time. Each is reversed here with a placeholder pk and split around it,
    so the URLconf stays the only place that spells them.
    """

    NAMES = ("detail", "row", "reset", "cancel", "skip", "confirm")
    _PLACEHOLDER = "2147483647"

    def __init__(self) -> None:
        self._parts = {}
        for name in self.NAMES:
            prefix, _, suffix = reverse(f"reports:{name}", args=[self._PLACEHOLDER]).partition(
                self._PLACEHOLDER
            )
            self._parts[name] = (prefix, suffix)

    def for_report(self, pk: int) -> dict[str, str]:
        """Name → URL of the report `pk`, as `reverse(f"reports:{name}", args=[pk])`."""
        return {name: f"{prefix}{pk}{suffix}" for name, (prefix, suffix) in self._parts.items()}


@dataclass(frozen=True)
class ReportRow:
    """What one Processing row (and the details header) shows about a report."""

    report: Report
    kind_name: str
    short_name: str  # the catalogue's short name; Amazon's code goes in its tooltip
    import_tone: str
    amazon_tone: str
    problem: str
    renew_access: bool
    highlighted: bool
    actions: tuple[str, ...]  # actions.applicable_actions: what the row's menu offers
    urls: dict[str, str]  # ReportUrls.for_report

    @classmethod
    def of(
        cls, report: Report, *, highlighted: bool = False, urls: ReportUrls | None = None
    ) -> ReportRow:
        """`urls`: a page's ReportUrls, to share between its rows."""
        kind = kind_for_report_type(report.report_type)
        renew_access = report.failure_reason == Report.FailureReason.AUTH
        if renew_access:
            problem = _("Amazon denied access: renew access in Settings")
        elif report.import_status == Status.NO_DATA or (
            report.amazon_status == Amazon.CANCELLED and report.import_status != Status.CANCELLED
        ):
            problem = _("Amazon found no data in this range")
        elif report.amazon_status == Amazon.FATAL:
            problem = translate_stored(report.last_error) or _(
                "Amazon could not create this report."
            )
        elif report.import_interrupted and not report.last_error:
            problem = _("Interrupted after line %(line)s of %(lines)s: resuming from there.") % {
                "line": intcomma(report.imported_through_line),
                "lines": intcomma(report.rows_total + 1),
            }
        else:
            problem = translate_stored(report.last_error)
        return cls(
            report=report,
            kind_name=kind.name if kind else report.report_type,
            short_name=short_name_for(report.report_type),
            import_tone=IMPORT_TONES.get(report.import_status, "secondary"),
            amazon_tone=AMAZON_TONES.get(report.amazon_status, "light"),
            problem=problem,
            renew_access=renew_access,
            highlighted=highlighted,
            actions=actions.applicable_actions(report, now=timezone.now()),
            urls=(urls or ReportUrls()).for_report(report.pk),
        )


@require_GET
def processing(request: HttpRequest) -> HttpResponse:
    form = ProcessingFilterForm(request.GET or None)
    filters = form.selector_filters() if form.is_bound else {}
    batch = form.cleaned_data.get("batch", "") if form.is_bound and form.is_valid() else ""
    # Automatic reports that ended without data are one line, unless asked for by status.
    fold = filters.get("import_status", "") in ("", "unfinished")
    # No COUNT(*) over every report per page (core/pagination.py).
    page = LimitedCountPaginator(
        selectors.report_list(**filters, fold_empty_automatic=fold), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    empty = 0
    if fold and filters.get("import_status", "") == "":
        empty = selectors.count_up_to(
            selectors.empty_automatic_reports(**filters), EMPTY_COUNT_LIMIT
        )
    query = request.GET.copy()
    query.pop("page", None)
    empty_query = query.copy()
    empty_query["status"] = Status.NO_DATA
    urls = ReportUrls()
    return render(
        request,
        "reports/processing.html",
        {
            "form": form,
            "page": page,
            "rows": [
                ReportRow.of(r, highlighted=bool(batch) and r.batch == batch, urls=urls)
                for r in page
            ],
            "empty_count": empty,
            "empty_more": empty > EMPTY_COUNT_LIMIT,
            "empty_query": empty_query.urlencode(),
            "query": query.urlencode(),
            "next": request.get_full_path(),
        },
    )


@require_GET
def empty_reports(request: HttpRequest) -> HttpResponse:
    """htmx: the folded line's content, the newest automatic reports that ended without data
    under the page's filters. Without htmx, the Processing list filtered to them."""
    form = ProcessingFilterForm(request.GET or None)
    filters = form.selector_filters() if form.is_bound else {}
    if not request.htmx:
        query = request.GET.copy()
        query["status"] = Status.NO_DATA
        return redirect(f"{reverse('reports:processing')}?{query.urlencode()}")
    reports = list(selectors.empty_automatic_reports(**filters)[:EMPTY_LIST_SIZE])
    return render(
        request,
        "reports/processing.html#empty-reports",
        {
            "empty_reports": [(report, short_name_for(report.report_type)) for report in reports],
            "empty_list_size": EMPTY_LIST_SIZE,
        },
    )


@require_GET
def report_row(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx polling: one row, fresh. A finished row answers 286, so htmx stops polling it."""
    report = get_object_or_404(selectors.report_list(), pk=pk)
    if not request.htmx:
        return redirect("reports:detail", pk=report.pk)
    context = {
        "row": ReportRow.of(report, highlighted=request.GET.get("highlight") == "1"),
        "next": request.htmx.current_url_abs_path or reverse("reports:processing"),
    }
    content = render_to_string("reports/processing.html#report-row", context, request=request)
    if report.is_finished:
        return HttpResponseStopPolling(content)
    return HttpResponse(content)


@require_POST
def report_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Reset, cancel, skip or confirm one report through its service; the result is a message."""
    report = get_object_or_404(Report.objects.select_related("account"), pk=pk)
    form = ReportActionForm(request.POST)
    service = getattr(actions, ACTION_SERVICES[action])
    try:
        result = service(report, acting_user=request.user)
    except (ReportActionNotAllowed, AmazonSettingsError) as error:
        messages.error(request, str(error))
    else:
        messages.success(request, result.message)
    target = form.cleaned_data["next"] if form.is_valid() else ""
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("reports:processing")
    return redirect(target)
