"""orders.services.tables: rows written as Django would write them, one row per key, keys read back.

Runs on SQLite and, in the scale-out pass, on PostgreSQL (unnest arrays, server binding).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.models import Order
from orders.services.sql import rows_by_key
from orders.services.tables import TableWriter

pytestmark = pytest.mark.django_db


def order_writer() -> TableWriter:
    return TableWriter(
        Order,
        unique_fields=["account", "amazon_order_id"],
        update_fields=["status", "items_total", "ship_city", "purchased_at"],
    )


def order_values(writer: TableWriter, account, order_id: str, **values) -> dict:
    row = writer.blank()
    row.update(account_id=account.pk, amazon_order_id=order_id, **values)
    return row


def test_row_parameters_are_what_django_saves(account):
    writer = order_writer()
    moment = datetime(2025, 3, 1, 12, 30, 15, 250, tzinfo=UTC)
    values = order_values(
        writer,
        account,
        "302-1-1",
        purchased_at=moment,
        last_updated_at=datetime(2025, 3, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))),
        items_total=Decimal("12.30"),
        ship_city="x" * 500,  # longer than its column: cut
        is_business_order=True,
    )
    row = writer.row(values)
    by_name = dict(zip(writer.attnames, row, strict=True))
    for field in Order._meta.concrete_fields:
        if field.primary_key:
            continue
        expected = field.get_db_prep_save(values[field.attname], connection)
        if field.attname == "ship_city":
            expected = "x" * field.max_length
        assert by_name[field.attname] == expected, field.attname


def test_upsert_writes_each_key_once_and_updates_on_conflict(account):
    writer = order_writer()
    first = order_values(writer, account, "302-1-1", status="Pending", ship_city="Berlin")
    twice = order_values(writer, account, "302-1-1", status="Shipped", ship_city="Bonn")
    other = order_values(writer, account, "302-1-2", status="Unshipped")
    writer.upsert([writer.row(first), writer.row(twice), writer.row(other)])
    assert dict(Order.objects.values_list("amazon_order_id", "status")) == {
        "302-1-1": "Shipped",  # the later row of a key wins, as one upsert after the other
        "302-1-2": "Unshipped",
    }

    again = order_values(writer, account, "302-1-2", status="Canceled", ship_city="Köln")
    writer.upsert([writer.row(again)])
    order = Order.objects.get(amazon_order_id="302-1-2")
    assert (order.status, order.ship_city, Order.objects.count()) == ("Canceled", "Köln", 2)


def test_pks_are_read_back_by_key_and_only_for_the_keys_asked(account, other_account):
    writer = order_writer()
    rows = [order_values(writer, account, f"302-0-{n}") for n in range(1200)]
    rows.append(order_values(writer, other_account, "302-0-1"))
    writer.upsert([writer.row(r) for r in rows])
    wanted = [(account.pk, f"302-0-{n}") for n in range(0, 1200, 3)] + [(account.pk, "missing")]
    found = writer.pks(wanted)
    assert len(found) == 400
    for (account_pk, order_id), pk in found.items():
        order = Order.objects.get(pk=pk)
        assert (order.account_id, order.amazon_order_id) == (account_pk, order_id)
    assert writer.pks([]) == {}


def test_rows_by_key_takes_any_number_of_keys_and_only_matches_whole_keys(account, other_account):
    writer = order_writer()
    rows = [order_values(writer, account, f"302-9-{n}", ship_city=f"c{n}") for n in range(2500)]
    rows.append(order_values(writer, other_account, "302-9-0", ship_city="elsewhere"))
    writer.upsert([writer.row(r) for r in rows])
    keys = [(f"302-9-{n}",) for n in range(0, 2500, 2)] + [("302-9-missing",)]
    found = rows_by_key(
        Order,
        fixed={"account_id": account.pk},
        key_fields=["amazon_order_id"],
        keys=keys,
        fields=["ship_city"],
    )
    assert sorted(found) == sorted((f"302-9-{n}", f"c{n}") for n in range(0, 2500, 2))
    # Two key columns: a pair matches only as a pair.
    pairs = [(account.pk, "302-9-1"), (other_account.pk, "302-9-1"), (other_account.pk, "302-9-0")]
    found = rows_by_key(
        Order, key_fields=["account_id", "amazon_order_id"], keys=pairs, fields=["ship_city"]
    )
    assert sorted(found) == sorted(
        [(account.pk, "302-9-1", "c1"), (other_account.pk, "302-9-0", "elsewhere")]
    )


def test_upsert_returns_the_keys_of_inserted_and_updated_rows(account):
    writer = order_writer()
    writer.upsert([writer.row(order_values(writer, account, "302-5-1", status="Pending"))])
    rows = [
        writer.row(order_values(writer, account, "302-5-1", status="Shipped")),  # updated
        writer.row(order_values(writer, account, "302-5-2")),  # inserted
    ]
    found = writer.upsert(rows, returning=True)
    stored = dict(Order.objects.values_list("amazon_order_id", "pk"))
    assert found == {(account.pk, order_id): pk for order_id, pk in stored.items()}
    assert writer.upsert(rows) == {}


def test_every_statement_runs_through_djangos_cursor_wrappers(account):
    """Query logging and `execute_wrapper` hooks (the benchmark's SQL time) see the upserts and
    key lookups, on PostgreSQL's server-bound cursor too."""
    writer = order_writer()
    hooked = []

    def hook(execute, sql, params, many, context):
        hooked.append(sql)
        return execute(sql, params, many, context)

    with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(hook):
        found = writer.upsert(
            [writer.row(order_values(writer, account, "302-7-1"))], returning=True
        )
        rows = rows_by_key(
            Order, key_fields=["account_id", "amazon_order_id"], keys=found, fields=["status"]
        )

    assert rows == [(account.pk, "302-7-1", "")]
    # SQLite reads the new primary key back after the insert; PostgreSQL returns it.
    expected = 3 if connection.vendor == "sqlite" else 2
    assert len(captured.captured_queries) == len(hooked) == expected
    assert hooked[0].startswith(f"INSERT INTO {connection.ops.quote_name('orders_order')}")
