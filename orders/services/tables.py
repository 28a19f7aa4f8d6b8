"""Writing and reading many rows of one table at once: upserts on the unique key, rows as tuples.

The importers write thousands of rows per batch. Django's `bulk_create(update_conflicts=True)`
compiles SQL per value and `Model.__init__` does per-field work; here a table's statement and
its value conversions are prepared once per database, rows are tuples, and a batch goes to the
database as `executemany` (SQLite: one prepared statement run in C) or as
`INSERT … SELECT FROM unnest` with one array per column (PostgreSQL: one round trip per 2,000
rows instead of one per row). `INSERT … ON CONFLICT (unique key) DO UPDATE` keeps writes
idempotent: a row that exists by then (another worker, an earlier batch) is updated instead of
duplicated.

Every statement runs through Django's cursor wrapper, so `CaptureQueriesContext`,
`connection.execute_wrapper` hooks and Django's error translation see it. On PostgreSQL that
wrapper holds a psycopg cursor that binds parameters on the server: arrays then travel in
binary, dumped in C. Django's own PostgreSQL cursors bind on the client, which quotes every
array element in Python and doubles the time of a batch's statement.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
from django.db import connection, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from orders.services.values import blank_row

# Rows per statement: PostgreSQL arrays, SQLite executemany.
_CHUNK = 2_000


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


def _datetime_adapter(db: BaseDatabaseWrapper) -> Callable[[Any], Any]:
    """The backend's datetime adapter; on SQLite (which stores text) a shortcut for the aware
    UTC datetimes importers make, giving the same text as Django's adapter."""
    adapt = db.ops.adapt_datetimefield_value
    if db.vendor != "sqlite" or db.timezone is not UTC:
        return adapt

    def adapt_utc(value: Any) -> Any:
        if value.__class__ is datetime and value.tzinfo is UTC:
            return value.isoformat(" ")[:-6]  # without its "+00:00"
        return adapt(value)

    return adapt_utc


def _adapter(
    field: models.Field, db: BaseDatabaseWrapper
) -> tuple[Hashable, Callable[[Any], Any]] | None:
    """What `field.get_db_prep_save` does to the values importers produce, under a key that
    fields adapted alike share; None where the driver takes them as they are (numbers,
    booleans, foreign keys, Decimals on most backends)."""
    ops = db.ops
    if isinstance(field, models.DateTimeField):
        return "datetime", _datetime_adapter(db)
    if isinstance(field, models.DateField):
        return "date", ops.adapt_datefield_value
    if isinstance(field, models.DecimalField):
        if type(ops).adapt_decimalfield_value is BaseDatabaseOperations.adapt_decimalfield_value:
            return None
        max_digits, places = field.max_digits, field.decimal_places
        return ("decimal", max_digits, places), lambda value: ops.adapt_decimalfield_value(
            value, max_digits, places
        )
    if isinstance(field, models.CharField | models.TextField):
        limit = field.max_length
        return ("text", limit), lambda value: clean_text(value, limit)
    if isinstance(field, models.IntegerField | models.BooleanField | models.ForeignKey):
        return None
    return ("field", field), lambda value: field.get_db_prep_save(value, db)


def _picker(names: Sequence[str]) -> Callable[[Mapping[str, Any]], tuple]:
    """`operator.itemgetter` that answers a tuple for any number of names."""
    if len(names) == 1:
        (name,) = names
        return lambda values: (values[name],)
    if not names:
        return lambda values: ()
    return operator.itemgetter(*names)


