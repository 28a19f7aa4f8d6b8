"""`{{ event_type|event_label }}`: a webhook event in the reader's words ("order.created" ->
"Order created"); the type itself is what a receiver reads in the JSON, so the pages give it as
the label's tooltip."""

from __future__ import annotations

from django import template

from api.models import WebhookEvent

register = template.Library()
_LABELS = dict(WebhookEvent.choices)


@register.filter
def event_label(event_type: str) -> str:
    return str(_LABELS.get(event_type, event_type))
