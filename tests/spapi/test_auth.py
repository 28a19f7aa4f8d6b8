"""LWA grants: form-encoded POSTs, tokens parsed with their expiry, errors with a reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import pytest
import requests
import responses
from responses import matchers

from amazon_settings.spapi import (
    AccessToken,
    AppCredentials,
    CachingTokenProvider,
    CallRecord,
    LwaClient,
    SpApiAuthError,
    SpApiError,
    SpApiTransientError,
    TokenGrant,
)

from .support import RecordingSession

TOKEN_URL = "https://api.amazon.com/auth/o2/token"
NOW = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
CLIENT_ID = "amzn1.application-oa2-client.0123456789abcdef"
CLIENT_SECRET = "amzn1.oa2-cs.v1.super-secret-value"
REFRESH_TOKEN = "Atzr|IwEBIstored-refresh-token"
ACCESS_TOKEN = "Atza|IwEBIfresh-access-token"


@pytest.fixture
def calls() -> list[CallRecord]:
    return []


@pytest.fixture
def lwa(session: RecordingSession, calls: list[CallRecord]) -> LwaClient:
    return LwaClient(
        TOKEN_URL,
        AppCredentials(client_id=CLIENT_ID, client_secret=CLIENT_SECRET),
        session=session,
        timeout=7.0,
        on_call=calls.append,
        now=lambda: NOW,
    )


def sent_form(mocked: responses.RequestsMock) -> dict[str, str]:
    body = mocked.calls[-1].request.body
    return {k: v[0] for k, v in parse_qs(body if isinstance(body, str) else body.decode()).items()}


def test_exchange_code_posts_the_authorization_code_grant(mocked, lwa, session, calls):
    mocked.post(
        TOKEN_URL,
        json={
            "access_token": ACCESS_TOKEN,
            "token_type": "bearer",
            "expires_in": 3600,
            "refresh_token": REFRESH_TOKEN,
        },
        headers={"x-amzn-RequestId": "lwa-1"},
    )

    grant = lwa.exchange_code("ANDByybSdhSdYqxYfGxc", redirect_uri="https://app.example/callback")

    assert grant == TokenGrant(
        access_token=ACCESS_TOKEN,
        refresh_token=REFRESH_TOKEN,
        expires_at=NOW + timedelta(hours=1),
    )
    assert sent_form(mocked) == {
        "grant_type": "authorization_code",
        "code": "ANDByybSdhSdYqxYfGxc",
        "redirect_uri": "https://app.example/callback",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    request = mocked.calls[-1].request
    assert request.headers["content-type"] == "application/x-www-form-urlencoded;charset=UTF-8"
    assert session.requests[-1]["timeout"] == 7.0
    assert [(c.operation, c.method, c.path, c.status, c.request_id) for c in calls] == [
        ("LWA.exchangeCode", "POST", "/auth/o2/token", 200, "lwa-1")
    ]
    assert ACCESS_TOKEN not in repr(grant) and REFRESH_TOKEN not in repr(grant)


def test_refresh_access_token_posts_the_refresh_grant(mocked, lwa):
    mocked.post(TOKEN_URL, json={"access_token": ACCESS_TOKEN, "expires_in": 3600})

    token = lwa.refresh_access_token(REFRESH_TOKEN)

    assert token == AccessToken(value=ACCESS_TOKEN, expires_at=NOW + timedelta(hours=1))
    assert sent_form(mocked) == {
        "grant_type": "refresh_token",
        "refresh_token": REFRESH_TOKEN,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    assert ACCESS_TOKEN not in repr(token)
    assert "<hidden>" in repr(token)


def test_client_credentials_posts_the_grantless_grant(mocked, lwa):
    mocked.post(
        TOKEN_URL,
        json={"access_token": ACCESS_TOKEN, "expires_in": 3600},
        match=[
            matchers.urlencoded_params_matcher(
                {
                    "grant_type": "client_credentials",
                    "scope": "sellingpartnerapi::notifications",
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                }
            )
        ],
    )

    token = lwa.client_credentials("sellingpartnerapi::notifications")

    assert token.value == ACCESS_TOKEN


def test_revoked_refresh_token_is_authorization_revoked(mocked, lwa, calls):
    mocked.post(
        TOKEN_URL,
        status=400,
        json={
            "error_description": "The request has an invalid grant parameter : refresh_token. "
            "User may have revoked or didn't grant the permission.",
            "error": "invalid_grant",
        },
    )

    with pytest.raises(SpApiAuthError) as caught:
        lwa.refresh_access_token(REFRESH_TOKEN)

    assert caught.value.reason == "authorization_revoked"
    assert caught.value.operation == "LWA.refreshToken"
    everything = f"{caught.value} {caught.value!r} {calls}"
    assert REFRESH_TOKEN not in everything and CLIENT_SECRET not in everything
    assert calls[0].error_code == "invalid_grant"


def test_used_code_is_invalid_code(mocked, lwa):
    mocked.post(
        TOKEN_URL,
        status=400,
        json={
            "error_description": "The request has an invalid grant parameter : code",
            "error": "invalid_grant",
        },
    )

    with pytest.raises(SpApiAuthError) as caught:
        lwa.exchange_code("used-code", redirect_uri="https://app.example/callback")

    assert caught.value.reason == "invalid_code"


def test_rotated_secret_is_client_rejected(mocked, lwa):
    mocked.post(
        TOKEN_URL,
        status=401,
        json={"error_description": "Client authentication failed", "error": "invalid_client"},
    )

    with pytest.raises(SpApiAuthError) as caught:
        lwa.refresh_access_token(REFRESH_TOKEN)

    assert caught.value.reason == "client_rejected"
    assert CLIENT_SECRET not in str(caught.value)


@pytest.mark.parametrize(
    "failure",
    [
        {"status": 500, "json": {"error": "server_error", "error_description": "oops"}},
        {"body": requests.ReadTimeout("read timed out")},
        {"body": requests.ConnectionError("connection refused")},
    ],
)
def test_lwa_outages_are_transient(mocked, lwa, calls, failure):
    mocked.post(TOKEN_URL, **failure)

    with pytest.raises(SpApiTransientError):
        lwa.refresh_access_token(REFRESH_TOKEN)

    assert len(calls) == 1  # no retries in LWA: the caller decides


def test_a_200_without_a_token_is_an_unexpected_response(mocked, lwa):
    mocked.post(TOKEN_URL, json={"token_type": "bearer"})

    with pytest.raises(SpApiError) as caught:
        lwa.refresh_access_token(REFRESH_TOKEN)

    assert caught.value.code == "UnexpectedResponse"


def test_credentials_hide_the_secret():
    credentials = AppCredentials(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)

    assert CLIENT_SECRET not in repr(credentials)
    assert CLIENT_ID in repr(credentials)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def test_caching_provider_refreshes_only_near_expiry_or_when_forced(mocked, session):
    clock = Clock()
    lwa = LwaClient(
        TOKEN_URL,
        AppCredentials(client_id=CLIENT_ID, client_secret=CLIENT_SECRET),
        session=session,
        timeout=5,
        now=clock,
    )
    mocked.post(TOKEN_URL, json={"access_token": "Atza|one", "expires_in": 3600})
    provider = CachingTokenProvider(lwa, REFRESH_TOKEN, now=clock)

    assert provider() == "Atza|one"
    clock.now = NOW + timedelta(minutes=58)
    assert provider() == "Atza|one"  # cached: more than 60 s left
    assert len(mocked.calls) == 1

    clock.now = NOW + timedelta(minutes=59, seconds=1)
    mocked.replace(responses.POST, TOKEN_URL, json={"access_token": "Atza|two", "expires_in": 3600})
    assert provider() == "Atza|two"  # within the 60 s margin
    mocked.replace(
        responses.POST, TOKEN_URL, json={"access_token": "Atza|three", "expires_in": 3600}
    )
    assert provider(force_refresh=True) == "Atza|three"
    assert len(mocked.calls) == 3
    assert REFRESH_TOKEN not in repr(provider)
