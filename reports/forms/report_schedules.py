"""Data exchange » Scheduled reports: a new Amazon-side schedule."""

from __future__ import annotations

from typing import Any

from crispy_forms.bootstrap import InlineCheckboxes
from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Column, Layout, Row
from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from amazon_settings.models import AccountMarketplace
from core.forms import submit_button
from reports.services.report_schedules import SCHEDULE_PERIODS


class ScheduleCreateForm(forms.Form):
    """Data exchange » Scheduled reports: a new Amazon-side schedule for one account."""

    report_type = forms.ChoiceField(
        label=_("Report type"), choices=(), widget=forms.Select(attrs={"class": "form-select"})
    )
    period = forms.ChoiceField(
        label=_("Period"),
        choices=SCHEDULE_PERIODS,
        initial="P1D",
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    marketplace_ids = forms.MultipleChoiceField(
        label=_("Marketplaces"),
        choices=(),
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        error_messages={"required": _("Choose at least one marketplace.")},
    )

    def __init__(
        self,
        *args: Any,
        report_types: list[tuple[str, str]],
        marketplaces: list[AccountMarketplace],
        action: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["report_type"].choices = report_types
        self.fields["marketplace_ids"].choices = [(m.marketplace_id, m.name) for m in marketplaces]
        self.fields["marketplace_ids"].initial = [
            m.marketplace_id for m in marketplaces if m.selected
        ]
        self.marketplaces = marketplaces
        self.helper = FormHelper()
        self.helper.form_action = action
        self.helper.form_class = "schedule-create"
        self.helper.attrs = {"novalidate": ""}
        self.helper.label_class = "small"
        # In a template file, where makemessages finds its text.
        none_known = HTML('{% include "reports/_schedule_no_marketplaces.html" %}')
        self.helper.layout = Layout(
            Row(
                Column("report_type", css_class="col-md-5"),
                Column("period", css_class="col-md-3"),
                Column(
                    InlineCheckboxes("marketplace_ids") if marketplaces else none_known,
                    css_class="col-md-4",
                ),
                css_class="g-2",
            ),
            submit_button(
                format_lazy(
                    '<i class="bi bi-calendar-plus"></i> {}', _("Create schedule on Amazon")
                )
            ),
        )
