"""Business operations of the reports pipeline."""

from __future__ import annotations

from django.utils import timezone

from reports.models import WorkerHeartbeat

HEARTBEAT_NAME = "worker"


def record_worker_heartbeat(*, name: str = HEARTBEAT_NAME) -> WorkerHeartbeat:
    """Note that the worker ran now. Idempotent: one row per name, moved forward."""
    heartbeat, _ = WorkerHeartbeat.objects.update_or_create(
        name=name, defaults={"last_seen_at": timezone.now()}
    )
    return heartbeat
