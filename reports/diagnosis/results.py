"""What a check of "Orders missing?" answers: a status, the evidence and the fixes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from amazon_settings.models import SellerAccount
from amazon_settings.selectors import format_moment

OK = "ok"
WARNING = "warning"
PROBLEM = "problem"
_RANK = {OK: 0, WARNING: 1, PROBLEM: 2}
TONES = {OK: "success", WARNING: "warning", PROBLEM: "danger"}


def worst(statuses: list[str]) -> str:
    return max(statuses, key=_RANK.__getitem__, default=OK)


def format_age(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 120:
        return ngettext("%(count)d second", "%(count)d seconds", seconds) % {"count": seconds}
    if seconds < 2 * 3600:
        count = seconds // 60
        return ngettext("%(count)d minute", "%(count)d minutes", count) % {"count": count}
    if seconds < 2 * 86400:
        count = seconds // 3600
        return ngettext("%(count)d hour", "%(count)d hours", count) % {"count": count}
    count = seconds // 86400
    return ngettext("%(count)d day", "%(count)d days", count) % {"count": count}


@dataclass(frozen=True)
class Fix:
    """One thing the seller can do about a check: a POST button, a link, or instructions."""

    label: str
    url: str = ""
    method: str = "post"  # "post" (a button), "get" (a link) or "" (text only)
    fields: tuple[tuple[str, str], ...] = ()
    text: str = ""


@dataclass(frozen=True)
class Evidence:
    text: str
    status: str = ""  # "" for plain information
    url: str = ""  # where the evidence can be seen in full
    fixes: tuple[Fix, ...] = ()


@dataclass(frozen=True)
class Check:
    key: str
    title: str
    status: str
    summary: str
    evidence: tuple[Evidence, ...] = ()
    fixes: tuple[Fix, ...] = ()

    @property
    def tone(self) -> str:
        return TONES[self.status]


def renew_fix(account: SellerAccount) -> Fix:
    label = _("Renew access") if account.has_token else _("Connect again")
    return Fix(label, reverse("amazon_settings:renew", args=[account.pk]))


def describe_range(start: datetime, end: datetime) -> str:
    return _("%(start)s to %(end)s (%(length)s)") % {
        "start": format_moment(start),
        "end": format_moment(end),
        "length": format_age(end - start),
    }
