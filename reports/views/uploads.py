"""Reports » Upload: import a report document from a file, or preview what it would import."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from reports.forms.uploads import UploadForm
from reports.services import uploads


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
