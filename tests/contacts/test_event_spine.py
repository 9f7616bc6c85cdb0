from datetime import timedelta

import pytest
from django.db import transaction

from contacts import events
from contacts.models import Contact, Event
from contacts.services import contact_create, contact_tag, event_record
from contacts.tasks import events_recorded

pytestmark = pytest.mark.django_db


def test_a_new_contact_is_stored_with_its_event_and_published_on_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        contact = contact_create(email="  Ada@Example.COM ", first_name="Ada")

    assert contact.email == "ada@example.com"
    event = Event.objects.get(contact=contact)
    assert event.type == "contact_created"
    assert len(callbacks) == 1
    assert contact.last_activity_at is None
    contact.refresh_from_db()
    assert contact.last_activity_at == event.occurred_at


def test_a_rolled_back_change_stores_and_publishes_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError), transaction.atomic():
        contact_create(email="gone@example.com")
        raise RuntimeError("roll back")

    assert not Contact.objects.exists()
    assert not Event.objects.exists()
    assert callbacks == []


def test_tagging_records_one_event_per_new_tag_and_matches_names_case_insensitively():
    contact = contact_create(email="t@example.com")
    contact_tag(contact=contact, names=["VIP", "newsletter"])
    contact_tag(contact=contact, names=["vip"])

    assert sorted(contact.tags.values_list("name", flat=True)) == ["VIP", "newsletter"]
    assert Event.objects.filter(contact=contact, type="tag_added").count() == 2


def test_an_older_event_never_moves_last_activity_back():
    contact = contact_create(email="old@example.com")
    recent = event_record(contact=contact, type="page_visited", channel="website")
    event_record(contact=contact, type="page_visited", occurred_at=recent.occurred_at - timedelta(days=3))

    contact.refresh_from_db()
    assert contact.last_activity_at == recent.occurred_at


def test_the_published_task_hands_the_batch_to_every_registered_consumer(monkeypatch):
    received = []
    monkeypatch.setattr(events, "_consumers", {})
    events.register_consumer("first", received.append)
    events.register_consumer("second", lambda ids: received.append(["second", *ids]))

    events_recorded(event_ids=[3, 4])

    assert received == [[3, 4], ["second", 3, 4]]
