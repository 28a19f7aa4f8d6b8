"""The check of "Orders missing?" for invoicing: are the invoices of VCS Lite sales issued?"""

from __future__ import annotations

from django.urls import reverse

from amazon_settings.models import SellerAccount
from orders.selectors import invoicing_stop, waiting_transactions
from reports.diagnosis.results import OK, PROBLEM, Check, Evidence, Fix


def check_invoicing(account: SellerAccount) -> Check:
    """Invoices issued here stop while the seller's legal data of a marketplace in VCS Lite
    mode is missing: the sales wait, unnumbered, until it is entered."""
    settings_fix = Fix(
        "Enter the seller's legal data", reverse("orders:invoicing", args=[account.pk]), "get"
    )
    stop = invoicing_stop(account)
    if stop is not None:
        return Check(
            key="invoicing",
            title="Invoices issued here",
            status=PROBLEM,
            summary=stop.message,
            evidence=tuple(
                Evidence(
                    f"{marketplace.name} is in VCS Lite mode; missing: {', '.join(fields)}.",
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
            title="Invoices issued here",
            status=OK,
            summary="No marketplace is in VCS Lite mode: no invoice is issued here.",
            fixes=(Fix("Invoicing settings", settings_fix.url, "get"),),
        )
    waiting = waiting_transactions(account).count()
    evidence = (
        (Evidence(f"{waiting} sales and refunds wait for the worker's next pass.", OK),)
        if waiting
        else ()
    )
    return Check(
        key="invoicing",
        title="Invoices issued here",
        status=OK,
        summary=f"Invoices are issued here for {', '.join(here)}; the seller's data is complete.",
        evidence=evidence,
    )
