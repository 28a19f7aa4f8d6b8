"""What every Selling Partner API view shares: auth, faults, rate limits, headers, errors."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps

from django.http import HttpRequest, HttpResponse, JsonResponse

from amazon_sandbox import clock, faults
from amazon_sandbox.authorization import (
    NOTIFICATIONS_SCOPE,
    REGIONS,
    Caller,
    Unauthorized,
    authenticate,
    authenticate_grantless,
)
from amazon_sandbox.errors import (
    ApiError,
    internal_failure,
    invalid_input,
    not_found,
    quota_exceeded,
    service_unavailable,
    unauthorized,
    unsupported_media_type,
)
from amazon_sandbox.models import Fault
from amazon_sandbox.ratelimit import USAGE_PLANS, limiter

logger = logging.getLogger(__name__)

JSON_CONTENT_TYPE = "application/json"


def json_response(body: object, status: int = 200) -> HttpResponse:
    """A JSON answer with `Content-Type: application/json` (no charset, as SP-API sends)."""
    return JsonResponse(body, status=status, safe=False, content_type=JSON_CONTENT_TYPE)


def empty_response(status: int = 200) -> HttpResponse:
    """cancelReport/cancelReportSchedule: success without a body."""
    return HttpResponse(b"", status=status, content_type=JSON_CONTENT_TYPE)


def error_response(error: ApiError) -> HttpResponse:
    """An ErrorList answer."""
    return json_response(error.body(), status=error.status)


def read_json(request: HttpRequest) -> dict:
    """The JSON object body; 415 without a JSON Content-Type, 400 when it is not an object."""
    content_type = request.content_type or ""
    if content_type.lower() != JSON_CONTENT_TYPE:
        raise unsupported_media_type()
    try:
        body = json.loads(request.body or b"null")
    except ValueError as e:
        raise invalid_input("The request body is not valid JSON.") from e
    if not isinstance(body, dict):
        raise invalid_input("The request body must be a JSON object.")
    return body


def parse_time(value: object, name: str) -> datetime | None:
    """An ISO 8601 timestamp (with `Z` or an offset; naive means UTC), or InvalidInput."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise invalid_input(f"{name} must be an ISO 8601 date-time.")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as e:
        raise invalid_input(f"{name} must be an ISO 8601 date-time.", value) from e
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def query_list(request: HttpRequest, name: str) -> list[str]:
    """An array query parameter, sent comma-separated or repeated."""
    return [part for raw in request.GET.getlist(name) for part in raw.split(",") if part]


def amazon_path(request: HttpRequest, region: str) -> str:
    """The request path as it would be on Amazon's host (without the sandbox's region prefix)."""
    return request.path[len(region) + 1 :]


View = Callable[..., HttpResponse]


# The rate-limit bucket of grantless operations: Amazon meters them per app.
APP = "app"


def spapi_operation(operation: str, *, grantless: bool = False) -> Callable[[View], View]:
    """Wrap a view as the SP-API operation `operation`.

    In order: the region must exist; the access token must be valid for it (403 otherwise);
    an armed fault for this operation and seller answers instead (or delays the answer); the
    seller's token bucket must not be empty (429); then the view runs with `caller` and `now`.
    A `grantless` operation wants the app's grantless notifications token instead of a
    seller's, meters the app's bucket, and runs with `caller` None.
    Every answer carries `x-amzn-RateLimit-Limit`; ApiError becomes an ErrorList answer and any
    other exception a 500 InternalFailure.
    """
    plan = USAGE_PLANS[operation]

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, region: str, **kwargs: object) -> HttpResponse:
            request.sandbox_operation = operation
            request.sandbox_region = region
            try:
                response = _run(view, request, region, operation, kwargs, grantless=grantless)
            except ApiError as e:
                response = error_response(e)
            except Exception:
                logger.exception("%s failed", operation)
                response = error_response(internal_failure())
            response["x-amzn-RateLimit-Limit"] = plan.rate
            return response

        return wrapped

    return decorator


def _run(
    view: View, request: HttpRequest, region: str, operation: str, kwargs, *, grantless: bool
) -> HttpResponse:
    if region not in REGIONS:
        raise not_found("The requested resource was not found.")
    token = request.headers.get("x-amz-access-token", "")
    caller: Caller | None = None
    try:
        if grantless:
            authenticate_grantless(token, scope=NOTIFICATIONS_SCOPE, now=clock.now())
        else:
            caller = authenticate(
                token,
                region=region,
                method=request.method or "",
                path=amazon_path(request, region),
                now=clock.now(),
            )
    except Unauthorized as e:
        raise unauthorized(e.details) from e
    seller_id = caller.seller.selling_partner_id if caller is not None else ""
    request.sandbox_seller = seller_id
    fault = faults.take_http_fault(operation=operation, seller=seller_id, region=region)
    if fault is not None:
        apply_http_fault(fault)
    if not limiter.take(
        seller=seller_id or APP,
        region=region,
        operation=operation,
        offset_seconds=clock.offset_seconds(),
    ):
        raise quota_exceeded()
    return view(request, caller=caller, now=clock.now(), **kwargs)


def apply_http_fault(fault: Fault) -> None:
    """Raise the SP-API error of an armed fault, or sleep for a timeout fault and return."""
    if fault.kind == Fault.Kind.THROTTLE:
        raise quota_exceeded()
    if fault.kind == Fault.Kind.ERROR_500:
        raise internal_failure()
    if fault.kind == Fault.Kind.ERROR_503:
        raise service_unavailable()
    if fault.kind in (Fault.Kind.DENY, Fault.Kind.EXPIRE_URL):
        # Amazon's answer when the app lacks the role for an operation: empty details.
        raise unauthorized("")
    if fault.kind == Fault.Kind.TIMEOUT:
        # The answer still comes, late: the client has given up, but the call took effect, as
        # a real timeout leaves it unknown whether Amazon acted.
        time.sleep(fault.hold_seconds)


def method_router(**views: View) -> View:
    """One URL, one operation per HTTP method; other methods get a 404 ErrorList."""

    def route(request: HttpRequest, **kwargs: object) -> HttpResponse:
        view = views.get((request.method or "").lower())
        if view is None:
            return error_response(not_found("The requested resource was not found."))
        return view(request, **kwargs)

    return route
