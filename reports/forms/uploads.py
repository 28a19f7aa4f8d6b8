"""Reports » Upload: the file, its account and report type."""

from __future__ import annotations

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from amazon_settings.models import SellerAccount
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

    def clean_file(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["file"]
        if upload.size is not None and upload.size > uploads.max_upload_bytes():
            raise forms.ValidationError(uploads.too_large_message(upload.size))
        return upload
