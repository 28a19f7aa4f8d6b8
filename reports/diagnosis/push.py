"""The check of "Orders missing?" for push: do Amazon's notifications arrive? Orders arrive
through the worker's check either way; push only makes them arrive at once."""

from __future__ import annotations

from datetime import datetime

from django.urls import reverse
from django.utils.translation import gettext as _

from amazon_settings.models import SellerAccount
from amazon_settings.selectors import format_moment, push_status
from reports.diagnosis.results import OK, WARNING, Check, Evidence, Fix


def check_push(account: SellerAccount, *, now: datetime) -> Check:
    """Push active, off, being set up, or not working with its likely cause (the worker's
    push pass finds a finished report whose notification never came)."""
    status = push_status(account)
    settings_fix = Fix(
        _("Open Settings"),
        f"{reverse('amazon_settings:settings')}#push-{account.pk}",
        method="get",
    )
    evidence = []
    if status.key != "unconfigured":
        last = status.last_notification_at
        evidence.append(
            Evidence(
                _("Last notification: %(moment)s.") % {"moment": format_moment(last)}
                if last
                else _("No notification yet.")
            )
        )
    if status.key == "failing":
        return Check(
            "push",
            _("Push notifications"),
            WARNING,
            _("Push is not working: %(explanation)s") % {"explanation": status.explanation},
            tuple(evidence),
            (settings_fix,),
        )
    return Check(
        "push",
        _("Push notifications"),
        OK,
        _("%(status)s. %(explanation)s")
        % {"status": status.label, "explanation": status.explanation},
        tuple(evidence),
        (settings_fix,) if status.switch == "on" else (),
    )
