from __future__ import annotations

from django.http import HttpRequest

from amazon_settings.selectors import accounts_needing_attention


def attention_banner(request: HttpRequest) -> dict[str, object]:
    """Accounts whose connection needs the seller, for the banner on every page."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"accounts_needing_attention": accounts_needing_attention()}
