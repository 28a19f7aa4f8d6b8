"""django-q2 tasks of the settings app: one-line wrappers around services."""

from __future__ import annotations

from amazon_settings import services


def prune_api_calls() -> int:
    return services.prune_api_calls()
