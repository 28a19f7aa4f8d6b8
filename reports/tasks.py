"""django-q2 tasks: one-line wrappers around services, where the logic lives (and is tested)."""

from __future__ import annotations

from reports import services


def heartbeat() -> None:
    services.record_worker_heartbeat()


def tick() -> int:
    return services.run_worker_pass()


def advance_report(report_id: int, lease_id: str = "") -> None:
    services.advance_report(report_id, lease_id)
