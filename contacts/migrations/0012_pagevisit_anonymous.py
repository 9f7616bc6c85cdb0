"""A partial index of the visits not yet attached to a contact, by visitor (contacts.tracking.attach_visits).

Built CONCURRENTLY, so a site with millions of visits keeps recording them while it builds.
"""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("contacts", "0011_leadformsubmission_deleted_with_contact"),
    ]

    operations = [
        # A build that failed or was cancelled leaves an invalid index of this name behind; start afresh.
        migrations.RunSQL("DROP INDEX CONCURRENTLY IF EXISTS pagevisit_anonymous", migrations.RunSQL.noop),
        AddIndexConcurrently(
            model_name="pagevisit",
            index=models.Index(condition=models.Q(("contact__isnull", True)), fields=["visitor"],
                               name="pagevisit_anonymous"),
        ),
    ]
