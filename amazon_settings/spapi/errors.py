"""One error taxonomy for every SP-API, LWA and report-document call.

The classes are sorted by what the caller must do, not by HTTP status:

- ``SpApiTransientError`` (and ``SpApiThrottled``): try again later, with backoff;
- ``SpApiAuthError``: the seller connection (or the app's credentials) needs attention,
  stop calling Amazon for it until someone re-authorizes;
- ``SpApiRequestError``: our bug or bad input, never retried automatically;
- ``DocumentError`` and its leaves: the report document could not be turned into text;
- plain ``SpApiError``: anything else, recorded and logged with its traceback.

``str(error)`` is a sentence a seller can read, in English: a headline built from one of the
templates below, then Amazon's own words in parentheses (``SENTENCE``). It is what the call log
and a report's history store; the dashboard registers the templates as stored texts
(``amazon_settings.stored_texts``) and shows the sentence in the reader's language. No error ever
carries a token: messages come from Amazon's error bodies (which do not echo tokens) and are
redacted once more anyway.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import requests

AuthReason = Literal["access_denied", "authorization_revoked", "invalid_code", "client_rejected"]

# Operation names used for the three LWA grants; error_from_response reads the grant from them.
LWA_EXCHANGE_CODE = "LWA.exchangeCode"
LWA_REFRESH_TOKEN = "LWA.refreshToken"  # noqa: S105 - an operation name, not a secret
LWA_CLIENT_CREDENTIALS = "LWA.clientCredentials"

# Statuses that mean "Amazon did not handle it this time; the same request may work later".
TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})

# Used for a 429 when Amazon sends no x-amzn-RateLimit-Limit header and the caller knows no
# better value: one minute is the slowest documented refill of the operations we call.
DEFAULT_RETRY_AFTER = 60.0


def gettext_noop(message: str) -> str:
    """`message` as it is. The name marks it for the catalogue (`makemessages` looks for it)
    without Django here: the dashboard translates the stored text when it shows it."""
    return message


# The headlines, one per error family (and reason): what happened, in the seller's words.
COULD_NOT_COMPLETE = gettext_noop("Amazon could not complete %(operation)s")
COULD_NOT_ANSWER = gettext_noop(
    "Amazon could not answer %(operation)s right now; it will be retried"
)
TOO_MANY_CALLS = gettext_noop(
    "Too many calls to %(operation)s; the next one is allowed in %(seconds)s s, so it was not sent"
)
THROTTLED = gettext_noop("Amazon throttled %(operation)s; try again in %(seconds)s s")
AUTHORIZATION_REVOKED = gettext_noop(
    "Amazon no longer accepts this seller's authorization; the seller must authorize the app again"
)
INVALID_CODE = gettext_noop(
    "Amazon rejected the authorization code; it expired or was already used, so the seller "
    "must start the authorization again"
)
CLIENT_REJECTED = gettext_noop(
    "Amazon rejected the app's LWA client ID or client secret; check or rotate the client secret"
)
ACCESS_DENIED = gettext_noop("Amazon denied access to %(operation)s")
REQUEST_REJECTED = gettext_noop("Amazon rejected the request to %(operation)s")
DOCUMENT_UNREADABLE = gettext_noop("The report document could not be read")
DOCUMENT_URL_EXPIRED = gettext_noop(
    "The report document link expired before the download; a new link is needed"
)
DOCUMENT_TOO_LARGE = gettext_noop("The report document is larger than this installation accepts")
DOCUMENT_CORRUPT = gettext_noop(
    "The report document is damaged (its compressed data is incomplete or invalid)"
)
DOCUMENT_UNDECODABLE = gettext_noop(
    "The report document is not valid text: byte %(offset)s cannot be decoded as %(charset)s"
)
HEADLINES = (
    COULD_NOT_COMPLETE,
    COULD_NOT_ANSWER,
    TOO_MANY_CALLS,
    THROTTLED,
    AUTHORIZATION_REVOKED,
    INVALID_CODE,
    CLIENT_REJECTED,
    ACCESS_DENIED,
    REQUEST_REJECTED,
    DOCUMENT_UNREADABLE,
    DOCUMENT_URL_EXPIRED,
    DOCUMENT_TOO_LARGE,
    DOCUMENT_CORRUPT,
    DOCUMENT_UNDECODABLE,
)
# The whole sentence: a headline, then status, code and Amazon's own words.
SENTENCE = gettext_noop("%(headline)s (%(facts)s)")
_AUTH_HEADLINES = {
    "authorization_revoked": AUTHORIZATION_REVOKED,
    "invalid_code": INVALID_CODE,
    "client_rejected": CLIENT_REJECTED,
}

_MAX_TEXT = 500
# LWA access and refresh tokens and RDTs all start with "Atz" and a marker before "|".
_TOKEN_PATTERN = re.compile(r"Atz[a-zA-Z.]*\|\S+")


def redact(text: str) -> str:
    """Remove anything that looks like an LWA token or RDT, and cap the length."""
    text = _TOKEN_PATTERN.sub("[redacted]", text)
    if len(text) > _MAX_TEXT:
        text = text[: _MAX_TEXT - 1] + "…"
    return text


class SpApiError(Exception):
    """A call to Amazon failed in a way no subclass describes better."""

    def __init__(
        self,
        *,
        operation: str,
        status: int | None = None,
        code: str = "",
        message: str = "",
        details: str = "",
        request_id: str | None = None,
    ) -> None:
        self.operation = operation
        self.status = status
        self.code = redact(code)
        self.message = redact(message)
        self.details = redact(details)
        self.request_id = request_id
        super().__init__(self.sentence())

    def headline(self) -> str:
        """The first half of the sentence: what happened, in the seller's words."""
        return COULD_NOT_COMPLETE % {"operation": self.operation}

    def facts(self) -> str:
        """Status, code and Amazon's own words, e.g. ``403 Unauthorized: Access … denied.``."""
        label = " ".join(
            part
            for part in (str(self.status) if self.status is not None else "", self.code)
            if part
        )
        if self.status is not None and self.code == str(self.status):
            label = self.code  # the sandbox uses the status as code ("400"); say it once
        text = self.message
        if self.details and self.details != self.message:
            text = f"{text} {self.details}".strip()
        if label and text:
            return f"{label}: {text}"
        return label or text

    def sentence(self) -> str:
        facts = self.facts()
        if not facts:
            return self.headline()
        return SENTENCE % {"headline": self.headline(), "facts": facts}

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only __init__ breaks the default pickling of exceptions; task queues pickle.
        return (_rebuild, (type(self), self.__dict__.copy()))


