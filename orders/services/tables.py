"""Writing many rows of one table at once: upserts on the unique key, rows as plain sequences.

The importers write thousands of rows per batch. Django's `bulk_create(update_conflicts=True)`
compiles SQL per value and `Model.__init__` does per-field work; here a table's statement and
its value conversions are prepared once per database, rows are lists, and a batch goes to the
database as `executemany` (SQLite: one prepared statement run in C) or as
`INSERT … SELECT FROM unnest` with one array per column (PostgreSQL: one round trip per 2,000
rows instead of one per row). `INSERT … ON CONFLICT (unique key) DO UPDATE` keeps writes
idempotent: a row that exists by then (another worker, an earlier batch) is updated instead of
duplicated.

Statements run through Django's cursor wrappers (`orders.services.sql`).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from django.db import connection, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.base.operations import BaseDatabaseOperations
from django.utils import timezone

from orders.services.sql import cursor, rows_by_key
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
            with cursor() as open_cursor:
                for start in range(0, len(rows), _CHUNK):
                    chunk = rows[start : start + _CHUNK]
                    open_cursor.execute(sql, [list(c) for c in zip(*chunk, strict=True)])
                    if returning:
                        found.update((row[:width], row[width]) for row in open_cursor.fetchall())
            return found
        with cursor() as open_cursor:
            for start in range(0, len(rows), _CHUNK):
                open_cursor.executemany(statements.insert_values, rows[start : start + _CHUNK])
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
