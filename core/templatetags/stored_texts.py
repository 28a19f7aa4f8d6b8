"""`{{ value|stored_text }}`: a text the worker stored in English (`core.stored_texts`), in the
reader's language."""

from __future__ import annotations

from django import template

from core.stored_texts import translate_stored

register = template.Library()


@register.filter
def stored_text(value: str) -> str:
    return translate_stored(value or "")
