"""How often each report type of an account is imported by itself: its cadence.

Every account has one `ReportCadence` per report type the worker imports by itself
(`reports.catalog.automatic_kinds`), created with the catalogue's default and changed by the
seller in Settings » Report cadence. A type Amazon lets schedule is made by an Amazon-side
schedule of that period (`sync_amazon_schedule`); the others are requested by the worker when
due (`reports.services.requesting.request_automatic_reports`). The cadence applies while the
account's order import is on.

A row's `next_request_at` is when the worker looks at the type again. The worker takes the row
with `claim_cadence`, a guarded UPDATE that moves that moment forward, so two worker passes at
once never both request the same type.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from amazon_settings import services as account_services
from amazon_settings.models import SellerAccount
from amazon_settings.spapi import SpApiError, SpApiRequestError
from core.audit import SEPARATOR, record_audit_event
from reports import stored_texts as texts
from reports.catalog import BY_KEY, ReportKind, automatic_kinds
from reports.exceptions import InvalidReportRequest
from reports.models import ReportCadence
from reports.services.report_schedules import period_phrase

logger = logging.getLogger(__name__)

# Amazon's schedule periods that are a fixed length of time (a month is not), shortest first:
# the cadences a seller may choose, so that every one of them can be an Amazon-side schedule.
PERIODS: tuple[tuple[str, timedelta], ...] = (
    ("PT5M", timedelta(minutes=5)),
    ("PT15M", timedelta(minutes=15)),
    ("PT30M", timedelta(minutes=30)),
    ("PT1H", timedelta(hours=1)),
    ("PT2H", timedelta(hours=2)),
    ("PT4H", timedelta(hours=4)),
    ("PT8H", timedelta(hours=8)),
    ("PT12H", timedelta(hours=12)),
    ("P1D", timedelta(days=1)),
    ("P2D", timedelta(days=2)),
    ("P3D", timedelta(days=3)),
    ("PT84H", timedelta(hours=84)),
    ("P7D", timedelta(days=7)),
    ("P14D", timedelta(days=14)),
    ("P15D", timedelta(days=15)),
    ("P18D", timedelta(days=18)),
    ("P30D", timedelta(days=30)),
)
PERIOD_BY_INTERVAL: dict[timedelta, str] = {interval: period for period, interval in PERIODS}
# How long a worker pass holds a cadence it claimed; should it die meanwhile, another pass
# takes the type over after this.
CLAIM = timedelta(minutes=10)
# What a ReportCadence knows of the Amazon-side schedule it made.
SCHEDULE_FIELDS = [
    "amazon_schedule_id",
    "amazon_schedule_period",
    "amazon_schedule_marketplaces",
    "amazon_schedule_created_at",
]
# The audit log's action for a change of cadence (page actions are named by their URL name).
AUDIT_ACTION = "reports:cadence_changed"


def interval_label(interval: timedelta | None) -> str:
    """The cadence in words: "every 15 minutes", "every day", or "off"."""
    if interval is None:
        return _("off")
    period = PERIOD_BY_INTERVAL.get(interval)
    if period is not None:
        return period_phrase(period)
    minutes = int(interval.total_seconds() // 60)
    return _("every %(minutes)s minutes") % {"minutes": minutes}


def effective_interval(cadence: ReportCadence | None, kind: ReportKind) -> timedelta | None:
    """How often the type is imported: the seller's choice, else the default; None when off."""
    if cadence is not None and not cadence.active:
        return None
    if cadence is not None and cadence.interval is not None:
        return cadence.interval
    return kind.default_cadence


def uses_amazon_schedule(kind: ReportKind, interval: timedelta | None) -> bool:
    """Whether Amazon makes the type on a schedule (it allows one, and the cadence is one of
    its periods) rather than the worker requesting it."""
    return kind.schedulable and interval in PERIOD_BY_INTERVAL


