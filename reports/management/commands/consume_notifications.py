"""`manage.py consume_notifications`: the long-running consumer of Amazon's notifications.

Run it beside the worker (`manage.py qcluster`), one or more per installation: it polls the
notification queue (SQS long polling, PUSH_SQS_WAIT_SECONDS), hands each message to
`reports.services.notifications` and deletes it once handled; the reports the messages hand out
are imported in its push lane (`reports.services.push_lane`, PUSH_IMPORT_THREADS). SIGTERM or
Ctrl-C stops it: during a poll at once (a message taken but not handled comes back after its
visibility timeout), during handling after the batch; then the lane gets a few seconds to
finish (`push_lane.CLOSE_SECONDS`) and leaves the rest to the worker. A queue that does not
answer is asked again after a pause.
Exits with an error when this installation has no queue (PUSH_SQS_QUEUE_URL).
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections

from amazon_settings.exceptions import NotificationQueueUnavailable
from amazon_settings.notification_queue import push_configured
from reports.services.notifications import consume_notifications
from reports.services.push_lane import CLOSE_SECONDS, PushLane, start_push_lane

logger = logging.getLogger(__name__)

# Pauses after the queue did not answer: 1, 2, 4 … seconds, at most half a minute.
PAUSE_MOST = 30.0


class _Stop(Exception):
    """Raised by the signal handler to leave a long poll at once."""


class Command(BaseCommand):
    help = "Consume Amazon's REPORT_PROCESSING_FINISHED notifications from the SQS queue."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once", action="store_true", help="Poll the queue once, handle, and exit."
        )
        parser.add_argument(
            "--wait-seconds",
            type=int,
            default=None,
            help="The long poll's wait (default PUSH_SQS_WAIT_SECONDS, at most 20).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from django.conf import settings

        if not push_configured():
            raise CommandError(
                "Push is not set up on this installation: set PUSH_SQS_QUEUE_URL (see the README)."
            )
        wait = min(20, options["wait_seconds"] or settings.PUSH_SQS_WAIT_SECONDS)
        stopping = threading.Event()
        polling = threading.Event()

        def stop(signum: int, frame: object) -> None:
            stopping.set()
            if polling.is_set():
                raise _Stop

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        lane = start_push_lane()
        try:
            self._consume(
                wait=wait, once=options["once"], stopping=stopping, polling=polling, lane=lane
            )
        finally:
            if lane is not None:
                lane.close(wait_seconds=CLOSE_SECONDS)
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _consume(
        self,
        *,
        wait: int,
        once: bool,
        stopping: threading.Event,
        polling: threading.Event,
        lane: PushLane | None,
    ) -> None:
        from django.conf import settings

        self.stdout.write(f"Consuming notifications from {settings.PUSH_SQS_QUEUE_URL}")
        self.stdout.flush()
        pause = 1.0
        first = True
        while not stopping.is_set():
            if not first:
                # A long-running process: drop a connection the database closed or that is
                # older than CONN_MAX_AGE, as Django does around each request.
                close_old_connections()
            first = False
            try:
                polling.set()
                try:
                    batch = consume_notifications(
                        wait_seconds=wait, on_received=polling.clear, lane=lane
                    )
                finally:
                    polling.clear()
            except _Stop:
                break
            except NotificationQueueUnavailable as error:
                logger.warning("%s Asking again in %.0f s.", error, pause)
                stopping.wait(pause)
                pause = min(PAUSE_MOST, pause * 2)
                continue
            pause = 1.0
            if batch.received:
                summary = ", ".join(
                    f"{n} {outcome}" for outcome, n in sorted(batch.outcomes.items())
                )
                logger.info("%d notifications: %s", batch.received, summary or "none handled")
            if once:
                break
