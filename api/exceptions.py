"""What the API answers when a request cannot be served; one JSON shape for all (`ErrorOut`)."""

from __future__ import annotations


class ApiError(Exception):
    """A request the API refuses; `status` is the HTTP status, `field` the parameter at fault."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class BadParameter(ApiError):
    """A malformed cursor or filter: fix the named parameter."""

    code = "invalid_parameter"


class NotAuthenticated(ApiError):
    """No token, an unknown one or a revoked one: get a valid token from an administrator."""

    status = 401
    code = "not_authenticated"


class MissingScope(ApiError):
    """The token may not read this: an administrator can make a token with the scope."""

    status = 403
    code = "forbidden"


class NotFound(ApiError):
    """No such object, or none this token may read."""

    status = 404
    code = "not_found"


class RateLimited(ApiError):
    """Too many requests in this minute: wait `retry_after` seconds."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TokenError(Exception):
    """A token cannot be made or revoked as asked (a name taken, an unknown scope)."""


class WebhookError(Exception):
    """A webhook subscription cannot be changed as asked (a name taken, no event chosen)."""
