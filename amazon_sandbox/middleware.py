"""Headers every Amazon answer carries, and the call log tests read back."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from amazon_sandbox import clock
from amazon_sandbox.models import CallRecord

logger = logging.getLogger(__name__)


class AmazonResponseMiddleware:
    """Adds `x-amzn-RequestId` to every response and records the calls views named.

    A view names its call by setting `request.sandbox_operation` (and, once known,
    `request.sandbox_seller` / `request.sandbox_region`); control and index requests set
    nothing and are not recorded.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("x-amzn-RequestId", str(uuid.uuid4()))
        operation = getattr(request, "sandbox_operation", "")
        if operation:
            try:
                CallRecord.objects.create(
                    at=clock.now(),
                    method=request.method or "",
                    path=request.path[:2000],
                    operation=operation,
                    selling_partner_id=getattr(request, "sandbox_seller", ""),
                    region=getattr(request, "sandbox_region", ""),
                    status=response.status_code,
                )
            except Exception:
                # The log is a test aid; losing a line must not turn an answer into a 500.
                logger.exception("could not record the call")
        return response
