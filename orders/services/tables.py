"""Writes shared by the domains: values applied to instances, rows upserted per table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import models

from orders.bulk import TableWriter, clean_text

PROVENANCE = ["source_report_id", "source_line"]


def apply_values(obj: models.Model, values: Mapping[str, Any]) -> bool:
    """Set the values that differ on obj (empty strings and None are skipped). True if any."""
    changed = False
    for name, value in values.items():
        if value is None or (isinstance(value, str) and value == ""):
            continue
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def stamp(obj: models.Model, *, report_id: int | None, line: int) -> None:
    obj.source_report_id = report_id
    obj.source_line = line


_WRITERS: dict[tuple[type[models.Model], tuple[str, ...]], TableWriter] = {}


def _writer(model: type[models.Model], unique_fields: list[str], update_fields: list[str]):
    key = (model, tuple(unique_fields), tuple(update_fields))
    writer = _WRITERS.get(key)
    if writer is None:
        writer = _WRITERS[key] = TableWriter(
            model, unique_fields=unique_fields, update_fields=update_fields
        )
    return writer


def write(
    model: type[models.Model],
    new: list,
    changed: list,
    *,
    unique_fields: list[str],
    update_fields: list[str],
) -> None:
    """Store new and changed rows: an upsert on the unique key, or `bulk_update` without one.

    New rows get their primary keys set (read back by key), so rows written after them can
    point at them.
    """
    if unique_fields:
        writer = _writer(model, unique_fields, update_fields)
        writer.upsert_objects([*new, *changed])
        if new:
            writer.read_back_pks(new)
        return
    for obj in (*new, *changed):
        clip_text(obj)
    if new:
        model.objects.bulk_create(new, batch_size=500)
    if changed:
        model.objects.bulk_update(changed, update_fields, batch_size=500)


def clip_text(obj: models.Model) -> None:
    """Cut free text to its column's length and drop NULs (see `bulk.clean_text`)."""
    for model_field in obj._meta.concrete_fields:
        if isinstance(model_field, models.CharField | models.TextField):
            value = getattr(obj, model_field.attname)
            setattr(obj, model_field.attname, clean_text(value, model_field.max_length))
