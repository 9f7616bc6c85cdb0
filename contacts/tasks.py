from celery import shared_task
from django.db import OperationalError

from contacts import events, imports

#: An import of a million rows runs for minutes, longer than the default limits; it stops (and says so) at these.
IMPORT_SOFT_TIME_LIMIT = 30 * 60
IMPORT_TIME_LIMIT = IMPORT_SOFT_TIME_LIMIT + 60


@shared_task(name="contacts.tasks.events_recorded")
def events_recorded(event_ids: list[int]) -> None:
    """Hand a batch of new events to every registered consumer."""
    for consumer in events.consumers().values():
        consumer(event_ids)


# Routed to the "bulk" queue by CELERY_TASK_ROUTES ("contacts.tasks.import_*").
# acks_late: a worker host that dies mid-import leaves the message to be delivered again, and
# import_run carries on after the rows already counted. A task killed on its own (time limit, out
# of memory) is not redelivered, so one bad file cannot crash-loop a worker.
@shared_task(name="contacts.tasks.import_contacts", acks_late=True, soft_time_limit=IMPORT_SOFT_TIME_LIMIT,
             time_limit=IMPORT_TIME_LIMIT)
def import_contacts(job_id: int) -> None:
    """Run one contact import; a second delivery of the same job does nothing."""
    imports.import_run(job_id=job_id)


# --- Custom field range indexes (contacts.catalog; added by the settings pages) --------------------
# Routed to the "bulk" queue ("contacts.tasks.custom_field_*"): at a million contacts they take a while.

@shared_task(name="contacts.tasks.custom_field_index_sync", autoretry_for=(OperationalError,),
             retry_backoff=True, retry_backoff_max=300, max_retries=5)
def custom_field_index_sync(key: str, object: str = "contact") -> str:
    """Build or drop the range index of one custom field key of contacts (or deals), to match its definition now."""
    from contacts import catalog

    return catalog.custom_field_index_sync(key=key, object=object)


@shared_task(name="contacts.tasks.custom_field_values_remove", autoretry_for=(OperationalError,),
             retry_backoff=True, retry_backoff_max=300, max_retries=5)
def custom_field_values_remove(key: str, object: str = "contact") -> int:
    """Remove a deleted custom field's values from every contact (or deal)."""
    from contacts import catalog

    return catalog.custom_field_values_remove(key=key, object=object)


# --- Bulk actions on "all matching" contacts (contacts.actions; added by the contact list) ---------
# Routed to the "bulk" queue ("contacts.tasks.bulk_*"). Each run works for about a minute, one
# transaction per batch, then hands over to a fresh task, so a million contacts never meet a time limit.

@shared_task(name="contacts.tasks.bulk_action_run")
def bulk_action_run(job_id: str) -> None:
    """Carry a bulk job forward from where it stopped; queue the rest as a new task."""
    from contacts import actions

    if not actions.bulk_job_step(job_id):
        bulk_action_run.delay(job_id)


# --- Lead forms: double opt-in confirmation email (contacts.leadforms.optin; added by the public form side) ---

@shared_task(name="contacts.tasks.send_opt_in_email", autoretry_for=(OperationalError, OSError), max_retries=5,
             retry_backoff=True)
def send_opt_in_email(request_id: int) -> bool:
    """Send the confirmation email of an OptInRequest once (see opt_in_send); False when sent or being sent.

    An SMTP failure (an OSError) releases the row's send claim and is retried here with backoff.
    """
    from contacts.leadforms.optin import opt_in_send

    return opt_in_send(request_id)



@shared_task(name="contacts.tasks.opt_in_emails_sweep")
def opt_in_emails_sweep() -> int:
    """Queue the opt-in emails still owed (a lost task, a sender that died mid-send); beat, every 5 minutes."""
    from contacts.leadforms.optin import opt_in_resend_due

    due = opt_in_resend_due()
    for request_id in due:
        send_opt_in_email.delay(request_id)
    return len(due)

# --- Site tracking: write the visits /t/collect queued in Redis (contacts.tracking; beat, every second) -------

@shared_task(name="contacts.tasks.tracking_visits_drain")
def tracking_visits_drain() -> int:
    """Write the page visits waiting in the Redis stream; entries of a drain that died are taken over."""
    from contacts import tracking

    return tracking.visits_drain()
