"""The sandbox clock: real time plus a persisted offset that tests move forward.

Lifetimes Amazon publishes (codes 5 min, access tokens 1 h, document URLs 5 min) run on this
clock unscaled, so a test expires them by advancing the clock instead of waiting. Amazon's
processing cadence (report delays, schedule periods, regeneration windows, rate-limit refills)
is additionally divided by SANDBOX_TIME_FACTOR; `amazon_seconds()` does that conversion.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from amazon_sandbox.models import SandboxState


def offset_seconds() -> float:
    """How far the sandbox clock runs ahead of real time, in seconds."""
    return SandboxState.load().clock_offset_seconds


def now() -> datetime:
    """Sandbox-now, an aware UTC datetime."""
    return timezone.now() + timedelta(seconds=offset_seconds())


def advance(seconds: float) -> datetime:
    """Move the sandbox clock forward (never backward) and return the new sandbox-now.

    Raises ValueError for a negative amount: issued tokens and reports must not see time run back.
    """
    if seconds < 0:
        raise ValueError("the sandbox clock only moves forward")
    state = SandboxState.load()
    SandboxState.objects.filter(pk=state.pk).update(
        clock_offset_seconds=state.clock_offset_seconds + seconds
    )
    return now()


def amazon_seconds(seconds: float) -> timedelta:
    """How long `seconds` of Amazon's processing cadence take in the sandbox (time factor)."""
    return timedelta(seconds=seconds / settings.SANDBOX_TIME_FACTOR)
