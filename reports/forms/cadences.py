"""Settings » Report cadence, and the question the consent page returns to: from when to import."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Div, Field, Layout
from django import forms
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import capfirst, format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.forms import BoundedDateField, submit_button
from reports.catalog import ReportKind
from reports.services.cadences import PERIODS, CadenceView, cadence_problem, interval_label

OFF = "off"
INTERVALS = dict(PERIODS)


class StartImportForm(forms.Form):
    """From which day to import the orders of a newly connected account (a local calendar day,
    no earlier than Amazon keeps the region's order reports)."""

    import_orders_from = BoundedDateField(
        label=_("Import orders from"),
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}),
    )

    def __init__(
        self, *args: Any, earliest: date, settings_url: str, can_start: bool, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.earliest = earliest
        self.fields["import_orders_from"].widget.attrs.update(
            min=earliest.isoformat(), max=timezone.localdate().isoformat()
        )
        # A Viewer sees the question but no button (the view refuses their POST anyway).
        start = submit_button(
            format_lazy('<i class="bi bi-play-fill"></i> {}', _("Start importing"))
        )
        self.helper = FormHelper()
        self.helper.form_id = "start-import-form"
        self.helper.form_class = "d-flex flex-wrap gap-2 align-items-start"
        self.helper.attrs = {"novalidate": ""}
        self.helper.layout = Layout(
            "import_orders_from",
            Div(
                *([start] if can_start else []),
                HTML(
                    format_lazy(
                        '<a class="btn btn-outline-secondary" href="{}">{}</a>',
                        settings_url,
                        _("Not now"),
                    )
                ),
                css_class="align-self-end d-flex gap-2 mb-3",
            ),
        )

    def clean_import_orders_from(self) -> date:
        day = self.cleaned_data["import_orders_from"]
        if day > timezone.localdate():
            raise forms.ValidationError(_("The date cannot be in the future."))
        if day < self.earliest:
            raise forms.ValidationError(
                _(
                    "Amazon keeps these order reports back to %(day)s: choose that day or a "
                    "later one."
                ),
                params={"day": date_format(self.earliest)},
            )
        return day

    def start(self) -> datetime:
        return timezone.make_aware(
            datetime.combine(self.cleaned_data["import_orders_from"], time())
        )


class CadenceForm(forms.Form):
    """One select per report type the account imports by itself: off, or one of Amazon's
    schedule periods. A period Amazon or the worker cannot keep for a type is a field error."""

    def __init__(
        self, *args: Any, cadences: list[CadenceView], disabled: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.kinds: dict[str, ReportKind] = {}
        # The row of each field, read by the layout's parts around it (`form.views.<key>`).
        self.views: dict[str, CadenceView] = {}
        for view in cadences:
            kind = view.kind
            self.kinds[kind.key] = kind
            choices = [(OFF, gettext("Off"))]
            for period, interval in PERIODS:
                label = capfirst(interval_label(interval))
                if interval == kind.default_cadence:
                    label = gettext("%(period)s (default)") % {"period": label}
                choices.append((period, label))
            self.views[kind.key] = view
            self.fields[kind.key] = forms.ChoiceField(
                label=kind.name,
                choices=choices,
                initial=_value(view.interval),
                disabled=disabled,
                widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
            )
        self.helper = self._helper()

    def _helper(self) -> FormHelper:
        """A table: a row per report type, its select in the second column (its label, the
        type's name, is in the first one for the eye and hidden beside the select)."""
        helper = FormHelper()
        helper.form_id = "cadence-form"
        helper.attrs = {"novalidate": ""}
        helper.label_class = "visually-hidden"
        rows: list[Any] = []
        for key in self.views:
            rows += [
                HTML(_row_part(key, "reports/_cadence_row_start.html")),
                Field(key, wrapper_class="mb-0"),
                HTML(_row_part(key, "reports/_cadence_row_end.html")),
            ]
        helper.layout = Layout(
            HTML('{% include "reports/_cadence_table_start.html" %}'),
            *rows,
            HTML("</tbody></table></div>"),
            # In a template file, where makemessages finds its text.
            HTML('{% include "reports/_cadence_submit.html" %}'),
        )
        return helper

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for key, kind in self.kinds.items():
            if key not in data:
                continue
            interval = None if data[key] == OFF else INTERVALS[data[key]]
            if problem := cadence_problem(kind, interval):
                self.add_error(key, problem)
            else:
                data[key] = interval
        return data

    def intervals(self) -> dict[str, timedelta | None]:
        """The chosen cadence per kind key (None: off), once the form is valid."""
        return {key: self.cleaned_data[key] for key in self.kinds}


def _row_part(key: str, template: str) -> str:
    """A layout part that renders `template` with the view of report type `key`."""
    return f'{{% with view=form.views.{key} %}}{{% include "{template}" %}}{{% endwith %}}'


def _value(interval: timedelta | None) -> str:
    if interval is None:
        return OFF
    return next((period for period, value in PERIODS if value == interval), OFF)
