"""One `created` change event for every order, return, stock level and invoice stored before
the change log existed, so a client's first sync from the start of the log sees them all."""

from django.db import migrations
from django.utils import timezone

# (kind, event type, table, column used as the event's time, or None: now)
EXISTING = (
    ("order", "order.created", "orders_order", "created_at"),
    ("return", "return.created", "orders_return", "returned_at"),
    ("stock", "stock.changed", "orders_stocklevel", "changed_at"),
    ("invoice", "invoice.issued", "orders_invoice", None),
)


def record_existing(apps, schema_editor):
    quote = schema_editor.connection.ops.quote_name
    for kind, event_type, table, at in EXISTING:
        at_sql = quote(at) if at else "%s"
        params = [kind, event_type] + ([] if at else [timezone.now()])
        schema_editor.execute(
            f"INSERT INTO {quote('core_changeevent')} "  # noqa: S608
            f"({quote('txid')}, {quote('kind')}, {quote('event_type')}, {quote('entity_id')}, "
            f"{quote('account_id')}, {quote('created_at')}) "
            f"SELECT 0, %s, %s, {quote('id')}, {quote('account_id')}, {at_sql} "
            f"FROM {quote(table)} ORDER BY {quote('id')}",
            params,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0005_change_events"),
        ("orders", "0010_search_trigram_indexes"),
    ]

    operations = [migrations.RunPython(record_existing, migrations.RunPython.noop)]
