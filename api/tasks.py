"""django-q2 tasks of the API app: one-line wrappers around its services. Their dotted paths
are stored by `setup_schedules` (`reports.services.worker.worker_schedules`)."""

from __future__ import annotations

from api import delivery


def deliver_webhooks() -> delivery.DeliveryPass:
    return delivery.deliver_webhooks()
