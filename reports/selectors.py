"""Reads of the reports pipeline that are more than a filter."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Max, Q, QuerySet

from amazon_settings.models import SellerAccount
from reports import coverage
from reports.catalog import BY_KEY, kind_for_report_type
from reports.models import EmailCondition, NotificationPreference, Report, WorkerHeartbeat

# How far back the pages look for reports that did not finish.
REPORT_LOOK_BACK = timedelta(days=30)


def worker_last_seen() -> datetime | None:
    heartbeat = WorkerHeartbeat.objects.filter(name=WorkerHeartbeat.WORKER).first()
    return heartbeat.last_seen_at if heartbeat else None


# Reports nobody asked for by hand: those the worker requested and those Amazon made on a
# schedule. Ended without data, they are folded into one line on Processing.
UNATTENDED_SOURCES = (Report.Source.AUTOMATIC, Report.Source.SCHEDULE)


def report_list(
    *,
    account: SellerAccount | None = None,
    report_types: list[str] | None = None,
    import_status: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    fold_empty_automatic: bool = False,
) -> QuerySet[Report]:
    """Reports for the Processing page, newest first, with what each row shows. With
    `fold_empty_automatic`, without the automatic ones that ended without data
    (`empty_automatic_reports` lists those)."""
    reports = Report.objects.select_related("account", "requested_by")
    if fold_empty_automatic:
        reports = reports.exclude(
            import_status=Report.ImportStatus.NO_DATA, source__in=UNATTENDED_SOURCES
        )
    if account is not None:
        reports = reports.filter(account=account)
    if report_types:
        reports = reports.filter(report_type__in=report_types)
    if import_status == "unfinished":
        reports = reports.filter(import_status__in=Report.UNFINISHED)
    elif import_status:
        reports = reports.filter(import_status=import_status)
    if since is not None:
        reports = reports.filter(created_at__gte=since)
    if until is not None:
        reports = reports.filter(created_at__lt=until)
    return reports.order_by("-created_at", "-pk")


def empty_automatic_reports(
    *,
    account: SellerAccount | None = None,
    report_types: list[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    **ignored: object,
) -> QuerySet[Report]:
    """The automatic and scheduled reports that ended without data, newest first, under the
    Processing filters (their status filter aside)."""
    return report_list(
        account=account,
        report_types=report_types,
        import_status=Report.ImportStatus.NO_DATA,
        since=since,
        until=until,
    ).filter(source__in=UNATTENDED_SOURCES)


def count_up_to(reports: QuerySet[Report], limit: int) -> int:
    """How many reports there are, counting no further than `limit` + 1 (so a page never
    counts a table of millions: "1,000+" is answer enough)."""
    return len(reports.order_by().values_list("pk", flat=True)[: limit + 1])


def worker_stale_after() -> timedelta:
    return max(timedelta(seconds=2 * settings.WORKER_INTERVAL_SECONDS), timedelta(minutes=3))


def last_imports(account: SellerAccount) -> dict[str, datetime]:
    """Report type → when a report of it was last imported (or found empty) for the account."""
    return accounts_last_imports([account])[account.pk]


def accounts_last_imports(accounts: Sequence[SellerAccount]) -> dict[int, dict[str, datetime]]:
    """`last_imports` of each account (by pk), in one query."""
    rows = (
        Report.objects.filter(account__in=accounts, import_status__in=coverage.COVERING_STATUSES)
        .values("account_id", "report_type")
        .annotate(last=Max("imported_at"), updated=Max("updated_at"))
        .order_by()
    )
    result: dict[int, dict[str, datetime]] = {account.pk: {} for account in accounts}
    for row in rows:
        kind = BY_KEY.get(kind_key(row["report_type"]) or "")
        key = kind.key if kind else row["report_type"]
        moment = row["last"] or row["updated"]
        imported = result[row["account_id"]]
        if key not in imported or moment > imported[key]:
            imported[key] = moment
    return result


def kind_key(report_type: str) -> str | None:
    kind = kind_for_report_type(report_type)
    return kind.key if kind else None


@dataclass(frozen=True)
class Recipient:
    """A user who may receive notification mails, and the conditions they receive."""

    user: AbstractBaseUser
    conditions: frozenset[str]


def _operators() -> Q:
    """Users who may operate: superusers and holders of `core.operate` (through a group or
    directly), the role that can fix what a notification reports."""
    operate = {"permissions__codename": "operate", "permissions__content_type__app_label": "core"}
    return (
        Q(is_superuser=True)
        | Q(**{f"groups__{key}": value for key, value in operate.items()})
        | Q(**{f"user_{key}": value for key, value in operate.items()})
    )


def default_notification_conditions(*, operates: bool) -> frozenset[str]:
    """What a user who never chose receives: everything for those who can act on it
    (Operators and administrators), nothing for Viewers, who would only be told what they may
    not fix. Anyone may change it on their profile."""
    return frozenset(EmailCondition.values) if operates else frozenset()


def notification_conditions(user: AbstractBaseUser) -> frozenset[str]:
    """The conditions `user` receives: their choice, or their role's default."""
    preference = NotificationPreference.objects.filter(user=user).first()
    if preference is not None:
        return preference.conditions
    operates = get_user_model().objects.filter(_operators(), pk=user.pk).exists()
    return default_notification_conditions(operates=operates)


def notification_recipients() -> list[Recipient]:
    """Every active user with an e-mail address who receives at least one condition, with
    their preference and (when `core` has it) their language loaded: two queries, however
    many users."""
    user_model = get_user_model()
    users = (
        user_model.objects.filter(is_active=True)
        .exclude(email="")
        .select_related("notification_preference")
        .order_by("pk")
    )
    related = {relation.name for relation in user_model._meta.related_objects}
    if "preference" in related:
        users = users.select_related("preference")
    users = list(users)
    undecided = [user.pk for user in users if not _has_preference(user)]
    operators = set(
        user_model.objects.filter(_operators(), pk__in=undecided).values_list("pk", flat=True)
        if undecided
        else ()
    )
    recipients = []
    for user in users:
        if _has_preference(user):
            conditions = user.notification_preference.conditions
        else:
            conditions = default_notification_conditions(operates=user.pk in operators)
        if conditions:
            recipients.append(Recipient(user=user, conditions=conditions))
    return recipients


def _has_preference(user: AbstractBaseUser) -> bool:
    try:
        user.notification_preference  # noqa: B018 (loaded by select_related)
    except NotificationPreference.DoesNotExist:
        return False
    return True
