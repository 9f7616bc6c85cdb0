"""Site tracking writes visits from a Redis stream: the entry id, unique, makes writing an entry twice a no-op."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("contacts", "0009_optinrequest_sending_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="pagevisit",
            name="stream_id",
            field=models.CharField(blank=True, editable=False, max_length=40, null=True, unique=True),
        ),
    ]
