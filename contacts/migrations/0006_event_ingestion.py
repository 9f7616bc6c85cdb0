"""Custom event types, registered on first use by the event ingestion API (contacts.ingest).

Events already stored with a custom type are registered here once, so the list is complete from
the start. The built-in types (Event.TYPES at the time of writing) are left out: they have no row.
"""

from django.db import migrations, models

BUILT_IN = [
    "contact_created", "field_changed", "tag_added", "tag_removed", "list_subscribed", "list_unsubscribed",
    "list_status_changed", "consent_recorded", "note_added", "task_created", "task_done", "stage_changed",
    "form_submitted", "page_visited", "email_sent", "email_opened", "email_clicked", "deal_created", "deal_moved",
    "deal_won", "deal_lost", "contacts_merged", "imported",
]


def register_existing_types(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO contacts_eventtype (name, first_seen_at)
               SELECT type, min(created_at) FROM contacts_event WHERE NOT (type = ANY(%s)) GROUP BY type
               ON CONFLICT DO NOTHING""", [BUILT_IN])


class Migration(migrations.Migration):

    dependencies = [
        ("contacts", "0005_custom_fields_for_deals"),
    ]

    operations = [
        migrations.CreateModel(
            name="EventType",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(db_collation="C", max_length=64, unique=True)),
                ("first_seen_at", models.DateTimeField()),
            ],
            options={
                "ordering": ["name"],
            },
        ),
        migrations.RunPython(register_existing_types, migrations.RunPython.noop),
    ]
