"""The check of "Orders missing?" for invoicing: are the invoices of VCS Lite sales issued?"""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from amazon_settings.models import SellerAccount
from orders.selectors import invoicing_stop, waiting_transactions
from reports.diagnosis.results import OK, PROBLEM, Check, Evidence, Fix


def check_invoicing(account: SellerAccount) -> Check:
    """Invoices issued here stop while the seller's legal data of a marketplace in VCS Lite
    mode is missing: the sales wait, unnumbered, until it is entered."""
    settings_fix = Fix(
        _("Enter the seller's legal data"), reverse("orders:invoicing", args=[account.pk]), "get"
    )
    stop = invoicing_stop(account)
    if stop is not None:
        return Check(
            key="invoicing",
            title=_("Invoices issued here"),
            status=PROBLEM,
            summary=stop.message,
            evidence=tuple(
                Evidence(
                    _("%(marketplace)s is in VCS Lite mode; missing: %(fields)s.")
                    % {"marketplace": marketplace.name, "fields": ", ".join(map(str, fields))},
                    PROBLEM,
                )
                for marketplace, fields in stop.missing
            ),
            fixes=(settings_fix,),
        )
    here = [m.name for m in account.marketplaces.all() if m.issues_invoices_here]
    if not here:
        return Check(
            key="invoicing",
            title=_("Invoices issued here"),
            status=OK,
            summary=_("No marketplace is in VCS Lite mode: no invoice is issued here."),
            fixes=(Fix(_("Invoicing settings"), settings_fix.url, "get"),),
        )
    waiting = waiting_transactions(account).count()
    evidence = (
        (
            Evidence(
                ngettext(
                    "%(count)s sale or refund waits for the worker's next pass.",
                    "%(count)s sales and refunds wait for the worker's next pass.",
                    waiting,
                )
                % {"count": waiting},
                OK,
            ),
        )
        if waiting
        else ()
    )
    return Check(
        key="invoicing",
        title=_("Invoices issued here"),
        status=OK,
        summary=_("Invoices are issued here for %(marketplaces)s; the seller's data is complete.")
        % {"marketplaces": ", ".join(here)},
        evidence=evidence,
    )
