"""The SP-API error taxonomy in the seller's language.

`spapi/` is plain Python and says what went wrong in English (`str(error)`, which the call log
and the stored evidence keep), built from the templates in `spapi.errors`. What a person reads
on a page is the same sentence translated through those templates (`amazon_settings.stored_texts`
registers them): the headline in the active language, followed by Amazon's own words (status,
code, message), which Amazon sends in English and which are quoted as they are.
"""

from __future__ import annotations

from amazon_settings.spapi import SpApiError
from core.stored_texts import translate_stored


def headline(error: SpApiError) -> str:
    """What happened, in the active language (`SpApiError.headline`, translated)."""
    return translate_stored(error.headline())


def describe(error: SpApiError) -> str:
    """The error as a sentence for a page: the translated headline and Amazon's own words."""
    return translate_stored(error.sentence())
