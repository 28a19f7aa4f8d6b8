"""Statements of the orders services through Django's cursor wrappers, and key lookups that stay
fast while an import grows its tables.

Every statement runs through Django's cursor wrapper, so `CaptureQueriesContext`,
`connection.execute_wrapper` hooks and Django's error translation see it. On PostgreSQL that
wrapper holds a psycopg cursor that binds parameters on the server: arrays then travel in
binary, dumped in C. Django's own PostgreSQL cursors bind on the client, which quotes every
array element in Python and doubles the time of a batch's statement.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from django.db import connection, models
from django.db.backends.utils import CursorWrapper


class _UnpreparedCursor(psycopg.Cursor):
    """A psycopg cursor that binds parameters on the server and never prepares a statement: a
    generic plan made while an import's tables were small would scan them once they are big."""

    def execute(self, query: Any, params: Any = None, *, prepare: bool | None = None, **kwargs):
        return super().execute(query, params, prepare=False, **kwargs)


@contextmanager
def cursor() -> Iterator[CursorWrapper]:
    """A Django cursor of the default connection; on PostgreSQL over `_UnpreparedCursor`."""
    if connection.vendor != "postgresql":
        with connection.cursor() as django_cursor:
            yield django_cursor
        return
    connection.ensure_connection()
    connection.validate_thread_sharing()
    raw = _UnpreparedCursor(connection.connection)
    if connection.queries_logged:
        wrapped = connection.make_debug_cursor(raw)
    else:
        wrapped = connection.make_cursor(raw)
    with wrapped:
        yield wrapped


def select(sql: str, params: Sequence[Any]) -> list[tuple]:
    """The rows of one query (on PostgreSQL bound on the server, so arrays go in C)."""
    with cursor() as open_cursor:
        open_cursor.execute(sql, params)
        return open_cursor.fetchall()


def rows_by_key(
    model: type[models.Model],
    *,
    key_fields: Sequence[str],
    keys: Iterable[tuple],
    fields: Sequence[str],
    fixed: Mapping[str, Any] | None = None,
) -> list[tuple]:
    """The rows of `model` whose `key_fields` (attnames) are one of `keys`, as tuples of the
    key's values and then `fields`' values; `fixed` adds equal-to conditions (the account).

    One query with one parameter per key column, whatever the number of keys (Django's `__in`
    prepares every value on its own, and SQLite allows 999 parameters). On PostgreSQL each key
    is looked up on its own through an index on the key (LATERAL … LIMIT 1): during a big
    import the planner's statistics still describe the tables as they were before it, and it
    would otherwise pick an index on the account alone and filter the whole account's rows.
    On SQLite a prefix of the key is matched in SQL (a JSON list for its first column with
    several values), the whole key here.
    """
    keys = list(set(keys))
    if not keys:
        return []
    meta = model._meta
    quote = connection.ops.quote_name
    fixed = fixed or {}
    table = quote(meta.db_table)
    key_columns = [meta.get_field(name).column for name in key_fields]
    columns = [meta.get_field(name).column for name in fields]
    fixed_conditions = [f"t.{quote(meta.get_field(name).column)} = %s" for name in fixed]
    if connection.vendor == "postgresql":
        arrays = ", ".join(
            f"%s::{meta.get_field(name).db_type(connection)}[]" for name in key_fields
        )
        names = ", ".join(f"k{i}" for i in range(len(key_columns)))
        match = [f"t.{quote(column)} = k.k{i}" for i, column in enumerate(key_columns)]
        selected = ", ".join(f"t.{quote(column)}" for column in columns) or "1"
        sql = (
            f"SELECT {names}, found.* FROM unnest({arrays}) AS k({names}) "  # noqa: S608
            f"CROSS JOIN LATERAL (SELECT {selected} FROM {table} t "
            f"WHERE {' AND '.join([*fixed_conditions, *match])} LIMIT 1) AS found"
        )
        params = [[key[i] for key in keys] for i in range(len(key_columns))]
        return select(sql, [*params, *fixed.values()])
    # SQLite: equal-to on the leading key columns that have one value among the keys, then
    # the first column with several values from a JSON list (an index prefix either way).
    conditions, params = list(fixed_conditions), list(fixed.values())
    for i, column in enumerate(key_columns):
        values = sorted({key[i] for key in keys})
        if len(values) == 1 and i < len(key_columns) - 1:
            conditions.append(f"t.{quote(column)} = %s")
            params.append(values[0])
            continue
        conditions.append(f"t.{quote(column)} IN (SELECT value FROM json_each(%s))")  # noqa: S608
        params.append(json.dumps(values))
        break
    selected = ", ".join(f"t.{quote(column)}" for column in [*key_columns, *columns])
    sql = f"SELECT {selected} FROM {table} t WHERE {' AND '.join(conditions)}"  # noqa: S608
    wanted = set(keys)
    width = len(key_columns)
    return [row for row in select(sql, params) if row[:width] in wanted]


def rows_of_orders(model: type[models.Model], order_pks: Iterable[int]) -> list[dict[str, Any]]:
    """The model's rows (items, shipment lines) of the orders with those primary keys, as
    dicts of every concrete field's value by attname.

    On PostgreSQL each order's rows are read through the index on the order (LATERAL): see
    `rows_by_key` on the planner's statistics during a big import. Its driver returns the
    values as Django would (aware datetimes, Decimals); SQLite's need Django's converters.
    """
    order_pks = list(order_pks)
    attnames = [f.attname for f in model._meta.concrete_fields]
    if connection.vendor != "postgresql":
        return list(model._base_manager.filter(order_id__in=order_pks).values(*attnames))
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in model._meta.concrete_fields)
    order_column = quote(model._meta.get_field("order").column)
    sql = (
        f"SELECT found.* FROM unnest(%s::bigint[]) AS wanted(pk) CROSS JOIN LATERAL "  # noqa: S608
        f"(SELECT {columns} FROM {quote(model._meta.db_table)} WHERE {order_column} = wanted.pk"
        " OFFSET 0) AS found"
    )
    return [dict(zip(attnames, row, strict=True)) for row in select(sql, [order_pks])]
