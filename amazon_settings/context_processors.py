from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from amazon_settings.selectors import accounts_needing_attention


def attention_banner(request: HttpRequest) -> dict[str, object]:
    """Accounts whose connection needs the seller, for the banner on every page.

    Read when a template first shows them: an htmx fragment rendered with the request (a
    Processing row every few seconds) has no banner and asks no query for it."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"accounts_needing_attention": SimpleLazyObject(accounts_needing_attention)}
