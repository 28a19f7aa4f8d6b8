""" "Orders missing?": the order-import troubleshooting guide as checks run against live evidence.

Each check reads what the product already records (the account's connection evidence, the call
log, the worker's heartbeat, the reports and what they covered) and answers with a status, the
evidence behind it and the fixes that apply. Nothing here calls Amazon: the page's test call
(the same as Settings' "Test connection") is made by the worker
(`reports.services.connection_tests`) and its answers are handed in; the checks are reads
(`reports.diagnosis.access`, `reports.diagnosis.imports`). The writes the page offers are
services (`reports.services.requesting`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from amazon_settings.models import SellerAccount
from amazon_settings.selectors import ConnectionStatus, connection_status
from amazon_settings.services import ConnectionCheck
from reports import coverage
from reports.diagnosis.access import (
    check_access_rights,
    check_authorization,
    check_expiry,
    check_throttling,
)
from reports.diagnosis.imports import check_gaps, check_last_imports, check_reports, check_worker
from reports.diagnosis.invoicing import check_invoicing
from reports.diagnosis.push import check_push
from reports.diagnosis.results import TONES, Check, worst


@dataclass(frozen=True)
class Diagnosis:
    account: SellerAccount
    checks: list[Check]
    coverages: list[coverage.KindCoverage]
    connection: ConnectionStatus
    checked_at: datetime
    tests: list[ConnectionCheck] = field(default_factory=list)

    @property
    def status(self) -> str:
        return worst([check.status for check in self.checks])

    @property
    def tone(self) -> str:
        return TONES[self.status]

    def counts(self) -> Counter:
        return Counter(check.status for check in self.checks)


def diagnose_account(
    account: SellerAccount,
    *,
    tests: Sequence[ConnectionCheck] = (),
    now: datetime | None = None,
) -> Diagnosis:
    """Run every check for the account, from what is recorded and the answers of a finished
    test call (`tests`, none while the worker has not made it). Reads only."""
    tests = list(tests)
    now = now or timezone.now()
    coverages = coverage.account_coverage(account, now=now)
    checks = [
        check_authorization(account, tests=tests, now=now),
        check_access_rights(account, tests=tests, now=now),
        check_expiry(account, now=now),
        check_worker(account, now=now),
        check_last_imports(account, now=now),
        check_gaps(account, coverages=coverages, now=now),
        check_reports(account, coverages=coverages, now=now),
        check_throttling(account, now=now),
        check_push(account, now=now),
        check_invoicing(account),
    ]
    return Diagnosis(
        account=account,
        checks=checks,
        coverages=coverages,
        connection=connection_status(account, now=now),
        checked_at=now,
        tests=tests,
    )