def cadence_problem(kind: ReportKind, interval: timedelta | None) -> str:
    """The sentence that says why `interval` cannot be the type's cadence; "" when it can."""
    if interval is None:
        return ""
    if interval not in PERIOD_BY_INTERVAL:
        return _("Choose one of the periods offered.")
    if interval < kind.shortest_cadence:
        return _("Amazon makes this report at most %(period)s: choose that or longer.") % {
            "period": interval_label(kind.shortest_cadence)
        }
    worker = timedelta(seconds=settings.WORKER_INTERVAL_SECONDS)
    if not kind.schedulable and interval < worker:
        return _("The worker asks Amazon every %(minutes)s minutes: choose that or longer.") % {
            "minutes": f"{worker.total_seconds() / 60:g}"
        }
    return ""


def marketplaces_for(account: SellerAccount, kind: ReportKind) -> list[str]:
    """The marketplace IDs the type is imported for: the selected ones, and for the invoice
    reports only those in an invoicing mode that uses it. Sorted, as reports store them."""
    marketplaces = account.marketplaces.filter(selected=True)
    if kind.invoicing_modes:
        marketplaces = marketplaces.filter(invoicing_mode__in=kind.invoicing_modes)
    return sorted(marketplaces.values_list("marketplace_id", flat=True))


def ensure_cadences(
    account: SellerAccount, *, now: datetime | None = None
) -> dict[str, ReportCadence]:
    """The account's cadence rows by kind key, the missing ones created with the defaults and
    due at once. Idempotent: a row created meanwhile by another process is read, not doubled."""
    now = now or timezone.now()
    rows = {row.kind: row for row in account.cadences.all()}
    missing = [k for k in automatic_kinds(account.region) if k.key not in rows]
    if missing:
        ReportCadence.objects.bulk_create(
            [ReportCadence(account=account, kind=k.key, next_request_at=now) for k in missing],
            ignore_conflicts=True,
        )
        rows = {row.kind: row for row in account.cadences.all()}
    return rows


def ensure_cadences_of_active_accounts(*, now: datetime | None = None) -> int:
    """Give every account with order import on that has no cadence yet its rows (an account
    switched on in Settings, or one from before cadences). One query when none is missing.
    Returns how many accounts got rows."""
    accounts = list(SellerAccount.objects.filter(order_import_active=True, cadences__isnull=True))
    for account in accounts:
        ensure_cadences(account, now=now)
    return len(accounts)


def due_cadences(*, now: datetime, account: SellerAccount | None = None) -> list[ReportCadence]:
    """Cadences whose type the worker should look at now, of accounts with order import on
    that the worker may call Amazon for (or of `account` alone), with their accounts. Order
    reports first, so that the first orders of a new account come before its stock."""
    rows = ReportCadence.objects.filter(next_request_at__lte=now).select_related("account")
    if account is not None:
        rows = rows.filter(account=account)
    else:
        rows = rows.filter(
            account__in=SellerAccount.objects.usable(), account__order_import_active=True
        )
    return sorted(rows, key=_priority)


def _priority(cadence: ReportCadence) -> tuple:
    kind = BY_KEY.get(cadence.kind)
    if kind is None:
        return (3, cadence.account_id, cadence.kind)
    rank = 0 if kind.imports_orders else 1 if kind.tracks_statuses else 2
    return (cadence.account_id, rank, cadence.kind)


def claim_cadence(cadence: ReportCadence, *, now: datetime) -> bool:
    """Take the type for this worker pass if it is still due, in one guarded UPDATE: of two
    passes that both found it due, only one gets it. The other finds nothing to do; the
    winner sets the next moment when it is done (`reschedule`)."""
    taken = ReportCadence.objects.filter(pk=cadence.pk, next_request_at__lte=now).update(
        next_request_at=now + CLAIM
    )
    return bool(taken)


def reschedule(
    cadence: ReportCadence, *, next_request_at: datetime, requested_at: datetime | None = None
) -> None:
    """When the worker looks at the type again (and, after a request, when it requested)."""
    fields = {"next_request_at": next_request_at}
    if requested_at is not None:
        fields["last_requested_at"] = requested_at
    ReportCadence.objects.filter(pk=cadence.pk).update(**fields)
    for name, value in fields.items():
        setattr(cadence, name, value)


