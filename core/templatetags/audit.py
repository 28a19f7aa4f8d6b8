"""The audit log's words: `{{ event.object_type|object_type_label }}`."""

from __future__ import annotations

from django import template

from core.roles import object_type_label

register = template.Library()
register.filter("object_type_label", object_type_label)
