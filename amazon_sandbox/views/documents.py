"""Report document downloads: the S3 side of getReportDocument's presigned URL."""

from __future__ import annotations

import time
from xml.sax.saxutils import escape

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from amazon_sandbox import clock, faults, reporting
from amazon_sandbox.models import Fault
from amazon_sandbox.reporting import S3Error

OPERATION = "downloadDocument"

_FAULT_ERRORS = {
    Fault.Kind.THROTTLE: S3Error(503, "SlowDown", "Please reduce your request rate."),
    Fault.Kind.ERROR_500: S3Error(
        500, "InternalError", "We encountered an internal error. Please try again."
    ),
    Fault.Kind.ERROR_503: S3Error(503, "ServiceUnavailable", "Please reduce your request rate."),
    Fault.Kind.EXPIRE_URL: S3Error(403, "AccessDenied", "Request has expired"),
    Fault.Kind.DENY: S3Error(403, "AccessDenied", "Access Denied"),
}


def _s3_error(error: S3Error, request_id: str) -> HttpResponse:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message>"
        f"<RequestId>{escape(request_id)}</RequestId></Error>"
    )
    return HttpResponse(body, status=error.status, content_type="application/xml")


@require_GET
def download(request: HttpRequest, document_id: str) -> HttpResponse:
    """The gzip bytes with the charset label of the catalogue (or of a charset fault).

    403 AccessDenied "Request has expired" five minutes (sandbox clock) after signing.
    """
    request.sandbox_operation = OPERATION
    request_id = format(time.time_ns() & 0xFFFFFFFFFFFF, "X")
    try:
        document, encoding = reporting.check_download(
            document_id, request.GET.dict(), now=clock.now()
        )
    except S3Error as e:
        return _s3_error(e, request_id)
    request.sandbox_seller = document.selling_partner_id
    request.sandbox_region = document.region
    fault = faults.take_http_fault(
        operation=OPERATION, seller=document.selling_partner_id, region=document.region
    )
    if fault is not None:
        if fault.kind == Fault.Kind.TIMEOUT:
            time.sleep(fault.hold_seconds)
        else:
            return _s3_error(_FAULT_ERRORS[fault.kind], request_id)
    charset = document.served_charset or document.charset
    response = HttpResponse(
        reporting.served_bytes(document), content_type=f"text/plain; charset={charset}"
    )
    response["Content-Encoding"] = encoding or "identity"
    response["x-amz-request-id"] = request_id
    return response
