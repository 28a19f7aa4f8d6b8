"""Reports that wait for renewed access carry `failure_reason = "auth"`.

Before, only their `last_error` said so (it starts with the sentence below); the pages now read
the reason. Reports written that way get the reason, so an upgraded database keeps offering
"renew access" on the same rows as before.
"""

from django.db import migrations

# reports.services.DENIED_MESSAGE as it was written: a migration keeps its own copy.
DENIED_MESSAGE = "Amazon denied access: renew access in Settings."


def mark_denied_reports(apps, schema_editor):
    Report = apps.get_model("reports", "Report")
    Report.objects.filter(
        failure_reason="",
        last_error__startswith=DENIED_MESSAGE,
    ).update(failure_reason="auth")


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_initial")]

    operations = [migrations.RunPython(mark_denied_reports, migrations.RunPython.noop)]
