"""Reports » Processing: the filters, and a row action's POST."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from amazon_settings.models import SellerAccount
from core.forms import filter_bar
from reports.catalog import BY_KEY
from reports.forms.fields import datetime_local_field, kind_choices
from reports.models import Report

STATUS_CHOICES = [
    ("", _("All statuses")),
    ("unfinished", _("Unfinished")),
    *Report.ImportStatus.choices,
]


class ProcessingFilterForm(forms.Form):
    """The GET filters of Reports » Processing."""

    account = forms.ModelChoiceField(
        label=_("Account"),
        queryset=SellerAccount.objects.all(),
        required=False,
        empty_label=_("All accounts"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    kind = forms.ChoiceField(
        label=_("Report type"),
        required=False,
        choices=lambda: [("", _("All report types")), *kind_choices(offered_only=False)],
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=STATUS_CHOICES,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    since = datetime_local_field(_("Created from"), required=False)
    until = datetime_local_field(_("Created until"), required=False)
    batch = forms.CharField(required=False, max_length=32, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # `batch` (the link from "N empty automatic reports") is not part of the bar.
        self.helper = filter_bar(
            form_id="report-filters",
            # Side by side from 992 px; the button on a line of its own below.
            columns=[
                ("account", "col-12 col-sm-6 col-lg"),
                ("kind", "col-12 col-sm-6 col-lg"),
                ("status", "col-12 col-sm-4 col-lg"),
                ("since", "col-6 col-sm-4 col-lg"),
                ("until", "col-6 col-sm-4 col-lg"),
            ],
            button_class="col-12 col-lg-auto",
            breakpoint="lg",
            small=False,
        )

    def selector_filters(self) -> dict[str, Any]:
        """Keyword arguments for `selectors.report_list`; empty when the filters are invalid."""
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        kind = BY_KEY.get(data["kind"])
        return {
            "account": data["account"],
            "report_types": list(kind.all_report_types) if kind else None,
            "import_status": data["status"],
            "since": data["since"],
            "until": data["until"],
        }


class ReportActionForm(forms.Form):
    """A row action's POST: only where to go back to."""

    next = forms.CharField(required=False, max_length=2000)
