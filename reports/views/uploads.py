"""Reports » Upload: import a report document from a file, or preview what it would import."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from reports.exceptions import DocumentStorageFailed
from reports.forms.uploads import UploadForm
from reports.services import uploads


@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest) -> HttpResponse:
    """Store the file and go to its report, which the worker imports (the page follows it), or
    (preview) show what its first lines would import on this page."""
    form = UploadForm(request.POST or None, request.FILES or None)
    result: uploads.UploadResult | None = None
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        document = {
            "account": data["account"],
            "report_type": data["report_type"],
            "filename": data["file"].name,
            "upload": data["file"],
            "acting_user": request.user,
        }
        try:
            if data["preview"]:
                result = uploads.import_uploaded_document(**document, dry_run=True)
            else:
                report = uploads.queue_uploaded_document(**document)
        except uploads.UploadTooLarge as error:
            form.add_error("file", str(error))
        except uploads.UploadRejected as error:
            form.add_error(None, str(error))
        except DocumentStorageFailed as error:
            form.add_error(None, f"{error} Nothing was stored; upload the file again shortly.")
        else:
            if result is None:
                messages.info(
                    request,
                    f"The file is stored ({report.raw_size:,} bytes). The worker imports it "
                    "now; this page shows how far it got.",
                )
                return redirect("reports:detail", pk=report.pk)
    context: dict[str, Any] = {
        "upload_form": form,
        "result": result,
        "preview_lines": uploads.PREVIEW_LINES,
    }
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "reports/upload.html", context, status=status)
