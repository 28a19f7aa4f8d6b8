"""Consuming the faults armed through the control API (`control.arm_fault`).

A fault matches a call when its operation, seller, region and report type are empty or equal.
Taking one decrements `remaining` inside a transaction, so two concurrent calls never both
consume the last use.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q

from amazon_sandbox.models import Fault, Report

HTTP_KINDS = (
    Fault.Kind.THROTTLE,
    Fault.Kind.ERROR_500,
    Fault.Kind.ERROR_503,
    Fault.Kind.TIMEOUT,
    Fault.Kind.DENY,
    Fault.Kind.EXPIRE_URL,
)
NOTIFICATION_KINDS = (
    Fault.Kind.NOTIFICATION_DROP,
    Fault.Kind.NOTIFICATION_DUPLICATE,
    Fault.Kind.NOTIFICATION_DELAY,
)
REPORT_KINDS = {
    Fault.Kind.REPORT_STUCK: Report.Outcome.STUCK,
    Fault.Kind.REPORT_FATAL: Report.Outcome.FATAL,
    Fault.Kind.REPORT_CANCELLED: Report.Outcome.CANCELLED,
}


def _take(kinds, *, operation: str, seller: str, region: str, report_type: str) -> Fault | None:
    with transaction.atomic():
        fault = (
            Fault.objects.filter(kind__in=kinds, remaining__gt=0)
            .filter(Q(operation="") | Q(operation=operation))
            .filter(Q(selling_partner_id="") | Q(selling_partner_id=seller))
            .filter(Q(region="") | Q(region=region))
            .filter(Q(report_type="") | Q(report_type=report_type))
            .order_by("pk")
            .first()
        )
        if fault is None:
            return None
        fault.remaining -= 1
        if fault.remaining:
            fault.save(update_fields=["remaining"])
        else:
            fault.delete()
            fault.remaining = 0
    return fault


def take_http_fault(*, operation: str, seller: str = "", region: str = "") -> Fault | None:
    """The armed HTTP fault (throttle, 500, 503, timeout, deny, expire_url) for this call, if
    any; consumes it."""
    return _take(HTTP_KINDS, operation=operation, seller=seller, region=region, report_type="")


def take_report_outcome(*, seller: str, region: str, report_type: str) -> str:
    """The forced outcome for a report being created now (a Report.Outcome value, "" if none)."""
    fault = _take(
        tuple(REPORT_KINDS),
        operation="",
        seller=seller,
        region=region,
        report_type=report_type,
    )
    return REPORT_KINDS[fault.kind] if fault else Report.Outcome.NATURAL


def take_notification_fault(*, seller: str, region: str, report_type: str) -> Fault | None:
    """The armed notification fault (drop, duplicate, delay) for the notification of a report
    of this seller and type being decided now, if any; consumes it."""
    return _take(
        NOTIFICATION_KINDS, operation="", seller=seller, region=region, report_type=report_type
    )
