"""Login with Amazon (LWA): the three grants SP-API apps use.

The token endpoint and its grants are described in Amazon's "Connecting to the Selling Partner
API" guide. No caching of access tokens in the shared sense lives here: the product caches them
per connection in the Django cache, so web and worker processes share one token.
``CachingTokenProvider`` is the in-process equivalent for scripts and tests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests

from ._records import OnCall, emit, make_record
from .errors import (
    LWA_CLIENT_CREDENTIALS,
    LWA_EXCHANGE_CODE,
    LWA_REFRESH_TOKEN,
    SpApiError,
    SpApiTransientError,
    error_from_response,
)
from .types import AccessToken, TokenGrant


@dataclass(frozen=True, repr=False)
class AppCredentials:
    """The app's LWA client ID and secret (the secret must be rotated every 180 days)."""

    client_id: str
    client_secret: str

    def __repr__(self) -> str:
        return f"AppCredentials(client_id={self.client_id!r}, client_secret=<hidden>)"


class TokenProvider(Protocol):
    """What ``SpApiClient`` calls for the access token before each request.

    ``force_refresh=True`` means "the token you gave me was refused as revoked, malformed or
    invalid: get a new one from LWA even if yours has not expired". The client asks for that
    at most once per call. Implementations raise ``SpApiAuthError`` (e.g.
    ``authorization_revoked``) or ``SpApiTransientError`` when LWA fails.
    """

    def __call__(self, *, force_refresh: bool = False) -> str: ...


class LwaClient:
    """POSTs form-encoded grants to the LWA token endpoint. One attempt per call, no retries:
    a transient failure surfaces as ``SpApiTransientError`` and the caller decides.

    Raises ``SpApiAuthError`` with reason ``invalid_code`` / ``authorization_revoked``
    (``invalid_grant``) or ``client_rejected`` (``invalid_client``), ``SpApiTransientError``
    for timeouts, connection errors and 5xx, ``SpApiRequestError`` for other 4xx, and
    ``SpApiError`` (code ``UnexpectedResponse``) for a 200 without the expected fields.
    """

    def __init__(
        self,
        token_url: str,
        credentials: AppCredentials,
        *,
        session: requests.Session,
        timeout: float,
        on_call: OnCall | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._token_url = token_url
        self._credentials = credentials
        self._session = session
        self._timeout = timeout
        self._on_call = on_call
        self._now = now

    def exchange_code(self, code: str, *, redirect_uri: str) -> TokenGrant:
        """Exchange a ``spapi_oauth_code`` (valid 5 minutes, single use) for tokens.

        Not idempotent: LWA accepts each code once; a second call raises
        ``SpApiAuthError(reason="invalid_code")``.
        """
        body = self._post(
            LWA_EXCHANGE_CODE,
            {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri},
        )
        access_token, expires_at = self._access_token(LWA_EXCHANGE_CODE, body)
        refresh_token = body.get("refresh_token")
        if not isinstance(refresh_token, str) or not refresh_token:
            raise _unexpected(LWA_EXCHANGE_CODE, "refresh_token")
        return TokenGrant(
            access_token=access_token, refresh_token=refresh_token, expires_at=expires_at
        )

    def refresh_access_token(self, refresh_token: str) -> AccessToken:
        """Get a new one-hour access token for a stored refresh token. Safe to repeat."""
        body = self._post(
            LWA_REFRESH_TOKEN, {"grant_type": "refresh_token", "refresh_token": refresh_token}
        )
        value, expires_at = self._access_token(LWA_REFRESH_TOKEN, body)
        return AccessToken(value=value, expires_at=expires_at)

    def client_credentials(self, scope: str) -> AccessToken:
        """Get a grantless access token, e.g. for ``sellingpartnerapi::notifications``."""
        body = self._post(
            LWA_CLIENT_CREDENTIALS, {"grant_type": "client_credentials", "scope": scope}
        )
        value, expires_at = self._access_token(LWA_CLIENT_CREDENTIALS, body)
        return AccessToken(value=value, expires_at=expires_at)

    def _access_token(self, operation: str, body: dict[str, Any]) -> tuple[str, datetime]:
        value = body.get("access_token")
        expires_in = body.get("expires_in")
        if not isinstance(value, str) or not value:
            raise _unexpected(operation, "access_token")
        if not isinstance(expires_in, int | float) or isinstance(expires_in, bool):
            raise _unexpected(operation, "expires_in")
        return value, self._now() + timedelta(seconds=expires_in)

    def _post(self, operation: str, form: dict[str, str]) -> dict[str, Any]:
        form = {
            **form,
            "client_id": self._credentials.client_id,
            "client_secret": self._credentials.client_secret,
        }
        path = urlsplit(self._token_url).path
        started = time.perf_counter()
        response: requests.Response | None = None
        error: SpApiError | None = None
        try:
            response = self._session.post(
                self._token_url,
                data=form,
                headers={
                    "content-type": "application/x-www-form-urlencoded;charset=UTF-8",
                    "accept": "application/json",
                },
                timeout=self._timeout,
                allow_redirects=False,
            )
        except requests.Timeout:
            error = SpApiTransientError(
                operation=operation, code="Timeout", message=f"no answer in {self._timeout} s"
            )
        except requests.ConnectionError as exc:
            error = SpApiTransientError(
                operation=operation, code="ConnectionError", message=type(exc).__name__
            )
        else:
            if response.status_code != 200:
                error = error_from_response(response, operation=operation)
        duration_ms = round((time.perf_counter() - started) * 1000)
        body: Any = None
        if error is None and response is not None:
            try:
                body = response.json()
            except ValueError:
                body = None
            if not isinstance(body, dict):
                error = _unexpected(operation, "a JSON object")
        emit(
            make_record(
                operation=operation,
                method="POST",
                path=path,
                response=response,
                error=error,
                duration_ms=duration_ms,
                attempt=1,
            ),
            self._on_call,
        )
        if error is not None:
            raise error
        return body


def _unexpected(operation: str, missing: str) -> SpApiError:
    return SpApiError(
        operation=operation,
        status=200,
        code="UnexpectedResponse",
        message=f"the answer lacks {missing}",
    )


class CachingTokenProvider:
    """A ``TokenProvider`` for one refresh token, caching the access token in this process
    until ``margin`` before it expires. Thread-safe; refreshes at most once at a time."""

    def __init__(
        self,
        lwa: LwaClient,
        refresh_token: str,
        *,
        margin: timedelta = timedelta(seconds=60),
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._lwa = lwa
        self._refresh_token = refresh_token
        self._margin = margin
        self._now = now
        self._token: AccessToken | None = None
        self._lock = threading.Lock()

    def __call__(self, *, force_refresh: bool = False) -> str:
        with self._lock:
            token = self._token
            if force_refresh or token is None or token.expires_at - self._margin <= self._now():
                token = self._lwa.refresh_access_token(self._refresh_token)
                self._token = token
            return token.value

    def __repr__(self) -> str:
        return "CachingTokenProvider(refresh_token=<hidden>)"
