"""django-q2 tasks: one-line wrappers around services (STYLE rule 9)."""

from __future__ import annotations

from reports import services


def heartbeat() -> None:
    services.record_worker_heartbeat()
