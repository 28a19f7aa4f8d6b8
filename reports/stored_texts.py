"""The texts the worker stores about reports (a report's last error, its history), registered
with `core.stored_texts` so that pages show them in their reader's language."""

from __future__ import annotations

from django.utils.translation import gettext_noop

from amazon_settings.spapi.documents import CHARSET_REASONS
from core.stored_texts import (
    register,
    register_plural,
    stored_moment,
    stored_text,
    translate_stored,
)

__all__ = ["stored_moment", "stored_text", "translate_stored"]

# Stored texts have no plural forms: a plural would need the count at display time, which the
# English text does not keep reliably. They are written so that one form fits every count.
NO_DATA = gettext_noop("Amazon found no data in this range.")
DENIED = gettext_noop("Amazon denied access: renew access in Settings. (%(error)s)")
REJECTED = gettext_noop("Amazon rejected the request: %(error)s")
REGENERATION_WAIT = gettext_noop(
    "Amazon makes this report at most every %(hours)s hours; it is sent at %(moment)s."
)
SENT = gettext_noop("Sent to Amazon as report %(report_id)s (%(name)s).")
FINISHED = gettext_noop("Amazon finished the report.")
NOTIFIED = gettext_noop("Amazon's notification: the report is %(status)s; fetched at once.")
FATAL_NO_REASON = gettext_noop("Amazon could not create this report (FATAL) and gave no reason.")
FATAL = gettext_noop("Amazon could not create this report: %(details)s")
STUCK = gettext_noop(
    "Amazon has been processing this report for %(hours)s hours. It may be stuck: skip it and "
    "request the range again, or wait."
)
AMAZON_STATUS = gettext_noop("Amazon status %(status)s.")
NOTIFIED_DONE = gettext_noop(
    "Amazon's notification: the report is DONE, with its document %(document_id)s; downloaded "
    "at once, without asking Amazon about the report again."
)
UNREADABLE = gettext_noop("The document could not be read: %(error)s")
UNDECODABLE = gettext_noop("The document could not be decoded: %(error)s")
STORED_UNREADABLE = gettext_noop("Could not read the stored document: %(error)s")
DOWNLOADED = gettext_noop("Downloaded %(size)s bytes. %(reason)s")
LINES_FAILED = gettext_noop("Lines that could not be imported: %(failed)s; see the details.")
IMPORTED = gettext_noop(
    "Imported %(rows)s rows: %(created)s created, %(updated)s updated, %(unchanged)s "
    "unchanged, %(failed)s with errors."
)
IMPORTED_WITH_WARNINGS = gettext_noop(
    "Imported %(rows)s rows: %(created)s created, %(updated)s updated, %(unchanged)s "
    "unchanged, %(failed)s with errors, %(warned)s with warnings (imported as they stand)."
)
INTERRUPTED = gettext_noop("The import was interrupted after line %(line)s; it goes on from there.")
GAVE_UP = gettext_noop("Gave up after %(attempts)s attempts: %(error)s")
RETRYING = gettext_noop("%(error)s Trying again at %(time)s.")
REQUESTED = gettext_noop("Requested; the worker sends it to Amazon.")
UPLOADED = gettext_noop(
    "Uploaded by %(who)s: %(filename)s (%(size)s bytes). %(reason)s The worker imports it."
)
PUSH_CONSUMER_STOPPED = gettext_noop(
    "Amazon finished report %(report_id)s at %(moment)s, but its notification was not handled "
    "within %(waited)s: the notification consumer is not running. Start `manage.py "
    "consume_notifications` beside the worker (make demo starts it); Amazon's messages wait in "
    "the queue meanwhile. Orders still arrive through the worker's check every %(interval)s."
)
PUSH_NOT_DELIVERED = gettext_noop(
    "Amazon finished report %(report_id)s at %(moment)s, but no notification for it arrived "
    "within %(waited)s. Amazon sends no test message and says nothing when it cannot deliver: "
    "most likely the SQS queue's access policy does not let Amazon's Selling Partner API "
    "(%(principal)s) call sqs:SendMessage and sqs:GetQueueAttributes, or the queue is encrypted "
    "with a KMS key whose policy leaves it out. Orders still arrive through the worker's check "
    "every %(interval)s."
)
# The audit log's line for a changed cadence (`services.cadences.set_cadences`), and the
# cadence in it (`interval_label`) when it is not one of Amazon's periods.
SCHEDULE_REFUSED = gettext_noop(
    "Amazon refused the schedule, so the worker requests this report itself: %(error)s"
)
CADENCE_CHANGED = gettext_noop("%(kind)s: %(before)s → %(after)s")
EVERY_MINUTES = gettext_noop("every %(minutes)s minutes")

TEMPLATES = (
    NO_DATA,
    DENIED,
    REJECTED,
    REGENERATION_WAIT,
    SENT,
    FINISHED,
    NOTIFIED,
    FATAL_NO_REASON,
    FATAL,
    STUCK,
    AMAZON_STATUS,
    NOTIFIED_DONE,
    UNREADABLE,
    UNDECODABLE,
    STORED_UNREADABLE,
    DOWNLOADED,
    LINES_FAILED,
    IMPORTED_WITH_WARNINGS,
    IMPORTED,
    INTERRUPTED,
    GAVE_UP,
    RETRYING,
    REQUESTED,
    UPLOADED,
    PUSH_CONSUMER_STOPPED,
    PUSH_NOT_DELIVERED,
    SCHEDULE_REFUSED,
    CADENCE_CHANGED,
    EVERY_MINUTES,
)


register(*TEMPLATES)
# Why a downloaded document was read with its charset: the reason in DOWNLOADED.
register(*CHARSET_REASONS)
# The durations in them, as `amazon_settings.selectors.duration_words` writes them.
register_plural("%(count)d second", "%(count)d seconds")
register_plural("%(count)d minute", "%(count)d minutes")
