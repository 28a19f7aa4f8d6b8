"""The worker's schedules, registered in code so that every deploy has the same ones."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django_q.models import Schedule


@dataclass(frozen=True)
class ScheduleSpec:
    name: str
    func: str
    seconds: int


def worker_schedules() -> list[ScheduleSpec]:
    interval = settings.WORKER_INTERVAL_SECONDS
    return [
        # The heartbeat runs every minute at most, so "worker alive" is never older than that.
        ScheduleSpec("worker.heartbeat", "reports.tasks.heartbeat", min(interval, 60)),
        # The worker's pass, every 5 minutes by default: discover, request, poll, import.
        ScheduleSpec("reports.tick", "reports.tasks.tick", interval),
        # Data exchange » Log keeps 90 days; pruning once a day keeps the table small.
        ScheduleSpec("log.prune", "amazon_settings.tasks.prune_api_calls", 24 * 60 * 60),
        # Amazon's Data Protection Policy: buyer data and raw documents holding it go after
        # PII_RETENTION_DAYS; checking once a day keeps them at most a day longer.
        ScheduleSpec(
            "privacy.remove_personal_data",
            "reports.privacy_tasks.remove_personal_data",
            24 * 60 * 60,
        ),
    ]


def register_schedules() -> list[Schedule]:
    """Create or update every schedule by name. Idempotent: run it on every deploy."""
    registered = []
    for spec in worker_schedules():
        # django-q2 schedules count in whole minutes; sub-minute work is fanned out by the
        # tasks themselves.
        minutes = max(1, spec.seconds // 60)
        schedule, _ = Schedule.objects.update_or_create(
            name=spec.name,
            defaults={"func": spec.func, "schedule_type": Schedule.MINUTES, "minutes": minutes},
        )
        registered.append(schedule)
    return registered
