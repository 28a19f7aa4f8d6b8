"""Writing many rows of one table at once: an upsert on the unique key, rows as plain tuples.

The importers write thousands of rows per batch. Django's `bulk_create(update_conflicts=True)`
compiles SQL per value and `Model.__init__` does per-field work; here a table's statement and
its value conversions are prepared once, rows are tuples, and a batch goes to the database as
`executemany` (SQLite: one prepared statement run in C) or as `INSERT … SELECT FROM unnest`
with one array per column (PostgreSQL: one round trip per 2,000 rows instead of one per row).

`INSERT … ON CONFLICT (unique key) DO UPDATE` keeps writes idempotent: a row that exists by
then (another worker, an earlier batch) is updated instead of duplicated.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from django.db import connection, models
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models.base import ModelState
from django.utils import timezone

# Rows per PostgreSQL statement.
_PG_CHUNK = 2_000


def clean_text(value: Any, limit: int | None) -> Any:
    """Free text cut to its column's length, without NUL characters; other values as given.

    A damaged file's over-long text is cut rather than failing the document on PostgreSQL (ids
    never get here too long: parse_id refuses them), and PostgreSQL refuses NULs in text.
    """
    if not isinstance(value, str):
        return value
    if "\x00" in value:
        value = value.replace("\x00", "")
    return value[:limit] if limit is not None and len(value) > limit else value


def _datetime_adapter() -> Callable[[Any], Any]:
    """The backend's datetime adapter; on SQLite (which stores text) a shortcut for the aware
    UTC datetimes importers make, giving the same text as Django's adapter."""
    adapt = connection.ops.adapt_datetimefield_value
    if connection.vendor != "sqlite" or connection.timezone is not UTC:
        return adapt

    def adapt_utc(value: Any) -> Any:
        if value.__class__ is datetime and value.tzinfo is UTC:
            return str(value.replace(tzinfo=None))
        return adapt(value)

    return adapt_utc


def _row_function(fields: list[models.Field]) -> Callable[[Mapping[str, Any]], tuple]:
    """A function from a mapping with a value for every field's attname to the row's driver
    parameters, as one generated tuple expression (one Python call per row, not one per value).

    The conversions `get_db_prep_save` makes for the values importers produce: aware datetimes
    and dates through the backend's adapters; Decimals, ints, bools and foreign keys as they
    are; free text cut to its column's length (a damaged file's over-long text is cut rather
    than failing the document on PostgreSQL; ids never get here too long, parse_id refuses
    them). NUL characters never get here: documents are read without them.
    """
    ops = connection.ops
    scope: dict[str, Any] = {"clean_text": clean_text}
    parts = []
    for position, field in enumerate(fields):
        value = f"values[{field.attname!r}]"
        if isinstance(field, models.DateTimeField):
            scope[f"adapt{position}"] = _datetime_adapter()
            parts.append(f"adapt{position}({value})")
        elif isinstance(field, models.DateField):
            scope[f"adapt{position}"] = ops.adapt_datefield_value
            parts.append(f"adapt{position}({value})")
        elif isinstance(field, models.DecimalField):
            if (
                type(ops).adapt_decimalfield_value
                is BaseDatabaseOperations.adapt_decimalfield_value
            ):
                parts.append(value)  # the backend passes Decimals as they are
            else:
                scope[f"adapt{position}"] = ops.adapt_decimalfield_value
                parts.append(
                    f"adapt{position}({value}, {field.max_digits}, {field.decimal_places})"
                )
        elif isinstance(field, models.CharField) and field.max_length and not field.null:
            parts.append(f"{value}[:{int(field.max_length)}]")  # no copy when it fits
        elif isinstance(field, models.CharField | models.TextField):
            limit = int(field.max_length) if field.max_length else None
            parts.append(f"clean_text({value}, {limit})")
        elif isinstance(field, models.IntegerField | models.BooleanField | models.ForeignKey):
            parts.append(value)
        else:
            scope[f"field{position}"] = field
            scope["connection"] = connection
            parts.append(f"field{position}.get_db_prep_save({value}, connection)")
    source = "def row(values):\n    return (" + ", ".join(parts) + ",)\n"
    exec(compile(source, "<orders.bulk row>", "exec"), scope)  # noqa: S102 - names from the model
    return scope["row"]


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


