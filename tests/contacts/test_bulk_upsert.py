"""contacts.bulk.contacts_upsert: set-based create-or-update, with events, stages, tags and lists."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from contacts.bulk import contacts_upsert
from contacts.inputs import ContactInput
from contacts.models import Account, Contact, ContactList, CustomField, Event, ImportJob, Subscription, Tag
from lifecycle.models import StageTransition
from lifecycle.services import stage_sets_ensure_defaults

pytestmark = pytest.mark.django_db


@pytest.fixture
def stages():
    return {stage.name: stage for stage in stage_sets_ensure_defaults().stages.all()}


@pytest.fixture
def industry():
    return CustomField.objects.create(key="industry", label="Industry", type="choice", choices=["SaaS", "Retail"])


def cleaned(*items, **options):
    checker = ContactInput(**options)
    checker.prepare(items)
    out = []
    for item in items:
        data, errors = checker.clean(item)
        assert not errors, errors
        out.append(data)
    return out


def test_new_contacts_are_created_with_their_fields_tags_stage_and_one_event_each(stages, industry,
                                                                              django_capture_on_commit_callbacks):
    items = cleaned({"email": "a@x.com", "first_name": "Ann", "company": "Acme", "fields": {"industry": "saas"},
                     "tags": ["vip"], "stage": "Reach & Engage"},
                    {"email": "b@x.com", "company": "acme"}, create_missing_tags=True)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        results = contacts_upsert(items, actor="api")

    assert [(r.index, r.status) for r in results] == [(0, "created"), (1, "created")]
    ann = Contact.objects.get(email="a@x.com")
    assert ann.first_name == "Ann" and ann.fields == {"industry": "SaaS"} and ann.source == "api"
    assert ann.account == Contact.objects.get(email="b@x.com").account == Account.objects.get(name="Acme")
    assert list(ann.tags.values_list("name", flat=True)) == ["vip"]
    assert ann.lifecycle_stage == stages["Reach & Engage"]
    assert StageTransition.objects.get(contact=ann).direction == "entry"
    assert sorted(Event.objects.filter(contact=ann).values_list("type", flat=True)) == [
        "contact_created", "stage_changed", "tag_added"]
    assert ann.last_activity_at is not None
    assert len(callbacks) == 1  # one message for the whole batch


def test_existing_contacts_are_updated_merging_custom_fields_and_recording_what_changed(stages, industry):
    CustomField.objects.create(key="seats", label="Seats", type="number")
    contacts_upsert(cleaned({"email": "a@x.com", "first_name": "A", "fields": {"industry": "SaaS", "seats": 3},
                             "stage": "Convert & Close"}))

    results = contacts_upsert(cleaned({"email": "A@X.com", "first_name": "Ann", "fields": {"seats": None},
                                       "stage": "Nurture & Educate"}))

    contact = Contact.objects.get()
    assert results[0].status == "updated" and results[0].id == contact.pk
    assert contact.first_name == "Ann" and contact.fields == {"industry": "SaaS"}
    changed = Event.objects.get(contact=contact, type="field_changed")
    assert changed.properties["changes"] == {"first_name": ["A", "Ann"], "fields.seats": [3, None]}
    assert StageTransition.objects.filter(contact=contact).first().direction == "backward"


def test_sending_the_same_data_again_changes_nothing_and_records_nothing():
    items = cleaned({"email": "a@x.com", "first_name": "A"})
    contacts_upsert(items)
    events = Event.objects.count()

    results = contacts_upsert(items)

    assert results[0].status == "unchanged"
    assert Event.objects.count() == events


def test_an_email_twice_in_one_batch_is_an_error_on_the_second_and_the_rest_is_saved():
    results = contacts_upsert(cleaned({"email": "a@x.com"}, {"email": "b@x.com"}, {"email": "A@x.com"}),
                              index_offset=10)

    assert [(r.index, r.status) for r in results] == [(10, "created"), (11, "created"), (12, "error")]
    assert "also item 10" in results[2].errors["email"][0]
    assert Contact.objects.count() == 2


def test_create_only_skips_existing_and_update_only_skips_new():
    contacts_upsert(cleaned({"email": "old@x.com", "first_name": "Old"}))

    create_only = contacts_upsert(cleaned({"email": "old@x.com", "first_name": "Changed"}, {"email": "new@x.com"}),
                                  mode=ImportJob.Mode.CREATE_ONLY)
    update_only = contacts_upsert(cleaned({"email": "old@x.com", "title": "CTO"}, {"email": "newer@x.com"}),
                                  mode=ImportJob.Mode.UPDATE_ONLY)

    assert [r.status for r in create_only] == ["skipped", "created"]
    assert [r.status for r in update_only] == ["updated", "skipped"]
    old = Contact.objects.get(email="old@x.com")
    assert (old.first_name, old.title) == ("Old", "CTO")
    assert not Contact.objects.filter(email="newer@x.com").exists()


def test_an_import_list_never_resubscribes_someone_who_unsubscribed():
    newsletter = ContactList.objects.create(name="Newsletter")
    contacts_upsert(cleaned({"email": "gone@x.com"}))
    Subscription.objects.create(contact=Contact.objects.get(), list=newsletter, status="unsubscribed",
                                changed_at="2026-01-01T00:00Z")

    contacts_upsert(cleaned({"email": "gone@x.com"}, {"email": "new@x.com"}), contact_list=newsletter,
                    extra_tags=["imported"], actor="import")

    statuses = dict(Subscription.objects.values_list("contact__email", "status"))
    assert statuses == {"gone@x.com": "unsubscribed", "new@x.com": "subscribed"}
    assert Tag.objects.get(name="imported").contacts.count() == 2
    assert Event.objects.filter(type="list_subscribed").count() == 1


def test_a_double_opt_in_list_subscribes_imports_as_unconfirmed():
    digest = ContactList.objects.create(name="Digest", double_opt_in=True)

    contacts_upsert(cleaned({"email": "a@x.com"}), contact_list=digest)

    assert Subscription.objects.get().status == "unconfirmed"


def test_a_rolled_back_batch_stores_and_publishes_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError), transaction.atomic():
        contacts_upsert(cleaned({"email": "a@x.com"}, {"email": "b@x.com"}))
        raise RuntimeError("roll back")

    assert not Contact.objects.exists() and not Event.objects.exists()
    assert callbacks == []


def test_a_batch_costs_the_same_number_of_queries_whatever_its_size(stages):
    small = cleaned(*({"email": f"s{i}@x.com", "tags": ["t"], "stage": "Reach & Engage"} for i in range(5)),
                    create_missing_tags=True)
    large = cleaned(*({"email": f"l{i}@x.com", "tags": ["t"], "stage": "Reach & Engage"} for i in range(300)),
                    create_missing_tags=True)
    with CaptureQueriesContext(connection) as first:
        contacts_upsert(small)
    with CaptureQueriesContext(connection) as second:
        contacts_upsert(large)

    assert len(second) == len(first)
    assert Contact.objects.count() == 305
