"""Data exchange » Scheduled reports: a new Amazon-side schedule."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from amazon_settings.models import AccountMarketplace
from reports.services.report_schedules import SCHEDULE_PERIODS


class ScheduleCreateForm(forms.Form):
    """Data exchange » Scheduled reports: a new Amazon-side schedule for one account."""

    report_type = forms.ChoiceField(
        label=_("Report type"), choices=(), widget=forms.Select(attrs={"class": "form-select"})
    )
    period = forms.ChoiceField(
        choices=SCHEDULE_PERIODS,
        initial="P1D",
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    marketplace_ids = forms.MultipleChoiceField(
        label=_("Marketplaces"),
        choices=(),
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        error_messages={"required": "Choose at least one marketplace."},
    )

    def __init__(
        self,
        *args: Any,
        report_types: list[tuple[str, str]],
        marketplaces: list[AccountMarketplace],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["report_type"].choices = report_types
        self.fields["marketplace_ids"].choices = [(m.marketplace_id, m.name) for m in marketplaces]
        self.fields["marketplace_ids"].initial = [
            m.marketplace_id for m in marketplaces if m.selected
        ]
        self.marketplaces = marketplaces