def instances_of_orders(model: type[models.Model], order_pks: Iterable[int]) -> list[Any]:
    """The model's rows (items, shipment lines) of the orders with those primary keys.

    On PostgreSQL each order's rows are read through the index on the order (LATERAL): see
    `rows_by_key` on the planner's statistics during a big import.
    """
    order_pks = list(order_pks)
    if connection.vendor != "postgresql":
        return list(model._base_manager.filter(order_id__in=order_pks))
    quote = connection.ops.quote_name
    column = quote(model._meta.get_field("order").column)
    sql = (
        "SELECT rows.* FROM unnest(%s::bigint[]) AS wanted(pk) CROSS JOIN LATERAL "  # noqa: S608
        f"(SELECT * FROM {quote(model._meta.db_table)} WHERE {column} = wanted.pk OFFSET 0)"
        " AS rows"
    )
    return list(model._base_manager.raw(sql, [order_pks]))


def select(sql: str, params: Sequence[Any]) -> list[tuple]:
    """The rows of one query (on PostgreSQL bound on the server, so arrays go in C)."""
    if connection.vendor == "postgresql":
        import psycopg

        with connection.cursor() as wrapper, psycopg.Cursor(wrapper.connection) as cursor:
            # Never prepared: a generic plan made while an import's tables were small would
            # scan them when they are big.
            cursor.execute(sql, params, prepare=False)
            return cursor.fetchall()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


