"""What the webhook pages show that was stored earlier, by the worker or for another user (why
a webhook is off, why a try failed), registered with `core.stored_texts`: stored in English and
shown in the reader's language (the audit log's, too). A receiver's own words and exceptions
stay as they were."""

from __future__ import annotations

from django.utils.translation import gettext_noop

from core.stored_texts import register, stored_moment, stored_text

__all__ = ["stored_moment", "stored_text"]

REDIRECT_NOT_FOLLOWED = gettext_noop(
    "Redirect to %(location)s not followed: answer with 2xx at the URL."
)
TIMED_OUT = gettext_noop("Timed out: %(error)s")
SECRET_UNREADABLE = gettext_noop(
    "Its signing secret cannot be decrypted with the configured keys: delete it and subscribe "
    "again."
)
SWITCHED_OFF_AUTOMATICALLY = gettext_noop(
    "Switched off automatically: every delivery failed since %(since)s (%(failures)s tries in a "
    "row; the last: %(error)s)."
)
SWITCHED_OFF_BY = gettext_noop("Switched off by %(user)s.")
# The audit log's detail when an administrator shows a webhook's secret again.
SECRET_SHOWN = gettext_noop("The signing secret of “%(name)s” was shown.")

register(REDIRECT_NOT_FOLLOWED, SECRET_UNREADABLE, SWITCHED_OFF_BY, SECRET_SHOWN)
register(TIMED_OUT, verbatim=("error",))
register(SWITCHED_OFF_AUTOMATICALLY, verbatim=("error",))
