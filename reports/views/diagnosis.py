""" "Orders missing?": the diagnosis page per account, its coverage timeline, and its fixes."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import (
    HttpResponseClientRedirect,
    HttpResponseStopPolling,
    reswap,
    retarget,
)

from amazon_settings.exceptions import AccountNotConnected
from amazon_settings.models import SellerAccount
from amazon_settings.selectors import connection_status
from core.templatetags.moments import day
from reports import coverage
from reports.diagnosis.connection_test import account_connection_test, connection_test_status
from reports.diagnosis.guide import diagnose_account
from reports.diagnosis.results import describe_range
from reports.exceptions import InvalidReportRequest
from reports.forms.diagnosis import GapRequestForm, ImportStartForm
from reports.models import ConnectionTest
from reports.services import connection_tests, requesting


def _import_start_form(account: SellerAccount) -> ImportStartForm:
    return ImportStartForm(
        account=account,
        action=reverse("reports:diagnosis_import_start", args=[account.pk]),
    )


@require_GET
def diagnosis_chooser(request: HttpRequest) -> HttpResponse:
    """Which account to diagnose; with only one account, its page directly."""
    accounts = list(SellerAccount.objects.order_by("display_name", "pk"))
    if len(accounts) == 1:
        return redirect("reports:diagnosis", account_pk=accounts[0].pk)
    return render(
        request,
        "reports/diagnosis_chooser.html",
        {"rows": [(account, connection_status(account)) for account in accounts]},
    )


def _checks_context(account: SellerAccount, test: ConnectionTest | None) -> dict:
    """What the block of checks shows: the checks, with the test call's answers once the
    worker has them, and where the test call stands."""
    now = timezone.now()
    status = connection_test_status(test, now=now)
    result = diagnose_account(account, tests=status.checks if status else (), now=now)
    return {"diagnosis": result, "account": account, "connection_test": status}


@require_GET
def diagnosis_page(request: HttpRequest, account_pk: int) -> HttpResponse:
    """Show the guide's checks for one account at once. The test call to Amazon is queued for
    the worker (or a recent one reused); the page polls `diagnosis_connection_test` for it."""
    account = get_object_or_404(SellerAccount, pk=account_pk)
    test = connection_tests.request_connection_test(account)
    context = _checks_context(account, test)
    coverages = context["diagnosis"].coverages
    return render(
        request,
        "reports/diagnosis.html",
        {
            **context,
            "accounts": SellerAccount.objects.order_by("display_name", "pk"),
            "import_start": coverage.import_start(account),
            "import_form": _import_start_form(account),
            "coverages": coverages,
            "poll": any(c.pending_reports for c in coverages),
        },
    )


@require_GET
def diagnosis_connection_test(request: HttpRequest, account_pk: int) -> HttpResponse:
    """htmx: where the page's test call stands. While the worker is on it, the notice again;
    once Amazon answered (or the worker is overdue), the checks with the answers in place of
    the whole block, and polling stops (286)."""
    account = get_object_or_404(SellerAccount, pk=account_pk)
    if not request.htmx:
        return redirect("reports:diagnosis", account_pk=account.pk)
    test = account_connection_test(account)
    status = connection_test_status(test, now=timezone.now())
    if status is not None and status.waiting:
        return render(
            request,
            "reports/_connection_test.html",
            {"account": account, "test": status},
        )
    content = render_to_string(
        "reports/_diagnosis_checks.html", _checks_context(account, test), request=request
    )
    return reswap(retarget(HttpResponseStopPolling(content), "#diagnosis-checks"), "outerHTML")


@require_GET
def diagnosis_coverage(request: HttpRequest, account_pk: int) -> HttpResponse:
    """htmx: the account's coverage timeline, fresh. Polling stops (286) once nothing is
    pending."""
    account = get_object_or_404(SellerAccount, pk=account_pk)
    if not request.htmx:
        return redirect("reports:diagnosis", account_pk=account.pk)
    coverages = coverage.account_coverage(account)
    poll = any(c.pending_reports for c in coverages)
    content = render_to_string(
        "reports/_coverage.html",
        {
            "account": account,
            "coverages": coverages,
            "poll": poll,
            "compact": request.GET.get("compact") == "1",
        },
        request=request,
    )
    return HttpResponse(content) if poll else HttpResponseStopPolling(content)


def _back(request: HttpRequest, account: SellerAccount) -> HttpResponse:
    url = reverse("reports:diagnosis", args=[account.pk])
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@require_POST
def diagnosis_request_gap(request: HttpRequest, account_pk: int) -> HttpResponse:
    """Request a missing range (a click on a gap); the worker sends the reports."""
    account = get_object_or_404(SellerAccount, pk=account_pk)
    form = GapRequestForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("That range cannot be requested: reload the page and try again."))
        return _back(request, account)
    data = form.cleaned_data
    try:
        reports = requesting.request_missing_range(
            account,
            kind_key=data["kind"],
            start=data["start"],
            end=data["end"],
            acting_user=request.user,
        )
    except (InvalidReportRequest, AccountNotConnected) as error:
        messages.error(request, str(error))
    else:
        count = len(reports)
        messages.success(
            request,
            ngettext(
                "%(count)s report requested for %(range)s; the worker sends it to Amazon and "
                "imports the orders. Nothing is doubled.",
                "%(count)s reports requested for %(range)s; the worker sends them to Amazon and "
                "imports the orders. Nothing is doubled.",
                count,
            )
            % {"count": count, "range": describe_range(data["start"], data["end"])},
        )
    return _back(request, account)


@require_POST
def diagnosis_import_start(request: HttpRequest, account_pk: int) -> HttpResponse:
    """Set the account's "import orders from" date."""
    account = get_object_or_404(SellerAccount, pk=account_pk)
    form = ImportStartForm(request.POST)
    if form.is_valid():
        try:
            requesting.set_import_start(account, start=form.start(), acting_user=request.user)
        except InvalidReportRequest as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request,
                (
                    _(
                        "Orders of %(account)s are imported from %(day)s. The worker requests "
                        "what is missing."
                    )
                    if account.order_import_active
                    else _(
                        "Orders of %(account)s are imported from %(day)s. Request the missing "
                        "ranges below, or switch order import on."
                    )
                )
                % {
                    "account": account.display_name,
                    "day": day(form.cleaned_data["import_orders_from"]),
                },
            )
    else:
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
    return _back(request, account)