class TableWriter:
    """Upserts of one model's table on one unique key; values by attname (`order_id`).

    `blank()` is a new row's values as the model's defaults give them; `row()` turns a full
    mapping of values into the tuple `upsert()` writes.
    """

    def __init__(
        self,
        model: type[models.Model],
        *,
        unique_fields: Sequence[str],
        update_fields: Sequence[str],
    ):
        meta = model._meta
        self.model = model
        self.fields = [f for f in meta.concrete_fields if not f.primary_key]
        self.attnames = [f.attname for f in self.fields]
        self.key_attnames = [meta.get_field(name).attname for name in unique_fields]
        self._key_positions = [self.attnames.index(name) for name in self.key_attnames]
        self._update_columns = [meta.get_field(name).column for name in update_fields]
        self._unique_columns = [meta.get_field(name).column for name in unique_fields]
        self._stamped = [
            f.attname
            for f in self.fields
            if getattr(f, "auto_now_add", False) or getattr(f, "auto_now", False)
        ]
        self._blank = {f.attname: f.get_default() for f in self.fields}
        self._prepared_for: str | None = None

    def _prepare(self) -> None:
        """Statement and converters for the current connection's database."""
        if self._prepared_for == connection.vendor:
            return
        quote = connection.ops.quote_name
        self.row = _row_function(self.fields)
        self._insert = (
            f"INSERT INTO {quote(self.model._meta.db_table)} "  # noqa: S608
            f"({', '.join(quote(f.column) for f in self.fields)}) VALUES "
        )
        self._row_placeholders = "(" + ", ".join(["%s"] * len(self.fields)) + ")"
        self._conflict = (
            f" ON CONFLICT ({', '.join(quote(c) for c in self._unique_columns)}) DO UPDATE SET "
            + ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in self._update_columns)
        )
        if connection.vendor == "postgresql":
            arrays = ", ".join(f"%b::{f.db_type(connection)}[]" for f in self.fields)
            returned = [
                *(quote(c) for c in self._unique_columns),
                quote(self.model._meta.pk.column),
            ]
            self._returning = f" RETURNING {', '.join(returned)}"
            into = self._insert.removesuffix(" VALUES ")
            self._unnest = f"{into} SELECT * FROM unnest({arrays}){self._conflict}"  # noqa: S608
        self._prepared_for = connection.vendor

    def blank(self) -> dict[str, Any]:
        """A new row's values: the model's defaults (immutable ones only, as the order models
        have), `auto_now_add`/`auto_now` fields stamped now."""
        values = dict(self._blank)
        if self._stamped:
            now = timezone.now()
            for name in self._stamped:
                values[name] = now
        return values

    def row(self, values: Mapping[str, Any]) -> tuple:
        """The parameters of one row, from a value for every attname (see `_row_function`).
        Replaced by the generated function on first use."""
        self._prepare()
        return self.row(values)

    def upsert(self, rows: Sequence[tuple], *, returning: bool = False) -> dict[tuple, int]:
        """Insert rows, updating `update_fields` of those whose unique key exists.

        Rows sharing a key are written once, the last one (what upserting them one after the
        other leaves; one PostgreSQL statement cannot update a row twice). With `returning`,
        the rows' primary keys by unique key (PostgreSQL returns them with the write; SQLite
        reads them after), else an empty dict.
        """
        if not rows:
            return {}
        self._prepare()
        key_of = operator.itemgetter(*self._key_positions)
        if len({key_of(row) for row in rows}) < len(rows):
            rows = list({key_of(row): row for row in rows}.values())
        if connection.vendor == "postgresql":
            # One statement per chunk with one array parameter per column, bound on the server
            # by psycopg's own cursor: arrays are dumped in C, where Django's client-side
            # binding cursor would quote every value in Python.
            import psycopg

            sql = self._unnest + (self._returning if returning else "")
            found: dict[tuple, int] = {}
            width = len(self._key_positions)
            with connection.cursor() as wrapper, psycopg.Cursor(wrapper.connection) as cursor:
                for start in range(0, len(rows), _PG_CHUNK):
                    chunk = rows[start : start + _PG_CHUNK]
                    columns = [list(c) for c in zip(*chunk, strict=True)]
                    cursor.execute(sql, columns, prepare=False)
                    if returning:
                        found.update((row[:width], row[width]) for row in cursor.fetchall())
            return found
        sql = self._insert + self._row_placeholders + self._conflict
        with connection.cursor() as cursor:
            for start in range(0, len(rows), 2000):
                cursor.executemany(sql, rows[start : start + 2000])
        if not returning:
            return {}
        return self.pks(tuple(row[i] for i in self._key_positions) for row in rows)

    def upsert_objects(self, objs: Iterable[models.Model]) -> None:
        """Upsert model instances: foreign keys are taken from related objects saved earlier
        in the batch; stamped fields are filled for instances without a primary key."""
        rows = []
        now = timezone.now()
        relations = [f for f in self.fields if f.is_relation]
        for obj in objs:
            for f in relations:
                if getattr(obj, f.attname) is None and f.is_cached(obj):
                    related = f.get_cached_value(obj)
                    if related is not None:
                        setattr(obj, f.attname, related.pk)
            if obj.pk is None:
                for name in self._stamped:
                    setattr(obj, name, now)
            rows.append(self.row(obj.__dict__))
        self.upsert(rows)

    def pks(self, keys: Iterable[tuple]) -> dict[tuple, int]:
        """Primary keys by unique key (a tuple in `unique_fields` order), in one query."""
        width = len(self.key_attnames)
        pk_name = self.model._meta.pk.name
        rows = rows_by_key(self.model, key_fields=self.key_attnames, keys=keys, fields=[pk_name])
        return {row[:width]: row[width] for row in rows}

    def read_back_pks(self, objs: Sequence[models.Model]) -> None:
        """Set the primary keys of instances just inserted, read by their unique key."""
        by_key = {tuple(getattr(obj, name) for name in self.key_attnames): obj for obj in objs}
        for key, pk in self.pks(by_key).items():
            obj = by_key[key]
            obj.pk = pk
            obj._state.adding = False


_BLANKS: dict[type[models.Model], dict[str, Any]] = {}


def new_instance(model: type[models.Model], **values: Any) -> Any:
    """A new unsaved instance, as `model(**values)` gives, without `Model.__init__`'s per-field
    work. For the order models, whose defaults are all immutable; no `pre_init`/`post_init`
    signals are sent (nothing listens to them here)."""
    blank = _BLANKS.get(model)
    if blank is None:
        blank = _BLANKS[model] = {f.attname: f.get_default() for f in model._meta.concrete_fields}
    obj = model.__new__(model)
    obj.__dict__.update(blank)
    obj._state = ModelState()
    for name, value in values.items():
        setattr(obj, name, value)
    return obj
