"""The one log line and the one ``CallRecord`` each attempt produces (client and LWA alike)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import requests

from .errors import SpApiError, parse_rate_limit
from .types import CallRecord

logger = logging.getLogger("amazon_settings.spapi")

OnCall = Callable[[CallRecord], None]


def make_record(
    *,
    operation: str,
    method: str,
    path: str,
    response: requests.Response | None,
    error: SpApiError | None,
    duration_ms: int,
    attempt: int,
) -> CallRecord:
    headers = response.headers if response is not None else {}
    return CallRecord(
        operation=operation,
        method=method,
        path=path,
        status=response.status_code if response is not None else None,
        duration_ms=duration_ms,
        request_id=headers.get("x-amzn-RequestId"),
        rate_limit=parse_rate_limit(headers.get("x-amzn-RateLimit-Limit")),
        error_code=error.code if error is not None else "",
        error_message=str(error) if error is not None else "",
        attempt=attempt,
    )


def emit(record: CallRecord, on_call: OnCall | None) -> None:
    """Log one line (never a token, a body or a query string) and hand the record on."""
    ok = record.status is not None and record.status < 400
    level = logging.INFO if ok else logging.WARNING
    logger.log(
        level,
        "%s %s %s -> %s request_id=%s rate_limit=%s attempt=%d %dms%s",
        record.operation,
        record.method,
        record.path,
        record.status if record.status is not None else "no response",
        record.request_id or "-",
        record.rate_limit if record.rate_limit is not None else "-",
        record.attempt,
        record.duration_ms,
        f" error={record.error_code}" if record.error_code else "",
    )
    if on_call is not None:
        on_call(record)
