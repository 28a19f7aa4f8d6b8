"""Rows as plain values: what a new row holds, and how a record's values merge into a row.

Pure functions over the models' declarations (defaults, column lengths); no database. The
order planner merges into dicts of values by attname; the other services merge into model
instances through their `vars()`, which hold the same values under the same names.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, MutableMapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import models

# Every imported record keeps the report and line that last created or changed it.
PROVENANCE = ("source_report_id", "source_line")


@functools.cache
def text_limits(model: type[models.Model]) -> dict[str, int]:
    """The length each of the model's text columns holds, by attname."""
    return {
        field.attname: field.max_length
        for field in model._meta.concrete_fields
        if isinstance(field, models.CharField) and field.max_length
    }


@functools.cache
def _defaults(model: type[models.Model]) -> tuple[dict[str, Any], tuple[str, ...]]:
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    stamped = tuple(
        f.attname
        for f in fields
        if getattr(f, "auto_now_add", False) or getattr(f, "auto_now", False)
    )
    return {f.attname: f.get_default() for f in fields}, stamped


def cut(model: type[models.Model], name: str, value: str) -> str:
    """`value` as the model's text column `name` stores it: no longer than the column. For keys,
    which are compared before they are written."""
    limit = text_limits(model).get(name)
    return value[:limit] if limit is not None else value


def blank_row(model: type[models.Model], *, now: datetime) -> dict[str, Any]:
    """A new row's values by attname, primary key left out: the model's defaults, and `now` in
    its `auto_now_add`/`auto_now` fields. The defaults are computed once per model and shared,
    which is safe because those of the order models are all immutable values."""
    defaults, stamped = _defaults(model)
    row = dict(defaults)
    for name in stamped:
        row[name] = now
    return row


def merge_values(
    row: MutableMapping[str, Any], values: Mapping[str, Any], limits: Mapping[str, int]
) -> bool:
    """Set in `row` each of `values` that differs from it; True if any did.

    An empty string or None never erases what the row holds (see `orders.services`). Text
    longer than its column (`limits`, from `text_limits`) is compared and kept cut to the
    column's length, as the database stores it: otherwise a long value would count as a change
    on every import.
    """
    changed = False
    for name, value in values.items():
        # Written for speed (it runs for every value of every record): no calls but `len`.
        cls = value.__class__
        if cls is str:
            if not value:
                continue
            if name in limits and len(value) > limits[name]:
                value = value[: limits[name]]
        # Amounts skip the next test: a Decimal compared with "" asks the numbers ABCs,
        # which costs more than the rest of the loop.
        elif cls is not Decimal and (value is None or value == ""):
            continue  # "" also catches str subclasses (choices)
        if row[name] != value:
            row[name] = value
            changed = True
    return changed


def stamp(row: MutableMapping[str, Any], *, report_id: int | None, line: int | None) -> None:
    """Record the report and line that created or changed the row (see PROVENANCE)."""
    row["source_report_id"] = report_id
    row["source_line"] = line
