"""Seller Central's consent page: the website authorization workflow (SPAPI.md §1.1, §1.2)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import requests

from tests.sandbox.conftest import APP_ID, CALLBACK, EU_SELLER, EU_SMALL_SELLER, NA_SELLER


def consent_params(**overrides: str) -> dict[str, str]:
    params = {
        "application_id": APP_ID,
        "state": "csrf-state-123",
        "redirect_uri": CALLBACK,
        "version": "beta",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def get_consent(sandbox, region: str = "eu", **overrides: str) -> requests.Response:
    return requests.get(
        sandbox.url(f"/{region}/apps/authorize/consent"),
        params=consent_params(**overrides),
        timeout=10,
    )


def press(sandbox, button: str, region: str = "eu", seller: str = EU_SELLER, **overrides):
    """Submit the consent form as a browser would after choosing `seller`."""
    return requests.post(
        sandbox.url(f"/{region}/apps/authorize/consent"),
        data={**consent_params(**overrides), "selling_partner_id": seller, "action": button},
        allow_redirects=False,
        timeout=10,
    )


def test_consent_page_names_the_app_and_offers_the_regions_sellers(sandbox):
    response = get_consent(sandbox)

    assert response.status_code == 200
    assert response.headers["Referrer-Policy"] == "no-referrer"
    page = response.text
    assert "Authorize Amazon Order Import" in page
    assert "Sign in as" in page
    assert EU_SELLER in page and EU_SMALL_SELLER in page
    assert NA_SELLER not in page
    assert ">Confirm</button>" in page and ">Cancel</button>" in page
    assert 'name="selling_partner_id"' in page


def test_na_consent_offers_na_sellers_only(sandbox):
    page = get_consent(sandbox, region="na").text
    assert NA_SELLER in page and EU_SELLER not in page


def test_unknown_application_is_an_error_page(sandbox):
    response = get_consent(sandbox, application_id="amzn1.sellerapps.app.unknown")

    assert response.status_code == 400
    assert "could not find the application" in response.text


def test_draft_app_without_version_beta_is_md1000(sandbox):
    response = get_consent(sandbox, version=None)

    assert response.status_code == 400
    assert "MD1000" in response.text
    assert "Confirm" not in response.text


def test_published_app_needs_no_version_beta(sandbox):
    sandbox.control("app", {"draft": False})

    assert get_consent(sandbox, version=None).status_code == 200


def test_unregistered_redirect_uri_is_md5101(sandbox):
    for uri in (
        "https://evil.example/settings/connect/callback/",
        "http://127.0.0.1:8000/other/path/",
    ):
        response = get_consent(sandbox, redirect_uri=uri)
        assert response.status_code == 400
        assert "MD5101" in response.text


def test_default_rule_accepts_any_loopback_callback(sandbox):
    for uri in (
        "http://localhost:9999/settings/connect/callback/",
        "http://[::1]:8000/settings/connect/callback/",
    ):
        assert get_consent(sandbox, redirect_uri=uri).status_code == 200


def test_configured_redirect_uris_replace_the_default_rule(sandbox):
    registered = "https://app.example/settings/connect/callback/"
    sandbox.control("app", {"redirect_uris": [registered]})

    assert get_consent(sandbox, redirect_uri=registered).status_code == 200
    assert "MD5101" in get_consent(sandbox).text
    # Without redirect_uri Amazon uses the first registered one.
    response = press(sandbox, "confirm", redirect_uri=None)
    assert response.headers["Location"].startswith(registered + "?")

    sandbox.control("app", {"redirect_uris": []})
    assert get_consent(sandbox).status_code == 200


def test_confirm_redirects_with_state_seller_and_code(sandbox):
    response = press(sandbox, "confirm", seller=EU_SMALL_SELLER)

    assert response.status_code == 302
    assert response.headers["Referrer-Policy"] == "no-referrer"
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    query = parse_qs(location.query)
    assert query["state"] == ["csrf-state-123"]
    assert query["selling_partner_id"] == [EU_SMALL_SELLER]
    assert query["spapi_oauth_code"][0]
    assert "mws_auth_token" not in query


def test_confirm_rechecks_the_request(sandbox):
    assert "MD1000" in press(sandbox, "confirm", version=None).text
    assert "MD5101" in press(sandbox, "confirm", redirect_uri="https://evil.example/x").text
    # A seller of the other region cannot sign in here.
    assert press(sandbox, "confirm", seller=NA_SELLER).status_code == 400


def test_cancel_shows_a_page_by_default(sandbox):
    response = press(sandbox, "cancel")

    assert response.status_code == 200
    assert "You did not authorize Amazon Order Import" in response.text
    assert 'href="http://127.0.0.1:8000/"' in response.text


def test_cancel_can_redirect_with_access_denied(sandbox):
    sandbox.control("app", {"cancel_mode": "redirect"})

    response = press(sandbox, "cancel")

    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query == {"error": ["access_denied"], "state": ["csrf-state-123"]}


def test_consent_calls_are_logged(sandbox):
    get_consent(sandbox)
    press(sandbox, "confirm")

    calls = sandbox.calls()
    assert [(c["operation"], c["status"]) for c in calls] == [
        ("consent", 200),
        ("consentDecision", 302),
    ]
    assert calls[1]["selling_partner_id"] == EU_SELLER