def row_converter(
    fields: Sequence[models.Field], db: BaseDatabaseWrapper
) -> tuple[list[models.Field], Callable[[Mapping[str, Any]], list]]:
    """The fields in the order of a row's parameters, and a function from a mapping with a
    value for every field's attname to those parameters.

    Fields are ordered by what their values need, so that each kind is picked and converted
    by one C call per row rather than one Python step per value: first those the driver takes
    as they are, then the text of NOT NULL columns, cut to its length (NULs never get there:
    documents are read without them), then the fields of each adapter (other text also loses
    NULs: `clean_text`).
    """
    plain: list[models.Field] = []
    cut: list[models.Field] = []
    adapted: dict[Hashable, tuple[Callable[[Any], Any], list[models.Field]]] = {}
    for field in fields:
        if isinstance(field, models.CharField) and field.max_length and not field.null:
            cut.append(field)
            continue
        adapter = _adapter(field, db)
        if adapter is None:
            plain.append(field)
        else:
            key, adapt = adapter
            adapted.setdefault(key, (adapt, []))[1].append(field)
    pick_plain = _picker([f.attname for f in plain])
    pick_cut = _picker([f.attname for f in cut])
    cuts = [slice(None, f.max_length) for f in cut]  # no copy of a text that fits
    groups = [(adapt, _picker([f.attname for f in group])) for adapt, group in adapted.values()]
    getitem = operator.getitem

    if not groups:

        def convert(values: Mapping[str, Any]) -> list:
            return [*pick_plain(values), *map(getitem, pick_cut(values), cuts)]

    elif len(groups) == 1:
        ((adapt, pick),) = groups

        def convert(values: Mapping[str, Any]) -> list:
            return [
                *pick_plain(values),
                *map(getitem, pick_cut(values), cuts),
                *map(adapt, pick(values)),
            ]

    else:

        def convert(values: Mapping[str, Any]) -> list:
            row = [*pick_plain(values), *map(getitem, pick_cut(values), cuts)]
            for adapt, pick in groups:
                row += map(adapt, pick(values))
            return row

    ordered = [*plain, *cut, *(f for _, group in adapted.values() for f in group)]
    return ordered, convert


class _UnpreparedCursor(psycopg.Cursor):
    """A psycopg cursor that binds parameters on the server and never prepares a statement: a
    generic plan made while an import's tables were small would scan them once they are big."""

    def execute(self, query: Any, params: Any = None, *, prepare: bool | None = None, **kwargs):
        return super().execute(query, params, prepare=False, **kwargs)


@contextmanager
def _cursor() -> Iterator[CursorWrapper]:
    """A Django cursor of the default connection; on PostgreSQL over `_UnpreparedCursor`."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
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
    with _cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


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


class _Statements:
    """A table's row conversion and upsert statements for one database backend."""

    def __init__(self, writer: TableWriter, db: BaseDatabaseWrapper) -> None:
        quote = db.ops.quote_name
        meta = writer.model._meta
        fields = [f for f in meta.concrete_fields if not f.primary_key]
        self.fields, self.convert = row_converter(fields, db)
        self.attnames = [f.attname for f in self.fields]
        self.key_of = _picker_of_positions([self.attnames.index(n) for n in writer.key_attnames])
        columns = ", ".join(quote(f.column) for f in self.fields)
        into = f"INSERT INTO {quote(meta.db_table)} ({columns})"
        conflict = (
            f" ON CONFLICT ({', '.join(quote(c) for c in writer.unique_columns)}) DO UPDATE SET "
            + ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in writer.update_columns)
        )
        placeholders = ", ".join(["%s"] * len(self.fields))
        self.insert_values = f"{into} VALUES ({placeholders}){conflict}"
        arrays = ", ".join(f"%b::{f.db_type(db)}[]" for f in self.fields)
        self.insert_unnest = f"{into} SELECT * FROM unnest({arrays}){conflict}"  # noqa: S608
        returned = [*(quote(c) for c in writer.unique_columns), quote(meta.pk.column)]
        self.returning = f" RETURNING {', '.join(returned)}"


def _picker_of_positions(positions: list[int]) -> Callable[[Sequence[Any]], tuple]:
    """`operator.itemgetter` of positions that answers a tuple for any number of them."""
    if len(positions) == 1:
        (position,) = positions
        return lambda row: (row[position],)
    return operator.itemgetter(*positions)


