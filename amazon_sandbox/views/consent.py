"""Seller Central's consent page (`/{region}/apps/authorize/consent`), the website workflow.

The optional Log-in-URI hop of Amazon's newer documentation is not reproduced: Confirm
redirects straight to the app's redirect URI, as the older documented workflow does.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from amazon_sandbox import authorization
from amazon_sandbox.catalog import DEMO_SELLERS, MARKETPLACES, seller_by_id
from amazon_sandbox.models import SandboxState

REGION_NAMES = {"eu": "Europe", "na": "North America"}


class ConsentRefused(Exception):
    """Seller Central shows an error page instead of the consent screen."""

    def __init__(self, title: str, message: str, code: str = "") -> None:
        super().__init__(message)
        self.title = title
        self.message = message
        self.code = code


def _redirect_uri(params, *, state: SandboxState) -> str:
    """The redirect URI to use: the one asked for if registered, else the first registered one."""
    uri = params.get("redirect_uri", "")
    if not uri:
        if state.redirect_uris:
            return state.redirect_uris[0]
        raise ConsentRefused(
            "We are unable to complete your request",
            "The application did not name a redirect URI and has none registered.",
            "MD5101",
        )
    if not authorization.redirect_uri_is_registered(uri, state=state):
        raise ConsentRefused(
            "We are unable to complete your request",
            "The redirect URI is not one the application registered.",
            "MD5101",
        )
    return uri


def _check(params, *, state: SandboxState) -> str:
    if params.get("application_id", "") != settings.SANDBOX_APP_ID:
        raise ConsentRefused(
            "Application not found",
            "We could not find the application you are trying to authorize.",
        )
    if state.app_is_draft and params.get("version", "") != "beta":
        raise ConsentRefused(
            "We are unable to complete your request",
            "The application is in Draft status; the authorization request must include "
            "version=beta.",
            "MD1000",
        )
    return _redirect_uri(params, state=state)


def _with_query(uri: str, **params: str) -> str:
    return f"{uri}{'&' if urlsplit(uri).query else '?'}{urlencode(params)}"


def _error_page(request: HttpRequest, refused: ConsentRefused, region: str) -> HttpResponse:
    response = render(
        request,
        "amazon_sandbox/consent_error.html",
        {"error": refused, "region_name": REGION_NAMES[region]},
        status=400,
    )
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_http_methods(["GET", "POST"])
def consent(request: HttpRequest, region: str) -> HttpResponse:
    """GET shows the consent screen; POST is its Confirm or Cancel button."""
    if region not in REGION_NAMES:
        return HttpResponse("Not found", status=404, content_type="text/plain")
    request.sandbox_operation = "consent" if request.method == "GET" else "consentDecision"
    request.sandbox_region = region
    params = request.GET if request.method == "GET" else request.POST
    state = SandboxState.load()
    try:
        redirect_uri = _check(params, state=state)
    except ConsentRefused as refused:
        return _error_page(request, refused, region)
    if request.method == "POST":
        return _decide(request, region, redirect_uri, state=state)
    sellers = [s for s in DEMO_SELLERS if s.region == region]
    response = render(
        request,
        "amazon_sandbox/consent.html",
        {
            "app_name": settings.SANDBOX_APP_NAME,
            "region_name": REGION_NAMES[region],
            "sellers": [
                (s, ", ".join(MARKETPLACES[m].name for m in s.marketplace_ids)) for s in sellers
            ],
            "application_id": params.get("application_id", ""),
            "state": params.get("state", ""),
            "redirect_uri": params.get("redirect_uri", ""),
            "version": params.get("version", ""),
        },
    )
    response["Referrer-Policy"] = "no-referrer"
    return response


def _decide(
    request: HttpRequest, region: str, redirect_uri: str, *, state: SandboxState
) -> HttpResponse:
    oauth_state = request.POST.get("state", "")
    if request.POST.get("action") == "cancel":
        if state.cancel_mode == SandboxState.CancelMode.REDIRECT:
            return HttpResponseRedirect(
                _with_query(redirect_uri, error="access_denied", state=oauth_state)
            )
        parts = urlsplit(redirect_uri)
        response = render(
            request,
            "amazon_sandbox/consent_cancelled.html",
            {
                "app_name": settings.SANDBOX_APP_NAME,
                "region_name": REGION_NAMES[region],
                "back_url": f"{parts.scheme}://{parts.netloc}/",
            },
        )
        response["Referrer-Policy"] = "no-referrer"
        return response
    seller = seller_by_id(request.POST.get("selling_partner_id", ""), region)
    if seller is None:
        return _error_page(
            request,
            ConsentRefused("Sign-in failed", "Choose one of the listed seller accounts."),
            region,
        )
    request.sandbox_seller = seller.selling_partner_id
    code = authorization.issue_code(seller=seller, redirect_uri=redirect_uri)
    response = HttpResponseRedirect(
        _with_query(
            redirect_uri,
            state=oauth_state,
            selling_partner_id=seller.selling_partner_id,
            spapi_oauth_code=code.code,
        )
    )
    response["Referrer-Policy"] = "no-referrer"
    return response
