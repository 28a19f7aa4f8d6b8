"""Fields and choices the reports forms share."""

from __future__ import annotations

from typing import Any

from django import forms

from core.forms import BoundedDateTimeField
from reports.catalog import BY_KEY, CATALOG, GROUPS

DATETIME_LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
DATETIME_LOCAL_INPUTS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]


def datetime_local_field(label: str, *, required: bool = True) -> forms.DateTimeField:
    """A `datetime-local` input, read in the current time zone (settings.TIME_ZONE)."""
    return BoundedDateTimeField(
        label=label,
        required=required,
        input_formats=DATETIME_LOCAL_INPUTS,
        widget=forms.DateTimeInput(
            attrs={"type": "datetime-local", "class": "form-control"},
            format=DATETIME_LOCAL_FORMAT,
        ),
    )


class KindSelect(forms.Select):
    """The report type select: options grouped MFN / FBA / VCS, each carrying its description."""

    def create_option(self, name: str, value: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(name, value, *args, **kwargs)
        kind = BY_KEY.get(str(value))
        if kind is not None:
            option["attrs"]["data-description"] = kind.description
        return option


def kind_choices(*, offered_only: bool = True) -> list[tuple[str, list[tuple[str, str]]]]:
    """The catalogue as grouped choices: one `<optgroup>` per group (MFN, FBA, VCS, Status).
    With `offered_only`, the kinds a seller may request: the status report, which the worker
    requests alone, is left out."""
    grouped = [
        (
            group,
            [
                (kind.key, kind.name)
                for kind in CATALOG
                if kind.group == group and (kind.offered or not offered_only)
            ],
        )
        for group in GROUPS
    ]
    return [(group, choices) for group, choices in grouped if choices]
