"""SP-API error answers (`{"errors":[{code, message, details}]}`) in Amazon's wording.

The body is the `ErrorList` of Amazon's API models (e.g. the Reports API model,
models/reports-api-model/reports_2021-06-30.json in amzn/selling-partner-api-models); for the
403 cases see Amazon's "Authorization errors" page.
"""

from __future__ import annotations


class ApiError(Exception):
    """An SP-API error answer; views render it as an ErrorList body with `status`."""

    def __init__(self, status: int, code: str, message: str, details: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def body(self) -> dict:
        return {"errors": [{"code": self.code, "message": self.message, "details": self.details}]}


def invalid_input(message: str, details: str = "") -> ApiError:
    """400 InvalidInput: the request breaks a documented rule."""
    return ApiError(400, "InvalidInput", message, details)


def unauthorized(details: str) -> ApiError:
    """403 Unauthorized: missing, expired, revoked or wrong-region token, or a missing role."""
    return ApiError(403, "Unauthorized", "Access to requested resource is denied.", details)


def not_found(message: str) -> ApiError:
    """404 NotFound: no such resource for this seller."""
    return ApiError(404, "NotFound", message)


def conflict(message: str) -> ApiError:
    """409 Conflict: the resource exists already (a second destination or subscription)."""
    return ApiError(409, "Conflict", message)


def unsupported_media_type() -> ApiError:
    """415: a JSON body was sent without `Content-Type: application/json`."""
    return ApiError(415, "UnsupportedMediaType", "The request's Content-Type header is invalid.")


def quota_exceeded() -> ApiError:
    """429 QuotaExceeded: the operation's token bucket is empty."""
    return ApiError(429, "QuotaExceeded", "You exceeded your quota for the requested resource.")


def internal_failure() -> ApiError:
    """500 InternalFailure."""
    return ApiError(500, "InternalFailure", "We encountered an internal error. Please try again.")


def service_unavailable() -> ApiError:
    """503 ServiceUnavailable: Amazon is overloaded."""
    return ApiError(503, "ServiceUnavailable", "Service temporarily unavailable. Please try again.")
