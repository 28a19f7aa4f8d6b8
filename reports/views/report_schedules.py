"""Data exchange » Scheduled reports: Amazon's schedules per account, create and cancel."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from amazon_settings.exceptions import AmazonSettingsError
from amazon_settings.models import SellerAccount
from reports.exceptions import ReportsError
from reports.forms.report_schedules import ScheduleCreateForm
from reports.services import report_schedules


def _schedule_form(account: SellerAccount, data: Any = None) -> ScheduleCreateForm:
    return ScheduleCreateForm(
        data,
        prefix=f"account-{account.pk}",
        report_types=_schedulable_choices(account),
        marketplaces=list(account.marketplaces.all()),
        action=reverse("reports:schedule_create", args=[account.pk]),
    )


def _schedulable_choices(account: SellerAccount) -> list[tuple[str, str]]:
    return [
        (report_type, f"{label} · {report_type}")
        for report_type, label in report_schedules.schedulable_report_types(account.region)
    ]


@require_GET
def schedules(request: HttpRequest) -> HttpResponse:
    """Per connected account: Amazon's schedules for the catalogue's types, and a create form."""
    panels = []
    for account in SellerAccount.objects.connected().prefetch_related("marketplaces"):
        names = {m.marketplace_id: m.name for m in account.marketplaces.all()}
        panel: dict[str, Any] = {"account": account, "form": _schedule_form(account)}
        try:
            listed = report_schedules.list_report_schedules(account)
        except AmazonSettingsError as error:
            messages.error(request, f"{account.display_name}: {error}")
            panel["error"] = str(error)
        else:
            panel["schedules"] = [
                {
                    "schedule": schedule,
                    "label": report_schedules.report_type_label(schedule.report_type),
                    "period": report_schedules.PERIOD_LABELS.get(schedule.period, schedule.period),
                    "marketplaces": [names.get(m, m) for m in schedule.marketplace_ids],
                }
                for schedule in listed
            ]
        panels.append(panel)
    return render(request, "reports/schedules.html", {"panels": panels})


def _back_to_schedules(account: SellerAccount) -> HttpResponse:
    return redirect(f"{reverse('reports:schedules')}#account-{account.pk}")


@require_POST
def schedule_create(request: HttpRequest, account_pk: int) -> HttpResponse:
    account = get_object_or_404(SellerAccount, pk=account_pk)
    form = _schedule_form(account, request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            messages.error(request, f"{label}: {' '.join(errors)}" if label else " ".join(errors))
        return _back_to_schedules(account)
    try:
        schedule_id = report_schedules.create_report_schedule(
            account, acting_user=request.user, **form.cleaned_data
        )
    except (AmazonSettingsError, ReportsError) as error:
        messages.error(request, str(error))
    else:
        data = form.cleaned_data
        messages.success(
            request,
            _(
                "Amazon creates %(report_type)s %(period)s (schedule %(schedule_id)s); the worker "
                "imports each report it finds."
            )
            % {
                "report_type": report_schedules.report_type_label(data["report_type"]),
                "period": report_schedules.period_phrase(data["period"]),
                "schedule_id": schedule_id,
            },
        )
    return _back_to_schedules(account)


@require_POST
def schedule_cancel(request: HttpRequest, account_pk: int, schedule_id: str) -> HttpResponse:
    account = get_object_or_404(SellerAccount, pk=account_pk)
    try:
        report_schedules.cancel_report_schedule(
            account, report_schedule_id=schedule_id, acting_user=request.user
        )
    except AmazonSettingsError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("Schedule %(schedule_id)s is cancelled on Amazon.") % {"schedule_id": schedule_id},
        )
    return _back_to_schedules(account)
