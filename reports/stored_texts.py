"""Texts the worker stores for sellers to read later: a report's last error and its history.

The worker writes them in English, since it does not know who will read them; a page
translates them into its reader's language when it shows them. Each text is built from one of
the templates below (marked with `gettext_noop`, so they are in the catalogue), and
`translate_stored` recognises a stored text by its template, translates the template and puts
the stored values back in. A value that is itself a stored text (an error inside "Gave up after
…") is translated too; Amazon's own words and anything not built here stay as they were.
"""

from __future__ import annotations

import re
from functools import cache

from django.utils.translation import gettext, gettext_noop

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")

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
FATAL_NO_REASON = gettext_noop("Amazon could not create this report (FATAL) and gave no reason.")
FATAL = gettext_noop("Amazon could not create this report: %(details)s")
STUCK = gettext_noop(
    "Amazon has been processing this report for %(hours)s hours. It may be stuck: skip it and "
    "request the range again, or wait."
)
AMAZON_STATUS = gettext_noop("Amazon status %(status)s.")
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
    "unchanged, %(failed)s with errors. Rows with warnings, imported as they stand: "
    "%(warned)s."
)
INTERRUPTED = gettext_noop("The import was interrupted after line %(line)s; it goes on from there.")
GAVE_UP = gettext_noop("Gave up after %(attempts)s attempts: %(error)s")
RETRYING = gettext_noop("%(error)s Trying again at %(time)s.")
REQUESTED = gettext_noop("Requested; the worker sends it to Amazon.")

TEMPLATES = (
    NO_DATA,
    DENIED,
    REJECTED,
    REGENERATION_WAIT,
    SENT,
    FINISHED,
    FATAL_NO_REASON,
    FATAL,
    STUCK,
    AMAZON_STATUS,
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
)


def stored_text(template: str, **values: object) -> str:
    """The English text to store: `template` (one of TEMPLATES) with its values."""
    return template % {name: str(value) for name, value in values.items()}


@cache
def _pattern(template: str) -> re.Pattern[str]:
    parts = _PLACEHOLDER.split(template)
    # split() alternates literal text and placeholder names.
    regex = "".join(
        re.escape(part) if index % 2 == 0 else f"(?P<{part}>.*?)"
        for index, part in enumerate(parts)
    )
    return re.compile(regex, re.S)


def translate_stored(text: str) -> str:
    """`text` in the active language, if it was built from one of TEMPLATES; else unchanged."""
    if not text:
        return text
    for template in TEMPLATES:
        match = _pattern(template).fullmatch(text)
        if match:
            values = {name: translate_stored(value) for name, value in match.groupdict().items()}
            return gettext(template) % values
    return gettext(text)
