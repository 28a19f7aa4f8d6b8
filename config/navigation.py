"""The main navigation, mirroring PlentyONE's menus.

Each entry names a URL; an entry whose page does not exist yet is left out, so the menu only
ever offers pages that work.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class NavEntry:
    label: str
    url_name: str
    section: str = ""


NAVIGATION: tuple[NavEntry, ...] = (
    NavEntry("Home", "home"),
    NavEntry("Settings", "amazon_settings:settings"),
    NavEntry("Request", "reports:request", section="Reports"),
    NavEntry("Processing", "reports:processing", section="Reports"),
    NavEntry("Log", "amazon_settings:log", section="Data exchange"),
    NavEntry("Scheduled reports", "reports:schedules", section="Data exchange"),
    NavEntry("Orders", "orders:list"),
)


def available_navigation() -> list[dict[str, str]]:
    entries = []
    for entry in NAVIGATION:
        try:
            url = reverse(entry.url_name)
        except NoReverseMatch:
            continue
        label = f"{entry.section} » {entry.label}" if entry.section else entry.label
        entries.append({"label": label, "url": url, "url_name": entry.url_name})
    return entries


def navigation(request: HttpRequest) -> dict[str, object]:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {"navigation": []}
    current = request.resolver_match.view_name if request.resolver_match else ""
    return {
        "navigation": [
            {**entry, "active": entry["url_name"] == current} for entry in available_navigation()
        ]
    }