def _rebuild(cls: type[SpApiError], state: dict[str, Any]) -> SpApiError:
    error = cls.__new__(cls)
    error.__dict__.update(state)
    Exception.__init__(error, error.sentence())
    return error


class SpApiTransientError(SpApiError):
    """Timeout, connection error or 5xx: the same call may work later; retry with backoff."""

    def headline(self) -> str:
        return COULD_NOT_ANSWER % {"operation": self.operation}


class SpApiThrottled(SpApiTransientError):
    """429 QuotaExceeded, or our own rate limiter refused to wait: retry after ``retry_after``."""

    def __init__(self, *, retry_after: float, **kwargs: Any) -> None:
        self.retry_after = float(retry_after)
        super().__init__(**kwargs)

    def headline(self) -> str:
        values = {"operation": self.operation, "seconds": max(1, round(self.retry_after))}
        # No status: our own rate limiter refused to send it.
        return (TOO_MANY_CALLS if self.status is None else THROTTLED) % values


class SpApiAuthError(SpApiError):
    """Amazon refused the credentials: the connection or the app needs re-authorizing.

    ``reason`` says which:

    - ``access_denied``: SP-API 401/403 (missing role, wrong region, revoked access token);
    - ``authorization_revoked``: LWA ``invalid_grant`` for the refresh token; the seller must
      authorize the app again;
    - ``invalid_code``: LWA ``invalid_grant`` for an authorization code (expired, reused);
    - ``client_rejected``: LWA ``invalid_client``; the app's client secret is wrong or expired.
    """

    def __init__(self, *, reason: AuthReason, **kwargs: Any) -> None:
        self.reason = reason
        super().__init__(**kwargs)

    def headline(self) -> str:
        template = _AUTH_HEADLINES.get(self.reason, ACCESS_DENIED)
        return template % {"operation": self.operation}

    @property
    def is_expired_access_token(self) -> bool:
        """True for the 403 that a fresh access token cures (an expired access token)."""
        text = f"{self.message} {self.details}".lower()
        return self.reason == "access_denied" and "revoked, malformed or invalid" in text


class SpApiRequestError(SpApiError):
    """Amazon rejected the request itself (4xx): our bug or bad input; never retried."""

    def headline(self) -> str:
        return REQUEST_REJECTED % {"operation": self.operation}


