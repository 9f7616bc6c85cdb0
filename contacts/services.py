"""Writes on contacts. Each one records its touchpoint Event in the same transaction."""

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import Value
from django.db.models.functions import Greatest
from django.utils import timezone

from contacts.events import publish_on_commit
from contacts.models import Contact, Event, Tag

__all__ = ["contact_create", "contact_tag", "event_record", "normalize_email"]


def normalize_email(email: str) -> str:
    return email.strip().lower()


def event_record(*, contact: Contact, type: str, channel: str = "", properties: dict | None = None,
                 occurred_at: datetime | None = None, source: str = "") -> Event:
    """Store one touchpoint and publish it when the transaction commits."""
    event = Event(contact=contact, type=type, channel=channel, properties=properties or {},
                  occurred_at=occurred_at or timezone.now(), source=source)
    event.full_clean(exclude=["contact"])
    event.save()
    # PostgreSQL's GREATEST skips NULLs, so a first activity is set and an older one never wins.
    Contact.objects.filter(pk=contact.pk).update(
        last_activity_at=Greatest("last_activity_at", Value(event.occurred_at)))
    publish_on_commit([event.pk])
    return event


@transaction.atomic
def contact_create(*, email: str, source: str = "manual", **fields) -> Contact:
    contact = Contact(email=normalize_email(email), **fields)
    contact.full_clean()
    contact.save()
    event_record(contact=contact, type="contact_created", properties={"source": source}, source=source)
    return contact


@transaction.atomic
def contact_tag(*, contact: Contact, names: Iterable[str], source: str = "manual") -> list[Tag]:
    """Add tags by name (created when new, matched case-insensitively); record each new one."""
    added = []
    for name in {n.strip() for n in names if n.strip()}:
        tag = Tag.objects.filter(name__iexact=name).first() or Tag.objects.create(name=name)
        if not contact.tags.filter(pk=tag.pk).exists():
            contact.tags.add(tag)
            event_record(contact=contact, type="tag_added", properties={"tag": tag.name}, source=source)
            added.append(tag)
    return added