@dataclass(frozen=True)
class CadenceView:
    """What Settings shows about one type's cadence."""

    kind: ReportKind
    interval: timedelta | None
    is_default: bool
    via_schedule: bool
    marketplaces: list[str]
    cadence: ReportCadence | None

    @property
    def label(self) -> str:
        return interval_label(self.interval)

    @property
    def default_label(self) -> str:
        return interval_label(self.kind.default_cadence)

    @property
    def how(self) -> str:
        """How the type comes, in a few words ("" when it is off)."""
        if self.interval is None:
            return ""
        if not self.marketplaces:
            if self.kind.invoicing_modes:
                return _("not used: no marketplace's invoicing uses it")
            return _("not used: no marketplace is selected")
        return _("on an Amazon schedule") if self.via_schedule else _("requested by the worker")

    @property
    def schedule_error(self) -> str:
        return self.cadence.schedule_error if self.cadence is not None else ""


def account_cadences(account: SellerAccount) -> list[CadenceView]:
    """Each automatic type of the account with its cadence, in catalogue order. Reads only."""
    rows = {row.kind: row for row in account.cadences.all()}
    views = []
    for kind in automatic_kinds(account.region):
        row = rows.get(kind.key)
        interval = effective_interval(row, kind)
        views.append(
            CadenceView(
                kind=kind,
                interval=interval,
                is_default=row is None or (row.active and row.interval is None),
                via_schedule=uses_amazon_schedule(kind, interval),
                marketplaces=marketplaces_for(account, kind),
                cadence=row,
            )
        )
    return views


def set_cadences(
    account: SellerAccount,
    *,
    intervals: Mapping[str, timedelta | None],
    acting_user: AbstractBaseUser | None,
) -> list[str]:
    """Store the seller's cadence per kind key (None: off; the default's value: the default)
    and have the worker apply each change at its next pass. Records one audit event naming the
    changes. Returns the changes as sentences ("Stock report: every hour → every 2 hours").

    Raises InvalidReportRequest (with the kind key as its field) for a type the account does
    not import by itself or a cadence Amazon or the worker cannot keep; nothing is stored then.
    """
    kinds = {kind.key: kind for kind in automatic_kinds(account.region)}
    for key, interval in intervals.items():
        kind = kinds.get(key)
        if kind is None:
            raise InvalidReportRequest(
                _("%(account)s does not import %(kind)s by itself.")
                % {"account": account.display_name, "kind": key},
                field=key,
            )
        if problem := cadence_problem(kind, interval):
            raise InvalidReportRequest(problem, field=key)
    now = timezone.now()
    changes = []
    audited: list[str] = []
    with transaction.atomic():
        rows = ensure_cadences(account, now=now)
        for key, interval in intervals.items():
            kind, row = kinds[key], rows[key]
            before = effective_interval(row, kind)
            if interval == before:
                continue
            row.active = interval is not None
            row.interval = None if interval in (None, kind.default_cadence) else interval
            # The worker applies the change (requests, or changes Amazon's schedule) at once.
            row.next_request_at = now
            row.schedule_error = ""
            row.save(update_fields=["active", "interval", "next_request_at", "schedule_error"])
            changes.append(f"{kind.name}: {interval_label(before)} → {interval_label(interval)}")
            # The audit log stores English and translates when it shows the event.
            with translation.override("en"):
                audited.append(
                    texts.stored_text(
                        texts.CADENCE_CHANGED,
                        kind=kind.name,
                        # As the page's choices name them ("Every hour", "Off"), which the
                        # catalogue holds, so the log can show them in the reader's language.
                        before=capfirst(interval_label(before)),
                        after=capfirst(interval_label(interval)),
                    )
                )
        if changes:
            record_audit_event(
                user=acting_user,
                action=AUDIT_ACTION,
                object_type="seller account",
                object_id=str(account.pk),
                detail=SEPARATOR.join(audited),
            )
    if changes:
        logger.info(
            "Cadence of %s changed by %s: %s",
            account,
            getattr(acting_user, "pk", None),
            "; ".join(changes),
        )
    return changes


