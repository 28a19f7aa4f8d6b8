"""`{{ account|push_status }}`: the account's push state as Settings shows it."""

from __future__ import annotations

from django import template

from amazon_settings import selectors
from amazon_settings.models import SellerAccount

register = template.Library()


@register.filter
def push_status(account: SellerAccount) -> selectors.PushStatus:
    return selectors.push_status(account)
