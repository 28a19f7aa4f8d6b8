"""The `state` of Amazon's consent flow: random, bound to the session, single-use, short-lived.

The state travels to Seller Central and back in the callback; comparing it with the copy kept in
the session is what stops a forged or replayed callback (OAuth's CSRF protection).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.utils.translation import gettext as _

from amazon_settings.exceptions import ConsentStateInvalid

SESSION_KEY = "amazon_consent_states"
STATE_LIFETIME_SECONDS = 10 * 60
# A user may have a few consent tabs open; older states beyond this are dropped.
MAX_PENDING_STATES = 5


@dataclass(frozen=True)
class PendingConsent:
    region: str
    redirect_uri: str
    renew_account_id: int | None
    issued_at: float


def consent_url(*, region: str, state: str, redirect_uri: str) -> str:
    """Seller Central's consent page for the region, as Amazon documents it."""
    params = {"application_id": settings.SPAPI_APP_ID, "state": state, "redirect_uri": redirect_uri}
    if settings.SPAPI_APP_IS_DRAFT:
        params["version"] = "beta"
    return f"{settings.SELLER_CENTRAL_URLS[region]}/apps/authorize/consent?{urlencode(params)}"


def issue_state(
    session: SessionBase, *, region: str, redirect_uri: str, renew_account_id: int | None = None
) -> str:
    """Create a state for one consent round trip and remember it in the session."""
    now = time.time()
    pending = {
        state: record
        for state, record in session.get(SESSION_KEY, {}).items()
        if now - record["issued_at"] < STATE_LIFETIME_SECONDS
    }
    state = secrets.token_urlsafe(32)
    pending[state] = {
        "region": region,
        "redirect_uri": redirect_uri,
        "renew_account_id": renew_account_id,
        "issued_at": now,
    }
    newest = sorted(pending.items(), key=lambda item: item[1]["issued_at"])[-MAX_PENDING_STATES:]
    session[SESSION_KEY] = dict(newest)
    return state


def consume_state(session: SessionBase, state: str) -> PendingConsent:
    """Take the state out of the session. Raises ConsentStateInvalid if it is not usable.

    Single use: the state is removed whatever the outcome, so a replayed callback fails.
    """
    if not state:
        raise ConsentStateInvalid(
            _("Amazon's answer carried no state. Start the connection again from Settings.")
        )
    pending = dict(session.get(SESSION_KEY, {}))
    record = pending.pop(state, None)
    session[SESSION_KEY] = pending
    if record is None:
        raise ConsentStateInvalid(
            _(
                "This authorization answer does not belong to a connection you started here, "
                "or it was already used. Start the connection again from Settings."
            )
        )
    if time.time() - record["issued_at"] >= STATE_LIFETIME_SECONDS:
        raise ConsentStateInvalid(
            _(
                "The authorization took longer than 10 minutes and has expired. "
                "Start the connection again from Settings."
            )
        )
    return PendingConsent(
        region=record["region"],
        redirect_uri=record["redirect_uri"],
        renew_account_id=record["renew_account_id"],
        issued_at=record["issued_at"],
    )
