from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('contacts', '0008_lead_forms'),
    ]

    operations = [
        migrations.AddField(
            model_name='optinrequest',
            name='sending_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
