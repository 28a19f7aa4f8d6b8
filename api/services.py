"""Writes of the API app: making, revoking and using tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from amazon_settings.models import SellerAccount
from api.exceptions import NotAuthenticated, RateLimited, TokenError
from api.models import ApiToken, Scope

TOKEN_PREFIX = "aoi_"  # noqa: S105 - not a secret: what every token starts with
# How often `last_used_at` is written: once a minute is plenty to see a token in use, and
# spares a write per request.
LAST_USED_PRECISION = timedelta(minutes=1)
UNKNOWN_TOKEN = "Unknown API token: send 'Authorization: Bearer <token>' with a valid token."  # noqa: S105
REVOKED_TOKEN = "This API token was revoked: ask an administrator for a new one."  # noqa: S105


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def create_token(
    *,
    name: str,
    scopes: Iterable[str],
    accounts: Iterable[SellerAccount] = (),
    acting_user: AbstractBaseUser | None,
) -> tuple[ApiToken, str]:
    """Make a token; returns it and its secret, which is stored nowhere (only its SHA-256).

    Raises TokenError for a name in use, no scope or an unknown scope.
    """
    name = name.strip()
    scopes = list(dict.fromkeys(scopes))
    unknown = set(scopes) - set(Scope.values)
    if unknown:
        raise TokenError(
            _("Unknown scope(s): %(scopes)s.") % {"scopes": ", ".join(sorted(unknown))}
        )
    if not scopes:
        raise TokenError(_("Choose at least one scope."))
    if ApiToken.objects.filter(name=name).exists():
        raise TokenError(
            _("A token named “%(name)s” exists: choose another name.") % {"name": name}
        )
    prefix = secrets.token_hex(4)
    secret = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        name=name,
        prefix=prefix,
        secret_hash=_hash(secret),
        scopes=scopes,
        created_by=acting_user if acting_user and acting_user.is_authenticated else None,
    )
    token.accounts.set(list(accounts))
    return token, secret


def revoke_token(token: ApiToken, *, acting_user: AbstractBaseUser | None) -> ApiToken:
    """Revoke a token from now on. Idempotent: a revoked token keeps its first revocation."""
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    token.refresh_from_db(fields=["revoked_at"])
    return token


def authenticate_token(secret: str) -> ApiToken:
    """The token a bearer secret belongs to, its `last_used_at` kept (at most a write a minute).

    Raises NotAuthenticated for an unknown or revoked token. The secret is compared by its hash
    in constant time, and never logged.
    """
    prefix = ""
    if secret.startswith(TOKEN_PREFIX):
        prefix = secret[len(TOKEN_PREFIX) :].split("_", 1)[0]
    token = ApiToken.objects.filter(prefix=prefix).first() if prefix else None
    if token is None or not hmac.compare_digest(token.secret_hash, _hash(secret)):
        raise NotAuthenticated(UNKNOWN_TOKEN)
    if token.is_revoked:
        raise NotAuthenticated(REVOKED_TOKEN)
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def _clock() -> float:
    return time.time()


def count_request(token: ApiToken) -> None:
    """Count one request against the token's limit per minute (`API_RATE_LIMIT_PER_MINUTE`),
    a fixed window in the cache shared by every process. Raises RateLimited, with the seconds
    until the window ends, once the limit is used up."""
    limit = settings.API_RATE_LIMIT_PER_MINUTE
    now = _clock()
    window = int(now // 60)
    key = f"api-rate:{token.pk}:{window}"
    cache.add(key, 0, timeout=61)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=61)
        count = 1
    if count > limit:
        retry_after = max(1, int((window + 1) * 60 - now + 0.999))
        raise RateLimited(
            f"Rate limit of {limit} requests per minute reached: retry in {retry_after} s.",
            retry_after=retry_after,
        )
