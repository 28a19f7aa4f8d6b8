"""`audit_detail`: an audit event's detail in the reader's language (`core.audit`)."""

from __future__ import annotations

from django import template

from core.audit import translate_detail

register = template.Library()


@register.filter
def audit_detail(value: str) -> str:
    return translate_detail(value or "")
