"""The audit log's words: `{{ event.object_type|object_type_label }}`, and
`{{ event.detail|audit_detail }}` (the stored English detail in the reader's language,
`core.audit.translate_detail`)."""

from __future__ import annotations

from django import template

from core.audit import translate_detail
from core.roles import object_type_label

register = template.Library()
register.filter("object_type_label", object_type_label)


@register.filter
def audit_detail(value: str) -> str:
    return translate_detail(value or "")
