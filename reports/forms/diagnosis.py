""" "Orders missing?": a gap to request, and the import start date."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Field, Layout
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.forms import BoundedDateField, submit_button
from reports.catalog import CATALOG


class GapRequestForm(forms.Form):
    """A range of one order report type to request (a gap on the timeline)."""

    kind = forms.ChoiceField(
        choices=[(k.key, k.name) for k in CATALOG if k.imports_orders and k.requestable]
    )
    # ISO 8601 with an offset, as the page writes them; Django's DateTimeField reads those.
    start = forms.DateTimeField()
    end = forms.DateTimeField()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            self.add_error("end", "The end must be after the start.")
        return data


class ImportStartForm(forms.Form):
    """Since when the account's orders are imported (a local calendar day)."""

    import_orders_from = BoundedDateField(
        label=_("Import orders from"),
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control form-control-sm"}),
    )

    def __init__(self, *args: Any, action: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # One line in a card's header: the label beside the field (static/css/app.css).
        self.helper = FormHelper()
        self.helper.form_id = "import-start-form"
        self.helper.form_action = action
        self.helper.form_class = "d-flex gap-2 align-items-center inline-form"
        self.helper.label_class = "col-form-label-sm text-nowrap"
        self.helper.layout = Layout(
            Field("import_orders_from", wrapper_class="d-flex gap-2 align-items-center"),
            submit_button(_("Save"), css_class="btn-sm btn-outline-primary"),
        )

    def clean_import_orders_from(self) -> Any:
        day = self.cleaned_data["import_orders_from"]
        if day > timezone.localdate():
            raise forms.ValidationError("The date cannot be in the future.")
        return day

    def start(self) -> datetime:
        return timezone.make_aware(
            datetime.combine(self.cleaned_data["import_orders_from"], time())
        )
