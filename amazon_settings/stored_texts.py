"""The SP-API error sentences (`spapi.errors`), registered with `core.stored_texts`: the call
log, an account's last error and a report's history store them in English, and pages show them
in their reader's language with Amazon's own words (the facts) as Amazon wrote them."""

from __future__ import annotations

from amazon_settings.spapi.errors import HEADLINES, SENTENCE
from core.stored_texts import register

# The sentence first: a headline's own pattern would take the facts into its operation.
register(SENTENCE, choices={"headline": HEADLINES}, verbatim=("facts",))
# The headlines on their own: an error without facts is its headline.
register(*HEADLINES)
