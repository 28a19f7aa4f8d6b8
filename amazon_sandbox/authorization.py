"""Consent codes, LWA tokens and access-token checks, as Amazon's authorization services behave.

Every function takes the sandbox time explicitly or reads `clock.now()`; lifetimes are Amazon's
(code 5 min, access token and RDT 1 h) and are not scaled by SANDBOX_TIME_FACTOR.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction

from amazon_sandbox import clock
from amazon_sandbox.catalog import DemoSeller, seller_by_id
from amazon_sandbox.models import AccessToken, AuthorizationCode, RefreshToken, SandboxState

CODE_LIFETIME = timedelta(minutes=5)
ACCESS_TOKEN_LIFETIME = timedelta(hours=1)
GRANTLESS_SCOPES = frozenset({"sellingpartnerapi::notifications", "sellingpartnerapi::migration"})
REGIONS = ("eu", "na")

_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_DEFAULT_CALLBACK_PATH = "/settings/connect/callback/"


class LwaError(Exception):
    """An LWA error answer: `error` and `error_description` as Amazon words them, and the status."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


def invalid_code() -> LwaError:
    return LwaError("invalid_grant", "The request has an invalid grant parameter : code")


def invalid_refresh_token() -> LwaError:
    return LwaError(
        "invalid_grant",
        "The request has an invalid grant parameter : refresh_token. "
        "User may have revoked or didn't grant the permission.",
    )


def _access_token_value() -> str:
    # Amazon's tokens are opaque, a few hundred characters, with these prefixes.
    return "Atza|IwEB" + secrets.token_urlsafe(180)


def _refresh_token_value() -> str:
    return "Atzr|IwEB" + secrets.token_urlsafe(180)


def redirect_uri_is_registered(uri: str, *, state: SandboxState) -> bool:
    """Whether the app registered `uri` (the configured list, or the loopback default rule)."""
    if state.redirect_uris:
        return uri in state.redirect_uris
    parts = urlsplit(uri)
    return (
        parts.scheme == "http"
        and (parts.hostname or "") in _LOOPBACK_HOSTS
        and parts.path.endswith(_DEFAULT_CALLBACK_PATH)
    )


def issue_code(*, seller: DemoSeller, redirect_uri: str) -> AuthorizationCode:
    """A fresh single-use `spapi_oauth_code` for the seller's region."""
    return AuthorizationCode.objects.create(
        code="RH" + secrets.token_hex(10),
        selling_partner_id=seller.selling_partner_id,
        region=seller.region,
        redirect_uri=redirect_uri,
        issued_at=clock.now(),
    )


def issue_refresh_token(*, seller: DemoSeller, source: str) -> RefreshToken:
    """A new refresh token; earlier ones stay valid (as each self-authorization click does)."""
    return RefreshToken.objects.create(
        token=_refresh_token_value(),
        selling_partner_id=seller.selling_partner_id,
        region=seller.region,
        source=source,
        issued_at=clock.now(),
    )


def _issue_access_token(
    *, kind: str, seller_id: str = "", region: str = "", scope: str = "", resources: list
) -> AccessToken:
    issued = clock.now()
    return AccessToken.objects.create(
        token=_access_token_value() if kind != AccessToken.Kind.RESTRICTED else _rdt_value(),
        kind=kind,
        selling_partner_id=seller_id,
        region=region,
        scope=scope,
        restricted_resources=resources,
        issued_at=issued,
        expires_at=issued + ACCESS_TOKEN_LIFETIME,
    )


def _rdt_value() -> str:
    return "Atz.sprdt|IwEB" + secrets.token_urlsafe(180)


def check_client(*, client_id: str, client_secret: str) -> None:
    """Raise invalid_client (401) unless these are the app's credentials and they are accepted."""
    state = SandboxState.load()
    if (
        not secrets.compare_digest(client_id, settings.SANDBOX_LWA_CLIENT_ID)
        or not secrets.compare_digest(client_secret, settings.SANDBOX_LWA_CLIENT_SECRET)
        or not state.client_secret_accepted
    ):
        raise LwaError("invalid_client", "Client authentication failed", 401)


def exchange_code(*, code: str, redirect_uri: str) -> tuple[AccessToken, RefreshToken]:
    """Redeem an authorization code once. Raises LwaError invalid_grant for a bad, expired, reused
    code or a redirect_uri other than the one used at consent."""
    with transaction.atomic():
        row = AuthorizationCode.objects.filter(code=code).first()
        now = clock.now()
        if (
            row is None
            or row.used_at is not None
            or now > row.issued_at + CODE_LIFETIME
            or row.redirect_uri != redirect_uri
        ):
            raise invalid_code()
        row.used_at = now
        row.save(update_fields=["used_at"])
        seller = seller_by_id(row.selling_partner_id, row.region)
        if seller is None:
            raise invalid_code()
        refresh = issue_refresh_token(seller=seller, source=RefreshToken.Source.CONSENT)
        access = _issue_access_token(
            kind=AccessToken.Kind.SELLER,
            seller_id=seller.selling_partner_id,
            region=seller.region,
            resources=[],
        )
    return access, refresh


