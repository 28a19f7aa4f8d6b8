"""The audit log moves here from amazon_settings, in the model state only: the table keeps its
name (`db_table`), so no row is copied and an existing database keeps every event. The
`operate` permission gets a model of its own that has no table."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        # The table was created by amazon_settings; this state takes it over.
        ("amazon_settings", "0004_auditevent"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ProductPermission",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
            ],
            options={
                "permissions": [
                    (
                        "operate",
                        "Can connect accounts, request and manage reports, change settings",
                    )
                ],
                "managed": False,
                "default_permissions": (),
            },
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AuditEvent",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "at",
                            models.DateTimeField(db_index=True, default=django.utils.timezone.now),
                        ),
                        ("username", models.CharField(blank=True, max_length=150)),
                        (
                            "action",
                            models.CharField(
                                help_text="The URL name, e.g. reports:reset.", max_length=100
                            ),
                        ),
                        ("object_type", models.CharField(blank=True, max_length=60)),
                        ("object_id", models.CharField(blank=True, max_length=100)),
                        ("status_code", models.PositiveSmallIntegerField(blank=True, null=True)),
                        ("detail", models.CharField(blank=True, max_length=500)),
                        (
                            "user",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="audit_events",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "amazon_settings_auditevent",
                        "ordering": ["-at", "-pk"],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
