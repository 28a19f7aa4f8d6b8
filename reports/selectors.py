"""Reads of the reports pipeline that are more than a filter."""

from __future__ import annotations

from datetime import datetime

from reports.models import WorkerHeartbeat
from reports.services import HEARTBEAT_NAME


def worker_last_seen() -> datetime | None:
    heartbeat = WorkerHeartbeat.objects.filter(name=HEARTBEAT_NAME).first()
    return heartbeat.last_seen_at if heartbeat else None
