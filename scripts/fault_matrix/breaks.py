"""The product's handler of each fault, broken on purpose: the matrix's proof that a row can fail.

`make reliability --break-handlers` (tests/test_reliability_matrix.py) runs every row with
the handler of its fault broken, and every row must then fail: orders lost, doubled or wrong,
or a recovery that needed more than the fault calls for. A row that passed anyway would be a
check that cannot fail.

A break patches this process for as long as its context lasts (`broken`) and names the
environment a worker process needs for the same break (`worker.py` reads FAULT_MATRIX_BREAK).
Where the product handles a fault twice (a retry behind a fresh URL, a lease behind the
database's busy wait), the break takes both away: the row shows what happens when the fault is
not handled at all. Nothing here is imported by the product.
"""

from __future__ import annotations

import dataclasses
import itertools
import zlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from unittest import mock

from django.db import connections, transaction
from django.test import override_settings
from django.utils import timezone

ENV_VARIABLE = "FAULT_MATRIX_BREAK"


class _NeverRaised(Exception):
    """Put in place of an exception class, so the `except` clause that names it never runs."""


@dataclass(frozen=True)
class Break:
    name: str
    what: str  # the handler that stops working, in a sentence
    patch: Callable[[ExitStack], None]
    # For worker processes: the environment that breaks the same handler there.
    env: dict[str, str] = field(default_factory=dict)


def _no_retry(stack: ExitStack) -> None:
    from reports.services import pipeline
    from reports.services.transitions import fail_report

    def give_up_at_once(report, error, *, reason=pipeline.Reason.RETRIES_EXHAUSTED) -> None:
        fail_report(report, reason=reason, message=f"Gave up at once: {error}")

    stack.enter_context(mock.patch.object(pipeline, "retry_later", give_up_at_once))


def _expired_url_final(stack: ExitStack) -> None:
    from reports.services import pipeline

    stack.enter_context(mock.patch.object(pipeline, "DocumentUrlExpired", _NeverRaised))
    _no_retry(stack)


def _charset_label_trusted(stack: ExitStack) -> None:
    from amazon_settings.spapi import CharsetChoice, normalise_charset
    from reports import documents

    def label_or_utf8(content: bytes, label: str | None) -> CharsetChoice:
        return CharsetChoice(normalise_charset(label) or "utf-8", "Read as labelled.")

    stack.enter_context(mock.patch.object(documents, "effective_charset", label_or_utf8))


def _damage_unnoticed(stack: ExitStack) -> None:
    from amazon_settings.spapi import client

    def inflate_what_inflates(data: bytes, *, max_bytes: int) -> bytes:
        # Fed in small pieces, so that the text before a damaged piece is kept.
        out = bytearray()
        inflater = zlib.decompressobj(15 + 32)
        try:
            for offset in range(0, len(data), 256):
                out += inflater.decompress(data[offset : offset + 256])
            out += inflater.flush()
        except zlib.error:
            pass
        return bytes(out[: out.rfind(b"\n") + 1][:max_bytes])

    stack.enter_context(mock.patch.object(client, "gunzip", inflate_what_inflates))


def _stuck_unflagged(stack: ExitStack) -> None:
    stack.enter_context(override_settings(REPORT_STUCK_AFTER_SECONDS=10**9))


def _final_states_ignored(stack: ExitStack) -> None:
    from amazon_settings.spapi import SpApiClient

    get_report = SpApiClient.get_report

    def still_in_progress(self, report_id: str):
        report = get_report(self, report_id)
        if report.processing_status in ("FATAL", "CANCELLED"):
            return dataclasses.replace(
                report, processing_status="IN_PROGRESS", report_document_id=None
            )
        return report

    stack.enter_context(mock.patch.object(SpApiClient, "get_report", still_in_progress))
    _stuck_unflagged(stack)


def _auth_unnoticed(stack: ExitStack) -> None:
    from amazon_settings import services as account_services
    from reports.services import pipeline

    stack.enter_context(mock.patch.object(account_services, "SpApiAuthError", _NeverRaised))
    stack.enter_context(mock.patch.object(pipeline, "SpApiAuthError", _NeverRaised))


def _leases_never_lapse(stack: ExitStack) -> None:
    stack.enter_context(
        override_settings(REPORT_LEASE_SECONDS=86400, REPORT_IMPORT_LEASE_SECONDS=86400)
    )


def _database_lock_unhandled(stack: ExitStack) -> None:
    # New connections (the worker's thread opens one) give up on a lock at once.
    options = connections["default"].settings_dict["OPTIONS"]
    stack.enter_context(mock.patch.dict(options, {"timeout": 0.05}))
    _leases_never_lapse(stack)


_import_runs = itertools.count(1)
_current_run = [0]


