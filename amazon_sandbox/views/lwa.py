"""Login with Amazon's token endpoint (`POST /auth/o2/token`).

Grants, answers and error bodies as Amazon's "Connecting to the Selling Partner API" guide shows.
"""

from __future__ import annotations

import json
import logging
import time

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST

from amazon_sandbox import authorization, faults
from amazon_sandbox.authorization import LwaError
from amazon_sandbox.models import AccessToken, AuthorizationCode, Fault, RefreshToken

logger = logging.getLogger(__name__)

OPERATION = "lwaToken"


def _answer(body: dict, status: int = 200) -> HttpResponse:
    response = HttpResponse(
        json.dumps(body), status=status, content_type="application/json;charset=UTF-8"
    )
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def _error(error: LwaError) -> HttpResponse:
    return _answer({"error_description": error.description, "error": error.error}, error.status)


def _fields(request: HttpRequest) -> dict[str, str]:
    if (request.content_type or "").lower() == "application/json":
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            body = {}
        return {k: str(v) for k, v in body.items()} if isinstance(body, dict) else {}
    return {k: request.POST.get(k, "") for k in request.POST}


def _required(fields: dict[str, str], *names: str) -> None:
    for name in names:
        if not fields.get(name):
            raise LwaError(
                "invalid_request", f"The request is missing a required parameter : {name}"
            )


def _seller_of(fields: dict[str, str]) -> tuple[str, str]:
    """The seller a grant speaks for, so faults armed for one seller can match; ("", "")."""
    row = None
    if fields.get("grant_type") == "refresh_token":
        row = RefreshToken.objects.filter(token=fields.get("refresh_token", "")).first()
    elif fields.get("grant_type") == "authorization_code":
        row = AuthorizationCode.objects.filter(code=fields.get("code", "")).first()
    return (row.selling_partner_id, row.region) if row else ("", "")


# Faults on LWA answer with RFC 6749-style error bodies; Amazon's exact texts are unknown.
_FAULT_ANSWERS = {
    Fault.Kind.THROTTLE: (429, "temporarily_unavailable", "The request was throttled."),
    Fault.Kind.ERROR_500: (500, "server_error", "Internal server error."),
    Fault.Kind.ERROR_503: (503, "temporarily_unavailable", "Service unavailable."),
    Fault.Kind.DENY: (401, "invalid_client", "Client authentication failed"),
    Fault.Kind.EXPIRE_URL: (400, "invalid_request", "The request is missing a required parameter"),
}


@require_POST
def token(request: HttpRequest) -> HttpResponse:
    """Exchange a code, refresh an access token, or issue a grantless token."""
    request.sandbox_operation = OPERATION
    fields = _fields(request)
    seller_id, region = _seller_of(fields)
    request.sandbox_seller, request.sandbox_region = seller_id, region
    fault = faults.take_http_fault(operation=OPERATION, seller=seller_id, region=region)
    if fault is not None:
        if fault.kind == Fault.Kind.TIMEOUT:
            time.sleep(fault.hold_seconds)
        else:
            status, error, description = _FAULT_ANSWERS[fault.kind]
            return _error(LwaError(error, description, status))
    try:
        return _grant(fields)
    except LwaError as e:
        return _error(e)


def _grant(fields: dict[str, str]) -> HttpResponse:
    _required(fields, "grant_type")
    grant_type = fields["grant_type"]
    if grant_type not in ("authorization_code", "refresh_token", "client_credentials"):
        raise LwaError(
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server",
        )
    _required(fields, "client_id", "client_secret")
    authorization.check_client(client_id=fields["client_id"], client_secret=fields["client_secret"])
    refresh: RefreshToken | None = None
    if grant_type == "authorization_code":
        _required(fields, "code", "redirect_uri")
        access, refresh = authorization.exchange_code(
            code=fields["code"], redirect_uri=fields["redirect_uri"]
        )
    elif grant_type == "refresh_token":
        _required(fields, "refresh_token")
        access = authorization.refresh_access_token(refresh_token=fields["refresh_token"])
    else:
        _required(fields, "scope")
        access = authorization.grantless_token(scope=fields["scope"])
    return _answer(_token_body(access, refresh))


def _token_body(access: AccessToken, refresh: RefreshToken | None) -> dict:
    body: dict = {
        "access_token": access.token,
        "token_type": "bearer",
        "expires_in": int((access.expires_at - access.issued_at).total_seconds()),
    }
    if refresh is not None:
        body["refresh_token"] = refresh.token
    return body
