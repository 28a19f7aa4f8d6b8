from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0004_drop_indexes_no_query_uses"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="order",
            index=models.Index(fields=["created_at"], name="order_created"),
        ),
    ]
