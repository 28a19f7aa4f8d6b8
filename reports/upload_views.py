"""Reports » Upload: import a report document from a file, or preview what it would import."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from amazon_settings.models import SellerAccount
from reports import uploads
from reports.catalog import CATALOG, GROUPS


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
        label="Report type",
        choices=report_type_choices,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    file = forms.FileField(
        label="Report file",
        help_text="As downloaded from Seller Central: tab-separated, XML or CSV; gzip is fine.",
        widget=forms.ClearableFileInput(attrs={"class": "form-control"}),
    )
    preview = forms.BooleanField(
        label="Preview only (count what would be imported; store nothing)",
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )

    def clean_file(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["file"]
        if upload.size is not None and upload.size > uploads.max_upload_bytes():
            raise forms.ValidationError(uploads.too_large_message(upload.size))
        return upload


@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest) -> HttpResponse:
    """Import the file and go to its report, or (preview) show the counts on this page."""
    form = UploadForm(request.POST or None, request.FILES or None)
    result: uploads.UploadResult | None = None
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            result = uploads.import_uploaded_document(
                account=data["account"],
                report_type=data["report_type"],
                filename=data["file"].name,
                content=data["file"].read(),
                acting_user=request.user,
                dry_run=data["preview"],
            )
        except uploads.UploadTooLarge as error:
            form.add_error("file", str(error))
        except uploads.UploadRejected as error:
            form.add_error(None, str(error))
        else:
            if result.report is not None:
                _message(request, result)
                return redirect("reports:detail", pk=result.report.pk)
    context: dict[str, Any] = {"upload_form": form, "result": result}
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "reports/upload.html", context, status=status)


def _message(request: HttpRequest, result: uploads.UploadResult) -> None:
    if result.rejected:
        messages.error(request, f"The file was not imported: {result.rejected}")
    elif result.held_reason:
        messages.warning(request, f"The file is held for your confirmation: {result.held_reason}")
    else:
        messages.success(
            request,
            f"Imported {result.rows} rows: {result.created} created, {result.updated} updated, "
            f"{result.unchanged} unchanged, {result.failed} with errors.",
        )
