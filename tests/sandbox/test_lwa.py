"""Login with Amazon's token endpoint: the three grants and their errors (SPAPI.md §1.3)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.sandbox.conftest import (
    CALLBACK,
    CLIENT_ID,
    CLIENT_SECRET,
    EU_SELLER,
    EU_SMALL_SELLER,
)
from tests.sandbox.test_consent import press

INVALID_CODE = {
    "error_description": "The request has an invalid grant parameter : code",
    "error": "invalid_grant",
}
INVALID_REFRESH = {
    "error_description": "The request has an invalid grant parameter : refresh_token. "
    "User may have revoked or didn't grant the permission.",
    "error": "invalid_grant",
}
INVALID_CLIENT = {"error_description": "Client authentication failed", "error": "invalid_client"}


def token(sandbox, **fields: str) -> requests.Response:
    data = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **fields}
    return requests.post(
        sandbox.url("/auth/o2/token"),
        data={k: v for k, v in data.items() if v is not None},
        timeout=10,
    )


def consent_code(sandbox, seller: str = EU_SELLER) -> str:
    location = press(sandbox, "confirm", seller=seller).headers["Location"]
    return parse_qs(urlsplit(location).query)["spapi_oauth_code"][0]


def assert_token_answer(response: requests.Response, *, with_refresh: bool) -> dict:
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["access_token"].startswith("Atza|")
    assert len(body["access_token"]) <= 2048
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    if with_refresh:
        assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
        assert body["refresh_token"].startswith("Atzr|")
    else:
        assert "refresh_token" not in body
    return body


def assert_lwa_error(response: requests.Response, status: int, body: dict) -> None:
    assert response.status_code == status, response.text
    assert response.json() == body
    assert response.headers["Cache-Control"] == "no-store"


def test_code_exchange_gives_tokens_bound_to_the_seller(sandbox):
    body = assert_token_answer(
        token(
            sandbox,
            grant_type="authorization_code",
            code=consent_code(sandbox, EU_SMALL_SELLER),
            redirect_uri=CALLBACK,
        ),
        with_refresh=True,
    )

    participations = requests.get(
        sandbox.url("/eu/sellers/v1/marketplaceParticipations"),
        headers={"x-amz-access-token": body["access_token"]},
        timeout=10,
    ).json()["payload"]
    assert [p["storeName"] for p in participations] == ["Kerzenwerkstatt Schäfer"]
    # The refresh token works as well, and gives no new refresh token.
    assert_token_answer(
        token(sandbox, grant_type="refresh_token", refresh_token=body["refresh_token"]),
        with_refresh=False,
    )


def test_a_code_is_single_use(sandbox):
    code = consent_code(sandbox)
    first = token(sandbox, grant_type="authorization_code", code=code, redirect_uri=CALLBACK)
    assert_token_answer(first, with_refresh=True)

    again = token(sandbox, grant_type="authorization_code", code=code, redirect_uri=CALLBACK)
    assert_lwa_error(again, 400, INVALID_CODE)


def test_a_code_expires_after_five_minutes(sandbox):
    fresh, stale = consent_code(sandbox), consent_code(sandbox)
    sandbox.advance_clock(4 * 60)
    assert_token_answer(
        token(sandbox, grant_type="authorization_code", code=fresh, redirect_uri=CALLBACK),
        with_refresh=True,
    )
    sandbox.advance_clock(61)

    response = token(sandbox, grant_type="authorization_code", code=stale, redirect_uri=CALLBACK)
    assert_lwa_error(response, 400, INVALID_CODE)


def test_the_redirect_uri_must_equal_the_consent_one(sandbox):
    code = consent_code(sandbox)
    other = "http://localhost:8000/settings/connect/callback/"

    response = token(sandbox, grant_type="authorization_code", code=code, redirect_uri=other)
    assert_lwa_error(response, 400, INVALID_CODE)


def test_unknown_code_and_refresh_token_are_invalid_grant(sandbox):
    response = token(sandbox, grant_type="authorization_code", code="RHnope", redirect_uri=CALLBACK)
    assert_lwa_error(response, 400, INVALID_CODE)
    response = token(sandbox, grant_type="refresh_token", refresh_token="Atzr|nope")
    assert_lwa_error(response, 400, INVALID_REFRESH)


def test_revoked_authorization_is_invalid_grant(sandbox):
    refresh = sandbox.refresh_token(EU_SELLER, "eu")
    other_seller = sandbox.refresh_token(EU_SMALL_SELLER, "eu")

    revoked = sandbox.control(f"sellers/{EU_SELLER}/revoke", {"region": "eu"})

    assert revoked["revoked_refresh_tokens"] == 1
    response = token(sandbox, grant_type="refresh_token", refresh_token=refresh)
    assert_lwa_error(response, 400, INVALID_REFRESH)
    assert token(sandbox, grant_type="refresh_token", refresh_token=other_seller).ok
    # Authorizing again gives a working token.
    new = sandbox.refresh_token(EU_SELLER, "eu")
    assert token(sandbox, grant_type="refresh_token", refresh_token=new).ok


@pytest.mark.parametrize(
    "fields",
    [
        {"client_secret": "wrong"},
        {"client_id": "amzn1.application-oa2-client.other"},
    ],
)
def test_wrong_client_credentials_are_invalid_client(sandbox, fields):
    refresh = sandbox.refresh_token(EU_SELLER, "eu")
    response = token(sandbox, grant_type="refresh_token", refresh_token=refresh, **fields)
    assert_lwa_error(response, 401, INVALID_CLIENT)


def test_a_rejected_client_secret_is_invalid_client_until_accepted_again(sandbox):
    refresh = sandbox.refresh_token(EU_SELLER, "eu")
    sandbox.control("app", {"client_secret_accepted": False})

    response = token(sandbox, grant_type="refresh_token", refresh_token=refresh)
    assert_lwa_error(response, 401, INVALID_CLIENT)

    sandbox.control("app", {"client_secret_accepted": True})
    # Rotating the secret does not invalidate refresh tokens.
    assert_token_answer(
        token(sandbox, grant_type="refresh_token", refresh_token=refresh), with_refresh=False
    )


def test_client_credentials_grant_gives_a_grantless_token(sandbox):
    response = token(
        sandbox, grant_type="client_credentials", scope="sellingpartnerapi::notifications"
    )
    body = assert_token_answer(response, with_refresh=False)

    # A grantless token is not a seller's: seller operations refuse it.
    denied = requests.get(
        sandbox.url("/eu/sellers/v1/marketplaceParticipations"),
        headers={"x-amz-access-token": body["access_token"]},
        timeout=10,
    )
    assert denied.status_code == 403
    bad_scope = token(sandbox, grant_type="client_credentials", scope="sellingpartnerapi::x")
    assert_lwa_error(
        bad_scope,
        400,
        {
            "error_description": "The request has an invalid parameter : scope",
            "error": "invalid_scope",
        },
    )


@pytest.mark.parametrize(
    ("fields", "missing"),
    [
        ({"grant_type": None}, "grant_type"),
        ({"grant_type": "refresh_token"}, "refresh_token"),
        ({"grant_type": "authorization_code", "redirect_uri": CALLBACK}, "code"),
        ({"grant_type": "authorization_code", "code": "RHx"}, "redirect_uri"),
        ({"grant_type": "client_credentials"}, "scope"),
        ({"grant_type": "refresh_token", "client_id": None}, "client_id"),
    ],
)
def test_missing_parameters_are_invalid_request(sandbox, fields, missing):
    response = token(sandbox, **fields)
    assert_lwa_error(
        response,
        400,
        {
            "error_description": f"The request is missing a required parameter : {missing}",
            "error": "invalid_request",
        },
    )


def test_unknown_grant_type_is_unsupported(sandbox):
    response = token(sandbox, grant_type="password")
    assert_lwa_error(
        response,
        400,
        {
            "error_description": "The authorization grant type is not supported by the "
            "authorization server",
            "error": "unsupported_grant_type",
        },
    )


def test_token_calls_are_logged_with_the_seller(sandbox):
    refresh = sandbox.refresh_token(EU_SELLER, "eu")
    token(sandbox, grant_type="refresh_token", refresh_token=refresh)
    token(sandbox, grant_type="refresh_token", refresh_token="Atzr|nope")

    calls = sandbox.calls(operation="lwaToken")
    assert [(c["selling_partner_id"], c["status"]) for c in calls] == [
        (EU_SELLER, 200),
        ("", 400),
    ]
