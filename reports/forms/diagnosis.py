""" "Orders missing?": a gap to request, and the import start date."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from amazon_settings.forms import ImportStartForm
from reports.catalog import CATALOG

__all__ = ["GapRequestForm", "ImportStartForm"]


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
            self.add_error("end", _("The end must be after the start."))
        return data
