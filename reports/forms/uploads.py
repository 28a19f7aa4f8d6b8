"""Reports » Upload: the file, its account and report type."""

from __future__ import annotations

from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Layout, Row
from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from amazon_settings.models import SellerAccount
from core.forms import button_column, submit_button
from reports.catalog import CATALOG, GROUPS
from reports.services import uploads


def report_type_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Every importable report type, twins included, grouped MFN / FBA / VCS."""
    return [
        (
            group,
            [
                (report_type, f"{kind.name} · {report_type}")
                for kind in CATALOG
                if kind.group == group
                for report_type in kind.all_report_types
            ],
        )
        for group in GROUPS
    ]


class UploadForm(forms.Form):
    """The file, whose account and report type it is, and whether to only preview it."""

    account = forms.ModelChoiceField(
        label=_("Account"),
        queryset=SellerAccount.objects.order_by("display_name"),
        empty_label=None,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    report_type = forms.ChoiceField(
        label=_("Report type"),
        choices=report_type_choices,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    file = forms.FileField(
        label=_("Report file"),
        help_text=_("As downloaded from Seller Central: tab-separated, XML or CSV; gzip is fine."),
        widget=forms.ClearableFileInput(attrs={"class": "form-control"}),
    )
    preview = forms.BooleanField(
        label=_("Preview only (count what would be imported; store nothing)"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_id = "upload-form"
        self.helper.form_action = "reports:upload"
        self.helper.label_class = "small"
        self.helper.layout = Layout(
            Row(
                Column("account", css_class="col-md-3"),
                Column("report_type", css_class="col-md-4"),
                Column("file", css_class="col-md-3"),
                button_column(
                    submit_button(
                        format_lazy('<i class="bi bi-upload"></i> {}', _("Import")),
                        css_class="btn-primary w-100",
                    ),
                    css_class="col-md-2",
                ),
                Column("preview", css_class="col-12"),
                css_class="g-2",
            )
        )

    def clean_file(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["file"]
        if upload.size is not None and upload.size > uploads.max_upload_bytes():
            raise forms.ValidationError(uploads.too_large_message(upload.size))
        return upload
