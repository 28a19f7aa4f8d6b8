"""The main navigation, mirroring PlentyONE's menus.

Each entry names a URL; an entry whose page does not exist yet is left out, so the menu only
ever offers pages that work. An entry with a permission is shown only to who holds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.functional import Promise, SimpleLazyObject
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class NavEntry:
    label: str | Promise
    url_name: str
    section: str | Promise = ""
    permission: str = ""


NAVIGATION: tuple[NavEntry, ...] = (
    NavEntry(_("Home"), "home"),
    NavEntry(_("Settings"), "amazon_settings:settings"),
    NavEntry(_("Request"), "reports:request", section=_("Reports")),
    NavEntry(_("Processing"), "reports:processing", section=_("Reports")),
    NavEntry(_("Upload a report file"), "reports:upload", section=_("Reports")),
    NavEntry(_("Orders missing?"), "reports:diagnosis_chooser", section=_("Reports")),
    NavEntry(_("Log"), "amazon_settings:log", section=_("Data exchange")),
    NavEntry(_("Scheduled reports"), "reports:schedules", section=_("Data exchange")),
    NavEntry(_("Orders"), "orders:list", section=_("Orders")),
    NavEntry(_("Returns"), "orders:returns", section=_("Orders")),
    NavEntry(_("Stock"), "orders:stock", section=_("Orders")),
    NavEntry(_("Invoices"), "orders:invoices", section=_("Orders")),
    NavEntry(_("Users"), "administration:users", _("Administration"), "core.manage_users"),
    NavEntry(_("Audit log"), "administration:audit", _("Administration"), "core.manage_users"),
    NavEntry(_("API tokens"), "api_tokens:list", _("Administration"), "api.manage_apitoken"),
    NavEntry(_("Webhooks"), "api_webhooks:list", _("Administration"), "api.manage_apitoken"),
)


def available_navigation() -> list[dict[str, str]]:
    """Every menu entry whose page exists, with its URL and the permission it needs."""
    return [dict(entry) for entry in _available_entries(*_menu_key())]


def _menu_key() -> tuple[str, str, str]:
    """What the entries depend on besides NAVIGATION: the language of their labels, and the
    URLconf and script prefix their URLs are reversed in."""
    return (
        get_language() or settings.LANGUAGE_CODE,
        str(get_urlconf() or settings.ROOT_URLCONF),
        get_script_prefix(),
    )


@lru_cache(maxsize=64)
def _available_entries(
    language: str, urlconf: str, script_prefix: str
) -> tuple[dict[str, str], ...]:
    # Reversing sixteen URLs and translating their labels cost about a millisecond a page, the
    # same on every page: done once per language, URLconf and script prefix. The arguments
    # are the cache key; reverse() and the labels read them from the request's thread.
    entries = []
    for entry in NAVIGATION:
        try:
            url = reverse(entry.url_name)
        except NoReverseMatch:
            continue
        label = f"{entry.section} » {entry.label}" if entry.section else str(entry.label)
        entries.append(
            {
                "label": label,
                "short_label": str(entry.label),
                "section": str(entry.section),
                "url": url,
                "url_name": entry.url_name,
                "permission": entry.permission,
            }
        )
    return tuple(entries)


def navigation(request: HttpRequest) -> dict[str, object]:
    """The menu as top-level entries and dropdowns (one per section), the current one marked.

    Built when a template first reads it: an htmx fragment rendered with the request (a
    Processing row every few seconds) shows no menu and pays nothing for it."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {"navigation": []}
    return {"navigation": SimpleLazyObject(lambda: _menu(request))}


def _menu(request: HttpRequest) -> list[dict[str, object]]:
    current = request.resolver_match.view_name if request.resolver_match else ""
    menu: list[dict[str, object]] = []
    sections: dict[str, dict[str, object]] = {}
    for entry in _available_entries(*_menu_key()):
        if entry["permission"] and not request.user.has_perm(entry["permission"]):
            continue
        entry = {**entry, "active": entry["url_name"] == current}
        if not entry["section"]:
            menu.append(entry)
            continue
        if entry["section"] not in sections:
            sections[entry["section"]] = {
                "label": entry["section"],
                "children": [],
                "active": False,
            }
            menu.append(sections[entry["section"]])
        group = sections[entry["section"]]
        group["children"].append(entry)
        group["active"] = group["active"] or entry["active"]
    return menu
