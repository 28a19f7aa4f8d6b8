"""The texts this app stores for people to read later, registered with `core.stored_texts`:
pages show them in their reader's language.

The SP-API error sentences (`spapi.errors`): the call log, an account's last error and a
report's history store them in English, with Amazon's own words (the facts) as Amazon wrote
them. And why an account was marked as connected under a wrong seller ID (its status detail,
the audit log's line, the rejected notification's reason)."""

from __future__ import annotations

from django.utils.translation import gettext_noop

from amazon_settings.spapi.errors import HEADLINES, SENTENCE
from core.stored_texts import register

# The sentence first: a headline's own pattern would take the facts into its operation.
register(SENTENCE, choices={"headline": HEADLINES}, verbatim=("facts",))
# The headlines on their own: an error without facts is its headline.
register(*HEADLINES)

SELLER_MISMATCH = gettext_noop(
    "Amazon's notifications for this authorization come from seller %(notified_seller_id)s, "
    "not from %(account_seller_id)s: the account was connected under a wrong seller ID. "
    "Disconnect it and connect the seller again through Amazon's consent page."
)
# Seller IDs are Amazon's, never translated.
register(SELLER_MISMATCH, verbatim=("notified_seller_id", "account_seller_id"))
