"""`{{ record|choice_label:"status" }}`: what `record.get_status_display` prints, for the rows
of a list page.

Django's `get_FOO_display()` rebuilds a flat dict of the field's choices on every call: some
40 microseconds for a report's statuses, four of them on each of Processing's 50 rows. The
labels here are the field's own (lazy, so each is translated when printed), read once per
field; a value that is not among the choices prints as itself, as with `get_FOO_display()`.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django import template
from django.db import models
from django.utils.encoding import force_str

register = template.Library()


@cache
def _labels(field: models.Field) -> dict[Any, Any]:
    return dict(field.flatchoices)


@register.filter
def choice_label(record: models.Model, field_name: str) -> Any:
    """The label of `record`'s value of the choice field `field_name`."""
    field = record._meta.get_field(field_name)
    value = getattr(record, field.attname)
    return force_str(_labels(field).get(value, value), strings_only=True)
