"""The checks of our side: is the worker running, how long since each report type was imported,
which time no report covers, and which reports did not finish."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from amazon_settings.models import SellerAccount
from amazon_settings.selectors import duration_words, format_moment
from reports import coverage
from reports.catalog import BY_KEY, ReportKind, kinds_for_region
from reports.diagnosis.results import (
    OK,
    PROBLEM,
    WARNING,
    Check,
    Evidence,
    Fix,
    describe_range,
    format_age,
    worst,
)
from reports.models import Report
from reports.selectors import (
    REPORT_LOOK_BACK,
    kind_key,
    last_imports,
    worker_last_seen,
    worker_stale_after,
)
from reports.services.cadences import effective_interval
from reports.stored_texts import translate_stored

Status = Report.ImportStatus
Amazon = Report.AmazonStatus

MAX_EVIDENCE = 12


WORKER_HOW_TO = gettext_lazy(
    "Start the background worker on the server: python manage.py qcluster (make demo starts it "
    "for you). It needs the same settings and database as the web server."
)


def check_worker(account: SellerAccount, *, now: datetime) -> Check:
    """Without the background worker nothing is sent, polled or imported."""
    last_seen = worker_last_seen()
    how = (Fix(_("Start the worker"), method="", text=str(WORKER_HOW_TO)),)
    import_fix = ()
    evidence = []
    if account.order_import_active:
        evidence.append(Evidence(_("Automatic order import is on for this account."), OK))
    else:
        evidence.append(
            Evidence(
                _(
                    "Automatic order import is off for this account: only reports you request "
                    "are imported."
                ),
                WARNING,
            )
        )
        if account.has_token:
            import_fix = (
                Fix(
                    _("Switch order import on"),
                    reverse("amazon_settings:order_import", args=[account.pk]),
                    fields=(("active", "on"),),
                ),
            )
    if last_seen is None:
        return Check(
            "worker",
            _("Background worker"),
            PROBLEM,
            _("The background worker has never run: no report is sent to Amazon or imported."),
            tuple(evidence),
            how + import_fix,
        )
    age = now - last_seen
    evidence.insert(
        0,
        Evidence(
            _("Last seen %(moment)s (%(age)s ago).")
            % {"moment": format_moment(last_seen), "age": format_age(age)}
        ),
    )
    if age > worker_stale_after():
        return Check(
            "worker",
            _("Background worker"),
            WARNING,
            _(
                "The background worker has not run for %(age)s (it runs every %(interval)s): it "
                "may have stopped."
            )
            % {
                "age": format_age(age),
                "interval": duration_words(settings.WORKER_INTERVAL_SECONDS),
            },
            tuple(evidence),
            how + import_fix,
        )
    return Check(
        "worker",
        _("Background worker"),
        WARNING if not account.order_import_active else OK,
        (
            _("The background worker is running (last seen %(age)s ago).")
            if account.order_import_active
            else _(
                "The background worker is running (last seen %(age)s ago). Automatic order "
                "import is off."
            )
        )
        % {"age": format_age(age)},
        tuple(evidence),
        import_fix,
    )


def check_last_imports(account: SellerAccount, *, now: datetime) -> Check:
    """How long since each report type was last imported, against how often it should be."""
    imported = last_imports(account)
    chosen = {row.kind: row for row in account.cadences.all()}
    evidence = []
    statuses = []
    for kind in kinds_for_region(account.region):
        last = imported.get(kind.key)
        interval = effective_interval(chosen.get(kind.key), kind)
        if kind.default_cadence is not None and interval is None:
            evidence.append(Evidence(_("%(kind)s: off in Report cadence.") % {"kind": kind.name}))
            continue
        # A seller who asks for a type less often than usual expects it less often.
        cadence = max(kind.expected_interval, interval or kind.expected_interval)
        if last is None:
            status = PROBLEM if kind.imports_orders and account.order_import_active else ""
            text = _("%(kind)s: never imported.") % {"kind": kind.name}
        else:
            age = now - last
            if age <= cadence + worker_stale_after():
                status = OK
            elif age <= 2 * cadence + worker_stale_after():
                status = WARNING
            else:
                status = PROBLEM if kind.imports_orders else WARNING
            text = _(
                "%(kind)s: last imported %(moment)s (%(age)s ago; expected every %(cadence)s)."
            ) % {
                "kind": kind.name,
                "moment": format_moment(last),
                "age": format_age(age),
                "cadence": format_age(cadence),
            }
        fixes = ()
        if status in (WARNING, PROBLEM) and kind.requestable and kind.offered:
            fixes = (Fix(_("Request it"), reverse("reports:request"), method="get"),)
        evidence.append(Evidence(text, status, fixes=fixes))
        if status:
            statuses.append(status)
    overall = worst(statuses)
    summary = {
        OK: _("Every report type was imported as often as Amazon makes it."),
        WARNING: _("Some report types were not imported as often as expected."),
        PROBLEM: _("Order reports have not been imported for longer than expected."),
    }[overall]
    if not statuses:
        summary = _("Nothing has been imported yet.")
    return Check(
        "last_imports", _("Last import per report type"), overall, summary, tuple(evidence)
    )


def _gap_fix(account: SellerAccount, kind: ReportKind, gap: coverage.Gap) -> Fix:
    return Fix(
        _("Request this range"),
        reverse("reports:diagnosis_request_gap", args=[account.pk]),
        fields=(
            ("kind", kind.key),
            ("start", gap.requestable_start.isoformat()),
            ("end", gap.end.isoformat()),
        ),
    )


def check_gaps(
    account: SellerAccount, *, coverages: list[coverage.KindCoverage], now: datetime
) -> Check:
    """Guide §3: time since the import start date that no imported report covers."""
    evidence = []
    statuses = []
    for cov in coverages:
        kind = cov.kind
        for gap in cov.gaps:
            if not gap.requestable:
                status = WARNING
                text = _(
                    "%(kind)s: %(range)s is not covered, and Amazon keeps this report's data only "
                    "for %(days)s days."
                ) % {
                    "kind": kind.name,
                    "range": describe_range(gap.start, gap.end),
                    "days": kind.look_back.days,
                }
                fixes: tuple[Fix, ...] = ()
            else:
                status = PROBLEM if gap.due else OK
                text = (
                    _("%(kind)s: %(range)s is not covered.")
                    if gap.due
                    else _("%(kind)s: %(range)s is not covered yet (the next report is not due).")
                ) % {"kind": kind.name, "range": describe_range(gap.start, gap.end)}
                fixes = (_gap_fix(account, kind, gap),)
            statuses.append(status)
            evidence.append(Evidence(text, status, fixes=fixes))
        if cov.pending_reports:
            statuses.append(WARNING if not cov.due_gaps else PROBLEM)
            evidence.append(
                Evidence(
                    ngettext(
                        "%(kind)s: %(count)s report is on the way, covering %(ranges)s.",
                        "%(kind)s: %(count)s reports are on the way, covering %(ranges)s.",
                        cov.pending_reports,
                    )
                    % {
                        "kind": kind.name,
                        "count": cov.pending_reports,
                        "ranges": ", ".join(describe_range(s, e) for s, e in cov.pending[:3]),
                    },
                    WARNING,
                    url=f"{reverse('reports:processing')}?account={account.pk}&status=unfinished",
                )
            )
    overall = worst(statuses)
    since = coverage.import_start(account)
    summary = {
        OK: _("Every order report type covers the time since %(moment)s.")
        % {"moment": format_moment(since)},
        WARNING: _("Missing time is being imported, or is older than Amazon keeps."),
        PROBLEM: _("Orders placed in these ranges may be missing: request them."),
    }[overall]
    return Check(
        "gaps", _("Gaps in the imported time"), overall, summary, tuple(evidence[:MAX_EVIDENCE])
    )


def check_reports(
    account: SellerAccount, *, coverages: list[coverage.KindCoverage], now: datetime
) -> Check:
    """Reports of the last 30 days that are stuck, failed, FATAL at Amazon, or were cancelled."""
    covered = {cov.kind.key: cov.covered for cov in coverages}
    reports = (
        Report.objects.filter(account=account, created_at__gte=now - REPORT_LOOK_BACK)
        .filter(
            Q(import_status__in=[Status.FAILED, Status.CANCELLED])
            | Q(amazon_status=Amazon.FATAL)
            | Q(stuck_since__isnull=False, import_status__in=Report.UNFINISHED)
        )
        .order_by("-created_at")
    )
    evidence = []
    statuses = []
    for report in reports[:MAX_EVIDENCE]:
        key = kind_key(report.report_type)
        kind = BY_KEY.get(key or "")
        name = kind.name if kind else report.report_type
        if report.import_status in Report.UNFINISHED:
            label, status = _("stuck at Amazon"), PROBLEM
        elif report.import_status == Status.CANCELLED:
            label, status = _("cancelled"), WARNING
        elif report.amazon_status == Amazon.FATAL:
            label, status = _("FATAL at Amazon"), PROBLEM
        else:
            label = _("failed (%(reason)s)") % {"reason": report.get_failure_reason_display()}
            status = PROBLEM
        if (
            status == PROBLEM
            and report.data_start
            and report.data_end
            and coverage.contains(covered.get(key or "", []), (report.data_start, report.data_end))
        ):
            status = WARNING
            label = _("%(state)s; its range was imported by another report since") % {
                "state": label
            }
        fixes = ()
        if report.import_status in (Status.FAILED, *Report.UNFINISHED):
            fixes = (
                Fix(
                    _("Reset"),
                    reverse("reports:reset", args=[report.pk]),
                    fields=(("next", reverse("reports:diagnosis", args=[account.pk])),),
                ),
            )
        values = {
            "kind": name,
            "report": report.amazon_report_id or f"#{report.pk}",
            "state": label,
            "error": translate_stored(report.last_error),
        }
        if report.data_start and report.data_end:
            values["range"] = describe_range(report.data_start, report.data_end)
            text = (
                _("%(kind)s %(report)s for %(range)s %(state)s: %(error)s")
                if report.last_error
                else _("%(kind)s %(report)s for %(range)s %(state)s")
            )
        else:
            text = (
                _("%(kind)s %(report)s %(state)s: %(error)s")
                if report.last_error
                else _("%(kind)s %(report)s %(state)s")
            )
        evidence.append(
            Evidence(
                text % values,
                status,
                url=reverse("reports:detail", args=[report.pk]),
                fixes=fixes,
            )
        )
        statuses.append(status)
    overall = worst(statuses)
    count = reports.count()
    summary = {
        OK: _("No report of the last 30 days is stuck, failed or cancelled."),
        WARNING: ngettext(
            "%(count)s report of the last 30 days did not finish normally; its range is covered "
            "otherwise, or it was cancelled.",
            "%(count)s reports of the last 30 days did not finish normally; their ranges are "
            "covered otherwise, or they were cancelled.",
            count,
        )
        % {"count": count},
        PROBLEM: ngettext(
            "%(count)s report of the last 30 days did not finish: reset it, or request its range "
            "again.",
            "%(count)s reports of the last 30 days did not finish: reset them, or request their "
            "ranges again.",
            count,
        )
        % {"count": count},
    }[overall]
    return Check(
        "reports", _("Stuck, failed or cancelled reports"), overall, summary, tuple(evidence)
    )