def _keys_per_import(stack: ExitStack) -> None:
    from orders.importers.mfn import MfnFlatImporter
    from orders.importers.vcs import VcsLiteImporter

    def counting(start):
        def start_run(self, table, context):
            _current_run[0] = next(_import_runs)
            return start(self, table, context)

        return start_run

    mfn_write, vcs_write = MfnFlatImporter.write, VcsLiteImporter.write

    def mfn_lines_keyed_per_run(self, groups, context):
        suffix = f"~{_current_run[0]}"
        for group in groups:
            group.items = {
                key + suffix: dataclasses.replace(item, order_item_id=item.order_item_id + suffix)
                for key, item in group.items.items()
            }
        return mfn_write(self, groups, context)

    def invoices_keyed_per_run(self, groups, context):
        for group in groups:
            for record in group.documents.values():
                if not record.number:
                    record.values["transaction_id"] += f"~{_current_run[0]}"
        return vcs_write(self, groups, context)

    for importer in (MfnFlatImporter, VcsLiteImporter):
        stack.enter_context(mock.patch.object(importer, "start", counting(importer.start)))
    stack.enter_context(mock.patch.object(MfnFlatImporter, "digests", False))
    stack.enter_context(mock.patch.object(MfnFlatImporter, "write", mfn_lines_keyed_per_run))
    stack.enter_context(mock.patch.object(VcsLiteImporter, "write", invoices_keyed_per_run))


def _check_leaves_waiting_to_push(stack: ExitStack) -> None:
    from reports.models import Report, ReportNotification
    from reports.services import pipeline
    from reports.services.transitions import poll_interval, transition

    poll = pipeline._poll

    def only_when_notified(report) -> None:
        if ReportNotification.objects.filter(amazon_report_id=report.amazon_report_id).exists():
            return poll(report)
        report.next_attempt_at = timezone.now() + poll_interval()
        transition(report, expected_status=Report.ImportStatus.WAITING)
        return None

    stack.enter_context(mock.patch.object(pipeline, "_poll", only_when_notified))


def _notification_reimports(stack: ExitStack) -> None:
    from reports.exceptions import ReportActionNotAllowed
    from reports.models import Report
    from reports.services import actions, notifications

    act = notifications._act

    def reimport_whatever_its_state(finished, accounts):
        # The worker may move the report on between our read and the reset (a stale state):
        # read it again and retry, so the break does not depend on the worker's timing.
        for _ in range(100):
            report = Report.objects.filter(
                account__in=accounts, amazon_report_id=finished.report_id
            ).first()
            if report is None or report.import_status == Report.ImportStatus.WAITING:
                return act(finished, accounts)
            try:
                with transaction.atomic():
                    actions.reset_report(report, acting_user=None)
            except ReportActionNotAllowed:
                continue
            return notifications.Outcome.HURRIED
        return notifications.Outcome.UNCHANGED

    stack.enter_context(mock.patch.object(notifications, "_seen", lambda notification_id: False))
    stack.enter_context(mock.patch.object(notifications, "_act", reimport_whatever_its_state))
    # Whatever its state: also while the worker holds it (a reset waits for the worker then).
    stack.enter_context(mock.patch.object(actions, "can_reset", lambda report, *, now: True))


_LONG_LEASES = {"REPORT_LEASE_SECONDS": "86400", "REPORT_IMPORT_LEASE_SECONDS": "86400"}

BREAKS = {
    b.name: b
    for b in (
        Break(
            "no_retry",
            "a transient error (throttled, 5xx, timeout, no connection) fails the report at once",
            _no_retry,
        ),
        Break(
            "expired_url_final",
            "an expired download URL is neither renewed nor retried",
            _expired_url_final,
        ),
        Break(
            "charset_label_trusted",
            "the document is decoded with the charset Amazon labels it with, right or wrong",
            _charset_label_trusted,
        ),
        Break(
            "damage_unnoticed",
            "a damaged gzip stream is read as far as it inflates, without an error",
            _damage_unnoticed,
        ),
        Break(
            "stuck_unflagged",
            "a report Amazon keeps processing is never flagged as stuck",
            _stuck_unflagged,
        ),
        Break(
            "final_states_ignored",
            "Amazon's FATAL and CANCELLED read as still in progress, and never flagged stuck",
            _final_states_ignored,
        ),
        Break(
            "auth_unnoticed",
            "Amazon's refusal of the credentials marks neither the account nor the report",
            _auth_unnoticed,
        ),
        Break(
            "database_lock_unhandled",
            "a locked database fails a write at once, and the step's lease never lapses",
            _database_lock_unhandled,
        ),
        Break(
            "leases_never_lapse",
            "a killed worker's lease never lapses, so nobody resumes its import",
            _leases_never_lapse,
            env=_LONG_LEASES,
        ),
        Break(
            "keys_per_import",
            "order lines and generated invoices are keyed anew on every import",
            _keys_per_import,
        ),
        Break(
            "check_leaves_waiting_to_push",
            "the worker's check never asks Amazon about a report whose notification did not come",
            _check_leaves_waiting_to_push,
        ),
        Break(
            "notification_reimports",
            "a notification imports its report again whatever its state, duplicates included",
            _notification_reimports,
        ),
    )
}


@contextmanager
def broken(name: str | None) -> Iterator[Break | None]:
    """Break the handler `name` (a key of BREAKS) in this process while the context lasts;
    None breaks nothing."""
    if name is None:
        yield None
        return
    chosen = BREAKS[name]
    with ExitStack() as stack:
        chosen.patch(stack)
        yield chosen
