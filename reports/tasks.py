"""django-q2 tasks: one-line wrappers around services, where the logic lives (and is tested).

Their dotted paths (`reports.tasks.<name>`) are stored in the database by `setup_schedules`
and by queued tasks: renaming one means updating both.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from reports.services import (
    connection_tests,
    email_notifications,
    pipeline,
    privacy,
    push_health,
    worker,
)


def heartbeat() -> None:
    worker.record_worker_heartbeat()
    worker.resume_interrupted_imports()


def tick() -> int:
    return worker.run_worker_pass()


def discover_accounts(account_ids: list[int], pass_started_at: datetime, until: datetime) -> int:
    return worker.discover_accounts(
        account_ids,
        pass_started_at=pass_started_at,
        until=until,
        threads=worker.discovery_threads(),
    )


def push_pass() -> push_health.PushPass:
    return push_health.run_push_pass()


def send_notifications() -> email_notifications.NotificationPass:
    return email_notifications.send_due_notifications()


def advance_report(report_id: int, lease_id: str = "") -> None:
    pipeline.advance_report(report_id, lease_id)


def run_connection_test(test_id: int, run_id: str) -> None:
    connection_tests.run_connection_test(test_id, run_id)


def remove_personal_data() -> privacy.PersonalDataRemoval:
    return privacy.remove_personal_data(
        older_than_days=settings.PII_RETENTION_DAYS,
        invoice_retention_years=settings.INVOICE_RETENTION_YEARS,
    )
