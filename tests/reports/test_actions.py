"""Which row action applies in which state: said once in `reports.services.actions`, refused
by the services, and offered by Processing's per-row menu only where it applies."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from amazon_settings.crypto import encrypt_secret
from amazon_settings.models import SellerAccount
from reports.exceptions import ReportActionNotAllowed
from reports.models import Report
from reports.services import actions

pytestmark = pytest.mark.django_db

Status = Report.ImportStatus
Amazon = Report.AmazonStatus
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)

# (import status, Amazon's status, leased by the worker) -> what the menu offers.
STATES = [
    (Status.QUEUED, Amazon.NONE, False, ("reset", "cancel", "skip")),
    (Status.WAITING, Amazon.IN_QUEUE, False, ("reset", "cancel", "skip")),
    (Status.WAITING, Amazon.IN_PROGRESS, False, ("reset", "skip")),
    (Status.DOWNLOADING, Amazon.DONE, False, ("reset", "skip")),
    (Status.IMPORTING, Amazon.DONE, True, ("skip",)),
    (Status.IMPORTED, Amazon.DONE, False, ("reset",)),
    (Status.NO_DATA, Amazon.CANCELLED, False, ("reset",)),
    (Status.FAILED, Amazon.FATAL, False, ("reset", "skip")),
    (Status.CANCELLED, Amazon.CANCELLED, False, ("reset",)),
    (Status.SKIPPED, Amazon.IN_PROGRESS, False, ("reset",)),
    (Status.HELD, Amazon.DONE, False, ("reset", "skip", "confirm")),
]


@pytest.fixture
def account() -> SellerAccount:
    return SellerAccount.objects.create(
        selling_partner_id="A1ACTIONS0001",
        region="eu",
        display_name="Actions Shop",
        refresh_token_encrypted=encrypt_secret("Atzr|x"),
        status=SellerAccount.Status.CONNECTED,
    )


def make_report(account: SellerAccount, status: str, amazon: str, leased: bool) -> Report:
    number = Report.objects.count() + 100
    return Report.objects.create(
        account=account,
        report_type="GET_AFN_INVENTORY_DATA",
        import_status=status,
        amazon_status=amazon,
        amazon_report_id=str(number) if amazon != Amazon.NONE else "",
        leased_until=NOW + timedelta(minutes=1) if leased else None,
    )


@pytest.mark.parametrize(("status", "amazon", "leased", "offered"), STATES)
def test_each_state_offers_its_actions(account, status, amazon, leased, offered):
    report = make_report(account, status, amazon, leased)
    assert actions.applicable_actions(report, now=NOW) == offered


def test_a_lease_that_ran_out_lets_reset_again(account):
    report = make_report(account, Status.IMPORTING, Amazon.DONE, leased=True)
    assert "reset" in actions.applicable_actions(report, now=NOW + timedelta(minutes=2))


@pytest.mark.parametrize("status", [Status.IMPORTED, Status.NO_DATA, Status.CANCELLED])
def test_skip_refuses_a_finished_report(account, status):
    report = make_report(account, status, Amazon.DONE, leased=False)
    with pytest.raises(ReportActionNotAllowed, match=r"This report is already finished\."):
        actions.skip_report(report, acting_user=None)
    assert Report.objects.get(pk=report.pk).import_status == status


def test_confirm_refuses_a_report_not_held(account):
    report = make_report(account, Status.FAILED, Amazon.FATAL, leased=False)
    with pytest.raises(ReportActionNotAllowed, match=r"Only a held report can be confirmed\."):
        actions.confirm_held_report(report, acting_user=None)


def test_processing_menus_offer_only_each_rows_actions(logged_in_client, account):
    reports = [
        (make_report(account, status, amazon, leased=False), offered)
        for status, amazon, leased, offered in STATES
        if not leased
    ]
    page = logged_in_client.get(reverse("reports:processing")).content.decode()
    for report, offered in reports:
        row = re.search(rf'<tr id="report-{report.pk}".*?</tr>', page, re.S).group(0)
        assert page.count(f'id="report-{report.pk}"') == 1
        assert row.count('class="dropdown-menu') == 1
        assert tuple(re.findall(r'data-action="(\w+)"', row)) == offered
        # Amazon's code is in the tooltip, the short name on the row.
        assert 'title="Amazon Fulfillment Network - Stock report: GET_AFN_INVENTORY_DATA"' in row
        assert ">Stock (FBA)</span>" in row
