"""The audit log and the `operate` permission belong to core now (core 0001, 0002).

Only the model state leaves: the audit table stays where it is, under its old name, and core's
model uses it.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("amazon_settings", "0004_auditevent"),
        ("core", "0002_permissions_follow_their_models"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="selleraccount",
            options={"ordering": ["display_name", "pk"]},
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="AuditEvent")],
            database_operations=[],
        ),
    ]
