from celery import shared_task

from contacts import events


@shared_task(name="contacts.tasks.events_recorded")
def events_recorded(event_ids: list[int]) -> None:
    """Hand a batch of new events to every registered consumer."""
    for consumer in events.consumers().values():
        consumer(event_ids)