def refresh_access_token(*, refresh_token: str) -> AccessToken:
    """A new access token for a live refresh token. Raises LwaError invalid_grant otherwise."""
    row = RefreshToken.objects.filter(token=refresh_token, revoked_at__isnull=True).first()
    if row is None or seller_by_id(row.selling_partner_id, row.region) is None:
        raise invalid_refresh_token()
    return _issue_access_token(
        kind=AccessToken.Kind.SELLER,
        seller_id=row.selling_partner_id,
        region=row.region,
        resources=[],
    )


def grantless_token(*, scope: str) -> AccessToken:
    """A grantless token for one of the two grantless scopes. Raises LwaError invalid_scope."""
    if scope not in GRANTLESS_SCOPES:
        raise LwaError("invalid_scope", "The request has an invalid parameter : scope")
    return _issue_access_token(kind=AccessToken.Kind.GRANTLESS, scope=scope, resources=[])


def restricted_data_token(*, caller: Caller, resources: list[tuple[str, str]]) -> AccessToken:
    """An RDT for the caller's seller that grants exactly these (method, path) pairs."""
    return _issue_access_token(
        kind=AccessToken.Kind.RESTRICTED,
        seller_id=caller.seller.selling_partner_id,
        region=caller.seller.region,
        resources=[[method, path] for method, path in resources],
    )


def revoke_seller(*, selling_partner_id: str, region: str) -> tuple[int, int]:
    """Revoke the app's authorization by a seller: every refresh and access token of that seller
    in that region stops working. Returns (refresh tokens, access tokens) revoked. Idempotent."""
    now = clock.now()
    with transaction.atomic():
        refresh = RefreshToken.objects.filter(
            selling_partner_id=selling_partner_id, region=region, revoked_at__isnull=True
        ).update(revoked_at=now)
        access = AccessToken.objects.filter(
            selling_partner_id=selling_partner_id, region=region, revoked_at__isnull=True
        ).update(revoked_at=now)
    return refresh, access


@dataclass(frozen=True)
class Caller:
    """Who an SP-API request acts for: the seller behind a valid access token, and the token."""

    seller: DemoSeller
    token: AccessToken


class Unauthorized(Exception):
    """The access token does not allow this call; `details` is Amazon's details text."""

    def __init__(self, details: str) -> None:
        super().__init__(details)
        self.details = details


MISSING = "Access token is missing in the request header."
INVALID = "The access token you provided is revoked, malformed or invalid."

_SEPARATORS = re.compile(r"\s+")


def authenticate(token_value: str, *, region: str, method: str, path: str, now: datetime) -> Caller:
    """The caller of an SP-API request on `region`'s endpoint, or Unauthorized.

    A Restricted Data Token is valid only for the (method, path) pairs it was created for; a
    seller's LWA token is valid for everything except restricted resources (checked by the view).
    A grantless token, a token of the other region, or a seller unknown to the catalogue gives
    403 with empty details, as Amazon does for a missing role or the wrong endpoint.
    """
    token_value = _SEPARATORS.sub("", token_value or "")
    if not token_value:
        raise Unauthorized(MISSING)
    token = AccessToken.objects.filter(token=token_value).first()
    if token is None or token.revoked_at is not None or now >= token.expires_at:
        raise Unauthorized(INVALID)
    if token.kind == AccessToken.Kind.GRANTLESS or token.region != region:
        raise Unauthorized("")
    if token.kind == AccessToken.Kind.RESTRICTED and [method, path] not in [
        list(pair) for pair in token.restricted_resources
    ]:
        raise Unauthorized("")
    seller = seller_by_id(token.selling_partner_id, token.region)
    if seller is None:
        raise Unauthorized("")
    return Caller(seller=seller, token=token)


NOTIFICATIONS_SCOPE = "sellingpartnerapi::notifications"


def authenticate_grantless(token_value: str, *, scope: str, now: datetime) -> AccessToken:
    """The grantless token of a request to a grantless operation, or Unauthorized.

    A seller's token, an RDT or a grantless token of the other scope gives 403 with empty
    details, as Amazon answers a call its token does not cover.
    """
    token_value = _SEPARATORS.sub("", token_value or "")
    if not token_value:
        raise Unauthorized(MISSING)
    token = AccessToken.objects.filter(token=token_value).first()
    if token is None or token.revoked_at is not None or now >= token.expires_at:
        raise Unauthorized(INVALID)
    if token.kind != AccessToken.Kind.GRANTLESS or token.scope != scope:
        raise Unauthorized("")
    return token
