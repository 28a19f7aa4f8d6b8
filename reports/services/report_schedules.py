"""Amazon-side report schedules (Data exchange » Reports » Scheduled reports).

These are schedules Amazon keeps and runs itself (createReportSchedule): Amazon then creates the
report every period, and the worker's discovery imports it. Not to be confused with the
django-q2 schedules of our own worker (`reports.services.worker`).

A seller waits on each of these calls, so they go through
`amazon_settings.services.call_amazon_for_user`: logged, counted as evidence for the account's
connection status, retried once when Amazon does not answer. Errors: `AmazonCallFailed` (its
text is a sentence a seller can read), `AccountNotConnected`, or `InvalidReportRequest` for a
report type or period this account cannot schedule.
"""

from __future__ import annotations

import logging

from django.contrib.auth.models import AbstractBaseUser
from django.utils.translation import gettext as gettext_now
from django.utils.translation import gettext_lazy as _

from amazon_settings import services as account_services
from amazon_settings.models import SellerAccount
from amazon_settings.spapi import ReportSchedule
from reports.catalog import kind_for_report_type, kinds_for_region
from reports.exceptions import InvalidReportRequest

logger = logging.getLogger(__name__)

# Amazon's allowed `period` values for createReportSchedule (ISO 8601 durations).
SCHEDULE_PERIODS: tuple[tuple[str, str], ...] = (
    ("PT5M", _("Every 5 minutes")),
    ("PT15M", _("Every 15 minutes")),
    ("PT30M", _("Every 30 minutes")),
    ("PT1H", _("Every hour")),
    ("PT2H", _("Every 2 hours")),
    ("PT4H", _("Every 4 hours")),
    ("PT8H", _("Every 8 hours")),
    ("PT12H", _("Every 12 hours")),
    ("P1D", _("Every day")),
    ("P2D", _("Every 2 days")),
    ("P3D", _("Every 3 days")),
    ("PT84H", _("Every 3.5 days (84 hours)")),
    ("P7D", _("Every week")),
    ("P14D", _("Every 2 weeks")),
    ("P15D", _("Every 15 days")),
    ("P18D", _("Every 18 days")),
    ("P30D", _("Every 30 days")),
    ("P1M", _("Every month")),
)
PERIOD_LABELS: dict[str, str] = dict(SCHEDULE_PERIODS)


def period_phrase(period: str) -> str:
    """The period in the active language for the middle of a sentence: "every 2 hours"."""
    label = str(PERIOD_LABELS[period])
    return label[:1].lower() + label[1:]


# getReportSchedules accepts at most 10 report types per call.
MAX_TYPES_PER_CALL = 10


def schedulable_report_types(region: str) -> list[tuple[str, str]]:
    """(Amazon report type, label) for the catalogue's schedulable kinds of a region, with the
    XML twins Amazon delivers only on a schedule."""
    choices = []
    for kind in kinds_for_region(region):
        if not kind.schedulable:
            continue
        choices.append((kind.report_type, kind.name))
        choices += [(twin, f"{kind.name} (XML)") for twin in kind.twin_report_types]
    return choices


def report_type_label(report_type: str) -> str:
    kind = kind_for_report_type(report_type)
    if kind is None:
        return report_type
    return kind.name if report_type == kind.report_type else f"{kind.name} (XML)"


def list_report_schedules(account: SellerAccount) -> list[ReportSchedule]:
    """Amazon's schedules for the account's schedulable catalogue types. Read-only.

    Raises AccountNotConnected or AmazonCallFailed.
    """
    report_types = [report_type for report_type, _ in schedulable_report_types(account.region)]
    schedules: list[ReportSchedule] = []
    for offset in range(0, len(report_types), MAX_TYPES_PER_CALL):
        chunk = report_types[offset : offset + MAX_TYPES_PER_CALL]
        schedules += account_services.call_amazon_for_user(
            account, lambda client, chunk=chunk: client.get_report_schedules(report_types=chunk)
        )
    return sorted(schedules, key=lambda s: (report_type_label(s.report_type), s.period))


def create_report_schedule(
    account: SellerAccount,
    *,
    report_type: str,
    period: str,
    marketplace_ids: list[str],
    acting_user: AbstractBaseUser | None,
) -> str:
    """Ask Amazon to create `report_type` every `period`; returns Amazon's schedule ID.

    Amazon replaces an existing schedule for the same type and marketplaces, so creating the
    same schedule twice leaves one. Raises InvalidReportRequest, AccountNotConnected,
    AmazonCallFailed.
    """
    if report_type not in dict(schedulable_report_types(account.region)):
        raise InvalidReportRequest(
            gettext_now("%(report_type)s cannot be scheduled for %(region)s.")
            % {
                "report_type": report_type_label(report_type),
                "region": account.get_region_display(),
            }
        )
    if period not in PERIOD_LABELS:
        raise InvalidReportRequest(
            gettext_now("Amazon does not offer the period %(period)s.") % {"period": period}
        )
    if not marketplace_ids:
        raise InvalidReportRequest(gettext_now("Choose at least one marketplace."))
    schedule_id = account_services.call_amazon_for_user(
        account,
        lambda client: client.create_report_schedule(
            report_type=report_type, marketplace_ids=sorted(marketplace_ids), period=period
        ),
    )
    logger.info(
        "Schedule %s (%s, %s) created for %s by %s",
        schedule_id,
        report_type,
        period,
        account,
        getattr(acting_user, "pk", None),
    )
    return schedule_id


def cancel_report_schedule(
    account: SellerAccount, *, report_schedule_id: str, acting_user: AbstractBaseUser | None
) -> None:
    """Stop an Amazon schedule. Raises AccountNotConnected or AmazonCallFailed (e.g. unknown ID)."""
    account_services.call_amazon_for_user(
        account, lambda client: client.cancel_report_schedule(report_schedule_id)
    )
    logger.info(
        "Schedule %s cancelled for %s by %s",
        report_schedule_id,
        account,
        getattr(acting_user, "pk", None),
    )