class DocumentError(SpApiError):
    """The report document could not be downloaded or turned into text."""

    def headline(self) -> str:
        return DOCUMENT_UNREADABLE


class DocumentUrlExpired(DocumentError, SpApiTransientError):
    """The presigned document URL was refused (it lives 5 minutes): get a fresh one and retry.

    It is also transient, so a caller that only knows "transient means reschedule" does the
    right thing as long as it calls getReportDocument again, which it must anyway.
    """

    def headline(self) -> str:
        return DOCUMENT_URL_EXPIRED


class DocumentTooLarge(DocumentError):
    """The document is larger than the configured cap (compressed or uncompressed)."""

    def headline(self) -> str:
        return DOCUMENT_TOO_LARGE


class DocumentCorrupt(DocumentError):
    """The gzip stream is truncated or damaged."""

    def headline(self) -> str:
        return DOCUMENT_CORRUPT


class DocumentUndecodable(DocumentError):
    """No candidate character set decodes the document; ``offset`` is the first bad byte."""

    def __init__(self, *, offset: int, charset: str, **kwargs: Any) -> None:
        self.offset = offset
        self.charset = charset
        super().__init__(**kwargs)

    def headline(self) -> str:
        return DOCUMENT_UNDECODABLE % {"offset": self.offset, "charset": self.charset}


def parse_rate_limit(value: str | None) -> float | None:
    """Read ``x-amzn-RateLimit-Limit`` (requests per second); None when absent or unusable."""
    if not value:
        return None
    match = re.match(r"\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)", value)
    if match is None:
        return None
    rate = float(match.group(1))
    return rate if rate > 0 else None


def _parse_body(response: requests.Response) -> tuple[str, str, str]:
    """(code, message, details) from an SP-API ErrorList or an LWA error body."""
    try:
        body = response.json()
    except ValueError:
        # HTML from a load balancer, S3 XML or nothing at all: the reason phrase says enough.
        return "", response.reason or "", ""
    if isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"]:
        errors = [e for e in body["errors"] if isinstance(e, dict)]
        if errors:
            first = errors[0]
            message = str(first.get("message") or "")
            if len(errors) > 1:
                message = "; ".join(str(e.get("message") or "") for e in errors)
            return str(first.get("code") or ""), message, str(first.get("details") or "")
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return body["error"], str(body.get("error_description") or ""), ""
    return "", response.reason or "", ""


def _lwa_reason(code: str, message: str, operation: str) -> AuthReason | None:
    if code in ("invalid_client", "unauthorized_client"):
        return "client_rejected"
    if code != "invalid_grant":
        return None
    if operation == LWA_EXCHANGE_CODE:
        return "invalid_code"
    if operation == LWA_REFRESH_TOKEN:
        return "authorization_revoked"
    # Unknown caller: LWA names the offending parameter ("... grant parameter : code").
    return "invalid_code" if message.rstrip().endswith(": code") else "authorization_revoked"


def error_from_response(
    response: requests.Response,
    *,
    operation: str,
    default_retry_after: float = DEFAULT_RETRY_AFTER,
) -> SpApiError:
    """Turn a non-2xx response from SP-API or LWA into the matching ``SpApiError``.

    Reads Amazon's ``{"errors": [{code, message, details}]}`` body, LWA's flat
    ``{"error", "error_description"}`` body, or neither (then the reason phrase). Pure: it
    never raises and never reads anything but the status, headers and a JSON body.
    """
    status = response.status_code
    code, message, details = _parse_body(response)
    common: dict[str, Any] = {
        "operation": operation,
        "status": status,
        "code": code,
        "message": message,
        "details": details,
        "request_id": response.headers.get("x-amzn-RequestId"),
    }
    lwa_reason = _lwa_reason(code, message, operation) if status < 500 else None
    if lwa_reason is not None:
        return SpApiAuthError(reason=lwa_reason, **common)
    if status == 429:
        rate = parse_rate_limit(response.headers.get("x-amzn-RateLimit-Limit"))
        retry_after = 1.0 / rate if rate else default_retry_after
        return SpApiThrottled(retry_after=retry_after, **common)
    if status in TRANSIENT_STATUSES:
        return SpApiTransientError(**common)
    if status in (401, 403):
        return SpApiAuthError(reason="access_denied", **common)
    if 400 <= status < 500:
        return SpApiRequestError(**common)
    return SpApiError(**common)