class TableWriter:
    """Upserts of one model's table on one unique key; values by attname (`order_id`).

    `blank()` is a new row's values as the model's defaults give them; `row()` turns a full
    mapping of values into the parameters `upsert()` writes, in the order of `attnames`.
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
        self.key_attnames = [meta.get_field(name).attname for name in unique_fields]
        self.unique_columns = [meta.get_field(name).column for name in unique_fields]
        self.update_fields = list(update_fields)
        self.update_columns = [meta.get_field(name).column for name in update_fields]
        # By backend: a process talks to one database, tests to SQLite and PostgreSQL.
        self._statements: dict[str, _Statements] = {}

    def _for_connection(self) -> _Statements:
        statements = self._statements.get(connection.vendor)
        if statements is None:
            statements = self._statements[connection.vendor] = _Statements(self, connection)
        return statements

    @property
    def attnames(self) -> list[str]:
        """The attnames of a row's values, in their order (see `row_converter`)."""
        return self._for_connection().attnames

    def blank(self) -> dict[str, Any]:
        """A new row's values: the model's defaults, `auto_now_add`/`auto_now` fields now."""
        return blank_row(self.model, now=timezone.now())

    def row(self, values: Mapping[str, Any]) -> list:
        """The parameters of one row, from a value for every attname (see `row_converter`)."""
        return self._for_connection().convert(values)

    def rows(self, values: Iterable[Mapping[str, Any]]) -> list[list]:
        """`row()` of each mapping."""
        convert = self._for_connection().convert
        return [convert(v) for v in values]

    def upsert(self, rows: Sequence[list], *, returning: bool = False) -> dict[tuple, int]:
        """Insert rows, updating `update_fields` of those whose unique key exists.

        Rows sharing a key are written once, the last one (what upserting them one after the
        other leaves; one PostgreSQL statement cannot update a row twice). With `returning`,
        the rows' primary keys by unique key (PostgreSQL returns them with the write; SQLite
        reads them after), else an empty dict.
        """
        if not rows:
            return {}
        statements = self._for_connection()
        key_of = statements.key_of
        if len({key_of(row) for row in rows}) < len(rows):
            rows = list({key_of(row): row for row in rows}.values())
        if connection.vendor == "postgresql":
            sql = statements.insert_unnest + (statements.returning if returning else "")
            found: dict[tuple, int] = {}
            width = len(self.key_attnames)
            with _cursor() as cursor:
                for start in range(0, len(rows), _CHUNK):
                    chunk = rows[start : start + _CHUNK]
                    cursor.execute(sql, [list(c) for c in zip(*chunk, strict=True)])
                    if returning:
                        found.update((row[:width], row[width]) for row in cursor.fetchall())
            return found
        with _cursor() as cursor:
            for start in range(0, len(rows), _CHUNK):
                cursor.executemany(statements.insert_values, rows[start : start + _CHUNK])
        if not returning:
            return {}
        return self.pks(key_of(row) for row in rows)

    def pks(self, keys: Iterable[tuple]) -> dict[tuple, int]:
        """Primary keys by unique key (a tuple in `unique_fields` order), in one query."""
        width = len(self.key_attnames)
        pk_name = self.model._meta.pk.name
        rows = rows_by_key(self.model, key_fields=self.key_attnames, keys=keys, fields=[pk_name])
        return {row[:width]: row[width] for row in rows}

    def upsert_instances(self, objs: Sequence[models.Model]) -> None:
        """Upsert model instances (foreign keys set by attname); those without a primary key
        get their `auto_now_add`/`auto_now` fields stamped, then their primary keys read back
        by their unique key, so rows written after them can point at them."""
        new = [obj for obj in objs if obj.pk is None]
        now = timezone.now()
        stamped = [
            f.attname
            for f in self.model._meta.concrete_fields
            if getattr(f, "auto_now_add", False) or getattr(f, "auto_now", False)
        ]
        for obj in new:
            for name in stamped:
                setattr(obj, name, now)
        self.upsert(self.rows(vars(obj) for obj in objs))
        if not new:
            return
        by_key = {tuple(getattr(obj, name) for name in self.key_attnames): obj for obj in new}
        for key, pk in self.pks(by_key).items():
            obj = by_key[key]
            obj.pk = pk
            obj._state.adding = False


def table_writer(model: type[models.Model], *, unique_fields: Sequence[str]) -> TableWriter:
    """A writer of the model's table on that unique key that rewrites every other field of a
    row that exists (the primary key and the creation time excepted)."""
    update_fields = [
        f.name
        for f in model._meta.concrete_fields
        if not f.primary_key
        and f.name not in unique_fields
        and not getattr(f, "auto_now_add", False)
    ]
    return TableWriter(model, unique_fields=unique_fields, update_fields=update_fields)


def update_instances(
    model: type[models.Model], objs: Sequence[models.Model], fields: Sequence[str]
) -> None:
    """Store `fields` of stored instances by primary key, text cut as `clean_text` does."""
    if not objs:
        return
    text = [
        f
        for f in model._meta.concrete_fields
        if f.name in fields and isinstance(f, models.CharField | models.TextField)
    ]
    for obj in objs:
        for field in text:
            setattr(obj, field.attname, clean_text(getattr(obj, field.attname), field.max_length))
    model.objects.bulk_update(objs, fields, batch_size=500)
