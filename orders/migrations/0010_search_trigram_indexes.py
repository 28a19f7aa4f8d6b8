"""Trigram indexes for the Orders search, on PostgreSQL only.

The search looks a term up inside order IDs, SKUs and buyer names with `icontains`, which Django
writes as `UPPER("column"::text) LIKE UPPER('%term%')` on PostgreSQL, and compares e-mail
addresses with `iexact`, `UPPER("column"::text) = UPPER('term')`. Each index below is on exactly
that expression, or the planner cannot use it. pg_trgm is a trusted extension (PostgreSQL 13 and
later): the database's owner may create it. SQLite has neither; there the migration does nothing
and the search reads the tables, as it always did.

The indexes are not in the models' `Meta.indexes`: a GIN index with an operator class would be
created on SQLite too.
"""

from django.db import migrations

SEARCH_INDEXES = (
    ("order_amazon_id_trgm", "orders_order", "gin (UPPER(amazon_order_id::text) gin_trgm_ops)"),
    ("order_buyer_name_trgm", "orders_order", "gin (UPPER(buyer_name::text) gin_trgm_ops)"),
    ("order_buyer_email_upper", "orders_order", "btree (UPPER(buyer_email::text))"),
    ("orderitem_sku_trgm", "orders_orderitem", "gin (UPPER(sku::text) gin_trgm_ops)"),
)


def create_search_indexes(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, definition in SEARCH_INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING {definition}")


def drop_search_indexes(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    # The extension stays: something else in the database may use it.
    for name, _, _ in SEARCH_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("orders", "0009_list_pages_newest_first")]

    operations = [migrations.RunPython(create_search_indexes, drop_search_indexes)]
