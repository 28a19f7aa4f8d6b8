"""Data migrations of the reports app keep what an existing database showed."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from amazon_settings.models import SellerAccount
from reports.models import Report

pytestmark = pytest.mark.django_db

failure_reason_auth = importlib.import_module("reports.migrations.0002_failure_reason_auth")


def test_reports_denied_before_the_upgrade_get_the_authorization_reason():
    account = SellerAccount.objects.create(selling_partner_id="A1MIGRATION", region="eu")
    denied = Report.objects.create(
        account=account,
        report_type="GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING",
        last_error="Amazon denied access: renew access in Settings. (403 Unauthorized)",
    )
    other = Report.objects.create(
        account=account,
        report_type="GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING",
        last_error="Amazon is not answering. Trying again at 12:00.",
    )
    failed = Report.objects.create(
        account=account,
        report_type="GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING",
        import_status=Report.ImportStatus.FAILED,
        failure_reason=Report.FailureReason.REJECTED,
        last_error="Amazon denied access: renew access in Settings. (400)",
    )

    failure_reason_auth.mark_denied_reports(apps, None)
    failure_reason_auth.mark_denied_reports(apps, None)  # run twice: nothing more changes

    reasons = dict(Report.objects.values_list("pk", "failure_reason"))
    assert reasons == {
        denied.pk: Report.FailureReason.AUTH,
        other.pk: Report.FailureReason.NONE,
        failed.pk: Report.FailureReason.REJECTED,
    }
