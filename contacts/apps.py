from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "contacts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from contacts import events, ingest

        # Contacts an ingestion batch skipped (locked by another transaction) get their last activity here.
        events.register_consumer("contacts.last_activity", ingest.last_activity_catch_up)
