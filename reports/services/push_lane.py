"""The push lane: a few threads in the notification consumer's process that advance the reports
push hands out, so that they never wait for a worker process behind the checks.

The consumer claims a notified report under its lease (`transitions.enqueue_reports`) and hands
it to the lane (`PushLane.hand_out`), which downloads and imports it with the worker's own step
(`pipeline.advance_report`, under that lease) in one of its threads, while the consumer goes on
with its messages: a message is acknowledged once its report is claimed, not once imported.
The lane takes at most a few reports to wait (`WAITING_PER_THREAD` per thread); beyond that,
and once it is closed, a report goes to the worker's queue (`transitions.hand_out`) as it
would without the lane. Only the consumer runs one: the web server and one-off commands hand
everything to the worker.

The lease keeps the lane and the worker apart: a report the lane holds is claimed by no check,
and a task for it does nothing (`transitions.hold_lease`). When the consumer stops, the lane
finishes what it has for a few seconds (`PushLane.close`), hands the reports still waiting to
the worker under their leases, and leaves the ones it is still advancing to their lease: when
that runs out (REPORT_IMPORT_LEASE_SECONDS after an import's last batch, REPORT_LEASE_SECONDS
before the import), the worker takes them up (the heartbeat resumes imports, the check the
rest), as after a worker process killed mid-way.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass

from django.conf import settings
from django.db import connections

from reports.services.pipeline import advance_report
from reports.services.transitions import hand_out

logger = logging.getLogger(__name__)

# How long a stopping consumer lets its lane finish: within the ten seconds Docker and most
# supervisors give a process between SIGTERM and SIGKILL.
CLOSE_SECONDS = 8.0
# How many reports may wait per thread of the lane before the next goes to the worker's queue.
# Few: their messages are deleted already, so a consumer killed now strands what waits here
# until the leases run out (REPORT_LEASE_SECONDS), and the worker's queue serves a burst too.
WAITING_PER_THREAD = 2


def start_push_lane() -> PushLane | None:
    """The consumer's lane with settings.PUSH_IMPORT_THREADS threads; None when that is 0."""
    threads = settings.PUSH_IMPORT_THREADS
    return PushLane(threads=threads) if threads > 0 else None


@dataclass(frozen=True)
class LaneClosed:
    """What closing the lane left to the worker."""

    handed_to_worker: int  # were still waiting: queued for the worker under their leases
    still_running: int  # were being advanced: the worker takes them up when the lease runs out


class PushLane:
    """`threads` daemon threads advancing claimed reports, with room for `waiting` more (by
    default WAITING_PER_THREAD per thread). Start it with the consumer and close it when the
    consumer stops; its threads never outlive the process."""

    def __init__(self, *, threads: int, waiting: int | None = None) -> None:
        if threads < 1:
            raise ValueError("a push lane needs a thread")
        self._most_waiting = threads * WAITING_PER_THREAD if waiting is None else waiting
        self._jobs: deque[tuple[int, str]] = deque()
        self._running = 0
        self._open = True
        self._condition = threading.Condition()
        self._threads = [
            threading.Thread(target=self._serve, name=f"push-lane-{n}", daemon=True)
            for n in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    @property
    def accepting(self) -> bool:
        """Whether the lane takes reports (until it is closed)."""
        with self._condition:
            return self._open

    @property
    def waiting(self) -> int:
        with self._condition:
            return len(self._jobs)

    @property
    def running(self) -> int:
        with self._condition:
            return self._running

    def hand_out(self, report_id: int, lease_id: str) -> None:
        """Advance a claimed report in the lane, or, when the lane is full or closed, queue the
        worker's task for it (`transitions.hand_out`). Returns at once."""
        if not self._take(report_id, lease_id):
            hand_out(report_id, lease_id)

    def _take(self, report_id: int, lease_id: str) -> bool:
        with self._condition:
            if not self._open or len(self._jobs) >= self._most_waiting:
                return False
            self._jobs.append((report_id, lease_id))
            self._condition.notify()
            return True

    def _serve(self) -> None:
        while True:
            with self._condition:
                while self._open and not self._jobs:
                    self._condition.wait()
                if not self._jobs:
                    return  # closed, and nothing left that close() did not take back
                report_id, lease_id = self._jobs.popleft()
                self._running += 1
            try:
                advance_report(report_id, lease_id)
            except Exception:
                # advance_report records what went wrong with the step; this is the database
                # failing under it. The lease runs out and the worker takes the report up.
                logger.exception("The push lane could not advance report %s", report_id)
            finally:
                # The thread lives as long as the consumer: a connection kept between reports
                # would outlive CONN_MAX_AGE and a database restart unseen.
                connections.close_all()
                with self._condition:
                    self._running -= 1
                    self._condition.notify_all()

    def close(self, *, wait_seconds: float) -> LaneClosed:
        """Take no more reports (they go to the worker's queue), let the lane finish what it
        has for up to `wait_seconds`, then hand the reports still waiting to the worker under
        their leases. The reports still being advanced are left to their leases."""
        deadline = time.monotonic() + wait_seconds
        with self._condition:
            self._open = False
            while self._jobs or self._running:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._condition.wait(left)
            left_over = list(self._jobs)
            self._jobs.clear()
            still_running = self._running
            self._condition.notify_all()
        for report_id, lease_id in left_over:
            try:
                hand_out(report_id, lease_id)
            except Exception:
                # The broker is down: the report's lease runs out and the check takes it.
                logger.exception("Report %s could not be handed to the worker", report_id)
        if left_over or still_running:
            logger.warning(
                "The push lane closed with %d reports handed to the worker and %d left to "
                "their lease.",
                len(left_over),
                still_running,
            )
        return LaneClosed(handed_to_worker=len(left_over), still_running=still_running)
