"""django-q2 tasks of the settings app: one-line wrappers around services."""

from __future__ import annotations

from amazon_settings import push, services
from amazon_settings.models import SellerAccount


def prune_api_calls() -> int:
    return services.prune_api_calls()


def subscribe_to_notifications(account_id: int) -> None:
    push.subscribe_account(SellerAccount.objects.get(pk=account_id))