def sync_amazon_schedule(
    cadence: ReportCadence, *, kind: ReportKind, marketplaces: Iterable[str]
) -> bool:
    """Make the Amazon-side schedule of a schedulable type match the cadence: create it (or
    replace it, for new marketplaces or a new period), or cancel it when the type is off, not
    needed or the account's import is paused. Calls Amazon only when something changed.

    Returns whether Amazon now makes the type on our schedule. A refusal is kept in
    `schedule_error` (Settings shows it) and the worker then requests the type itself; the
    call's outcome is recorded on the account like every call (`call_amazon`).
    """
    account = cadence.account
    interval = effective_interval(cadence, kind)
    wanted_marketplaces = sorted(marketplaces)
    wanted = None
    if account.order_import_active and wanted_marketplaces and uses_amazon_schedule(kind, interval):
        wanted = (PERIOD_BY_INTERVAL[interval], wanted_marketplaces)
    have = None
    if cadence.amazon_schedule_id:
        have = (cadence.amazon_schedule_period, sorted(cadence.amazon_schedule_marketplaces))
    if wanted == have:
        return wanted is not None
    try:
        if have is not None and (wanted is None or wanted[1] != have[1]):
            # Amazon replaces a schedule of the same type and marketplaces by itself; one for
            # other marketplaces would go on next to the new one.
            _cancel_schedule(account, cadence.amazon_schedule_id)
            cadence.amazon_schedule_id = ""
        if wanted is not None:
            period, marketplace_ids = wanted
            cadence.amazon_schedule_id = account_services.call_amazon(
                account,
                lambda client: client.create_report_schedule(
                    report_type=kind.report_type, marketplace_ids=marketplace_ids, period=period
                ),
            )
            cadence.amazon_schedule_period = period
            cadence.amazon_schedule_marketplaces = marketplace_ids
            cadence.amazon_schedule_created_at = timezone.now()
        else:
            cadence.amazon_schedule_period = ""
            cadence.amazon_schedule_marketplaces = []
            cadence.amazon_schedule_created_at = None
        cadence.schedule_error = ""
    except SpApiError as error:
        cadence.schedule_error = texts.stored_text(texts.SCHEDULE_REFUSED, error=error)[:500]
        logger.warning("Schedule of %s for %s: %s", kind.report_type, account, error)
    cadence.save(update_fields=[*SCHEDULE_FIELDS, "schedule_error"])
    return bool(cadence.amazon_schedule_id) and wanted is not None


def forget_amazon_schedule(cadence: ReportCadence) -> None:
    """Take the schedule for gone, so that the worker creates it again at its next look."""
    cadence.amazon_schedule_id = ""
    cadence.amazon_schedule_period = ""
    cadence.amazon_schedule_marketplaces = []
    cadence.save(
        update_fields=[
            "amazon_schedule_id",
            "amazon_schedule_period",
            "amazon_schedule_marketplaces",
        ]
    )


def _cancel_schedule(account: SellerAccount, schedule_id: str) -> None:
    try:
        account_services.call_amazon(
            account, lambda client: client.cancel_report_schedule(schedule_id)
        )
    except SpApiRequestError as error:
        # Cancelled already (in Seller Central, or replaced by another schedule): gone is gone.
        if error.status != 404:
            raise


def cancel_paused_schedules() -> int:
    """Cancel the Amazon-side schedules of accounts whose order import is off, so that Amazon
    stops making reports nobody imports. Returns how many were cancelled."""
    cancelled = 0
    rows = (
        ReportCadence.objects.exclude(amazon_schedule_id="")
        .filter(account__order_import_active=False, account__in=SellerAccount.objects.usable())
        .select_related("account")
    )
    for cadence in rows:
        kind = BY_KEY.get(cadence.kind)
        if kind is None:
            continue
        # A refusal stays in schedule_error; the next pass tries again.
        sync_amazon_schedule(cadence, kind=kind, marketplaces=[])
        cancelled += not cadence.amazon_schedule_id
    return cancelled
