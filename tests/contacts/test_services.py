"""The contact services: each change is stored with its timeline event in the same transaction."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from contacts.models import Consent, Contact, ContactList, CustomField, Event, Note, Subscription, Task
from contacts.services import (
    consent_record,
    contact_create,
    contact_delete,
    contact_tag,
    contact_untag,
    contact_update,
    list_subscription_set,
    note_add,
    task_complete,
    task_create,
    task_update,
)
from lifecycle.services import stage_sets_ensure_defaults
from pipelines.models import Deal
from pipelines.services import pipeline_create

pytestmark = pytest.mark.django_db


def types(contact) -> list[str]:
    return list(Event.objects.filter(contact=contact).order_by("id").values_list("type", flat=True))


def test_create_refuses_an_email_that_exists_in_any_case():
    contact_create(email="ada@example.com")

    with pytest.raises(ValidationError) as error:
        contact_create(email="ADA@example.com ")
    assert "already exists" in error.value.message_dict["email"][0]


def test_create_with_company_tags_fields_and_stage(personas):
    CustomField.objects.create(key="seats", label="Seats", type="number")
    stage = stage_sets_ensure_defaults().stages.get(position=0)

    contact = contact_create(email="a@x.com", company="Acme", tags=["vip"], fields={"seats": 3}, stage=stage,
                             user=personas.marketer, actor="user", owner_id=personas.rep_alice.pk)

    contact.refresh_from_db()
    assert contact.account.name == "Acme" and contact.fields == {"seats": 3} and contact.lifecycle_stage == stage
    assert contact.owner == personas.rep_alice and contact.source == "manual"
    assert types(contact) == ["contact_created", "tag_added", "stage_changed"]


def test_update_records_one_event_with_old_and_new_values_and_replaces_tags(personas):
    contact = contact_create(email="a@x.com", first_name="A", tags=["old", "keep"])

    contact_update(contact=contact, first_name="Ann", owner_id=personas.rep_bob.pk, tags=["KEEP", "new"])

    contact.refresh_from_db()
    changed = Event.objects.get(contact=contact, type="field_changed")
    assert changed.properties["changes"] == {"first_name": ["A", "Ann"], "owner_id": [None, personas.rep_bob.pk]}
    assert sorted(contact.tags.values_list("name", flat=True)) == ["keep", "new"]
    assert Event.objects.filter(contact=contact, type="tag_removed", properties__tag="old").exists()


def test_update_without_a_change_records_nothing():
    contact = contact_create(email="a@x.com", first_name="A")
    before = types(contact)

    contact_update(contact=contact, first_name="A")

    assert types(contact) == before


def test_update_refuses_another_contacts_email():
    contact_create(email="taken@x.com")
    contact = contact_create(email="me@x.com")

    with pytest.raises(ValidationError, match="already has the email"):
        contact_update(contact=contact, email="Taken@x.com")
    contact_update(contact=contact, email="ME@x.com")  # one's own email in another case is fine
    contact.refresh_from_db()
    assert contact.email == "me@x.com"


def test_untag_ignores_tags_the_contact_does_not_carry():
    contact = contact_create(email="a@x.com", tags=["vip"])

    assert [t.name for t in contact_untag(contact=contact, names=["VIP", "nope"])] == ["vip"]
    assert contact_untag(contact=contact, names=["vip"]) == []
    assert types(contact).count("tag_removed") == 1


def test_subscription_changes_are_recorded_and_repeating_one_is_a_no_op():
    contact = contact_create(email="a@x.com")
    newsletter = ContactList.objects.create(name="Newsletter")

    first = list_subscription_set(contact=contact, contact_list=newsletter, status="subscribed")
    again = list_subscription_set(contact=contact, contact_list=newsletter, status="subscribed")
    later = list_subscription_set(contact=contact, contact_list=newsletter, status="unsubscribed")

    assert first is not None and again is None and later.status == "unsubscribed"
    assert Subscription.objects.get().status == "unsubscribed"
    assert types(contact)[-2:] == ["list_subscribed", "list_unsubscribed"]
    with pytest.raises(ValidationError):
        list_subscription_set(contact=contact, contact_list=newsletter, status="maybe")


def test_consent_is_stored_with_its_ip_and_recorded():
    contact = contact_create(email="a@x.com")

    consent = consent_record(contact=contact, purpose="email marketing", source="Pricing form",
                             ip_address="203.0.113.9",
                             wording="Send me the newsletter")

    assert Consent.objects.get() == consent and consent.ip_address == "203.0.113.9"
    assert types(contact)[-1] == "consent_recorded"
    with pytest.raises(ValidationError):
        consent_record(contact=contact, purpose="x", ip_address="not an ip")


def test_notes_and_tasks_appear_on_the_timeline(personas):
    contact = contact_create(email="a@x.com")
    due = timezone.now() + timedelta(days=1)

    note = note_add(contact=contact, author=personas.rep_alice, body="  Called, wants a demo  ")
    task = task_create(title="Demo", due_at=due, kind="meeting", assignee=personas.rep_alice, contact=contact)
    task_complete(task=task, user=personas.rep_alice)
    task_complete(task=task, user=personas.rep_alice)  # twice: recorded once

    assert note.body == "Called, wants a demo"
    assert types(contact)[-3:] == ["note_added", "task_created", "task_done"]
    task.refresh_from_db()
    assert task.done and task.done_at is not None
    task_complete(task=task, done=False)
    task.refresh_from_db()
    assert not task.done and task.done_at is None


def test_a_task_needs_a_contact_or_a_deal_and_a_valid_kind(personas):
    deal = Deal.objects.create(title="Big", pipeline=(pipeline := pipeline_create(name="Sales")),
                               stage=pipeline.stages.first())
    due = timezone.now()

    with pytest.raises(ValidationError, match="contact or a deal"):
        task_create(title="Orphan", due_at=due)
    with pytest.raises(ValidationError):
        task_create(title="Odd", due_at=due, kind="party", deal=deal)
    task = task_create(title="Follow up", due_at=due, deal=deal)
    assert task_update(task=task, title="Follow up today").title == "Follow up today"
    with pytest.raises(ValidationError):
        task_update(task=task, done=True)
    with pytest.raises(ValidationError, match="contact or a deal"):
        task_update(task=task, deal=None)


def test_deleting_a_contact_removes_its_timeline_notes_and_tasks_but_keeps_deals(personas):
    contact = contact_create(email="a@x.com")
    pipeline = pipeline_create(name="Sales")
    deal = Deal.objects.create(title="Big", pipeline=pipeline, stage=pipeline.stages.first(), contact=contact)
    note_add(contact=contact, author=None, body="hi")
    task_create(title="Call", due_at=timezone.now(), contact=contact)

    contact_delete(contact=contact)

    assert not Contact.objects.exists() and not Event.objects.exists()
    assert not Note.objects.exists() and not Task.objects.exists()
    deal.refresh_from_db()
    assert deal.contact is None


def test_a_rolled_back_update_publishes_nothing(django_capture_on_commit_callbacks):
    contact = contact_create(email="a@x.com")

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError), transaction.atomic():
        contact_update(contact=contact, first_name="Changed")
        contact_tag(contact=contact, names=["x"])
        raise RuntimeError("roll back")

    contact.refresh_from_db()
    assert contact.first_name == "" and callbacks == []
