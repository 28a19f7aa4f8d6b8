"""The SP-API error taxonomy in the seller's language.

`spapi/` is plain Python and says what went wrong in English (`str(error)`, which the call log
and the stored evidence keep). What a person reads on a page comes from here instead: the same
headline per error family, translated into the active language, followed by Amazon's own words
(status, code, message), which Amazon sends in English and which are quoted as they are.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from amazon_settings.spapi import (
    DocumentCorrupt,
    DocumentError,
    DocumentTooLarge,
    DocumentUndecodable,
    DocumentUrlExpired,
    SpApiAuthError,
    SpApiError,
    SpApiRequestError,
    SpApiThrottled,
    SpApiTransientError,
)

_AUTH_HEADLINES = {
    "authorization_revoked": lambda: _(
        "Amazon no longer accepts this seller's authorization; the seller must authorize the "
        "app again"
    ),
    "invalid_code": lambda: _(
        "Amazon rejected the authorization code; it expired or was already used, so the seller "
        "must start the authorization again"
    ),
    "client_rejected": lambda: _(
        "Amazon rejected the app's LWA client ID or client secret; check or rotate the client "
        "secret"
    ),
}


def headline(error: SpApiError) -> str:
    """What happened, in the active language (`SpApiError.headline`, translated)."""
    operation = {"operation": error.operation}
    if isinstance(error, DocumentUndecodable):
        return _(
            "The report document is not valid text: byte %(offset)s cannot be decoded as "
            "%(charset)s"
        ) % {"offset": error.offset, "charset": error.charset}
    if isinstance(error, DocumentUrlExpired):
        return _("The report document link expired before the download; a new link is needed")
    if isinstance(error, DocumentTooLarge):
        return _("The report document is larger than this installation accepts")
    if isinstance(error, DocumentCorrupt):
        return _("The report document is damaged (its compressed data is incomplete or invalid)")
    if isinstance(error, DocumentError):
        return _("The report document could not be read")
    if isinstance(error, SpApiThrottled):
        seconds = {**operation, "seconds": max(1, round(error.retry_after))}
        if error.status is None:
            return (
                _(
                    "Too many calls to %(operation)s; the next one is allowed in %(seconds)s s, "
                    "so it was not sent"
                )
                % seconds
            )
        return _("Amazon throttled %(operation)s; try again in %(seconds)s s") % seconds
    if isinstance(error, SpApiTransientError):
        return _("Amazon could not answer %(operation)s right now; it will be retried") % operation
    if isinstance(error, SpApiAuthError):
        text = _AUTH_HEADLINES.get(error.reason)
        if text is not None:
            return text()
        return _("Amazon denied access to %(operation)s") % operation
    if isinstance(error, SpApiRequestError):
        return _("Amazon rejected the request to %(operation)s") % operation
    return _("Amazon could not complete %(operation)s") % operation


def describe(error: SpApiError) -> str:
    """The error as a sentence for a page: the translated headline and Amazon's own words."""
    facts = error.facts()
    return f"{headline(error)} ({facts})" if facts else headline(error)
