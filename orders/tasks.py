"""django-q2 tasks of the orders app: one-line wrappers around services.

Their dotted paths are stored in the database by `setup_schedules` (reports.services.worker)."""

from __future__ import annotations

from orders.services import invoicing


def issue_waiting_invoices() -> int:
    return invoicing.issue_all_waiting_invoices()
