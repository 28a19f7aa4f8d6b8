"""`stored_text` for the report pages (the same filter as `core`'s `stored_texts` library)."""

from __future__ import annotations

from django import template

from core.templatetags.stored_texts import stored_text

register = template.Library()
register.filter("stored_text", stored_text)
