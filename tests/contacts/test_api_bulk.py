"""POST /api/v1/contacts/upsert/ and /api/v1/contacts/bulk-upsert/: match by email, a result per item."""

import uuid

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts.models import Contact, CustomField, Event
from lifecycle.api.idempotency import HEADER as IDEMPOTENCY_HEADER
from lifecycle.api.idempotency import REPLAYED_HEADER
from lifecycle.models import StageTransition
from lifecycle.services import stage_sets_ensure_defaults
from tests.api_base import assert_error, bearer_client
from tests.contacts.api_factories import ContactFactory, CustomFieldFactory, TagFactory

pytestmark = pytest.mark.django_db

UPSERT = "contacts-api:contact-upsert"
BULK = "contacts-api:contact-bulk-upsert"


def bulk(client, contacts, **headers):
    return client.post(reverse(BULK), {"contacts": contacts}, format="json", headers=headers or None)


# --- upsert --------------------------------------------------------------------------------------

def test_upsert_creates_with_201_then_updates_the_same_email_with_200(personas):
    client = bearer_client(personas.rep_alice)

    created = client.post(reverse(UPSERT), {"email": "Ada@Example.com", "first_name": "Ada"}, format="json")
    updated = client.post(reverse(UPSERT), {"email": "ada@example.com", "title": "Countess"}, format="json")

    assert created.status_code == 201, created.content
    assert updated.status_code == 200, updated.content
    assert created.json()["id"] == updated.json()["id"]
    contact = Contact.objects.get()
    assert (contact.first_name, contact.title, contact.source) == ("Ada", "Countess", "api")


def test_upsert_adds_tags_and_keeps_those_the_contact_had(personas):
    TagFactory(name="trial")
    ContactFactory(email="ada@example.com", tags=["vip"])

    response = bearer_client(personas.admin).post(reverse(UPSERT), {"email": "ada@example.com", "tags": ["trial"]},
                                                  format="json")

    assert response.status_code == 200, response.content
    assert response.json()["tags"] == ["trial", "vip"]


@pytest.mark.parametrize("payload, field", [
    ({"first_name": "No email"}, "email"), ({"email": "nope"}, "email"),
    ({"email": "a@example.com", "tags": ["unknown"]}, "tags"),
    ({"email": "a@example.com", "fields": {"unknown": 1}}, "fields"),
])
def test_upsert_of_bad_input_is_a_400_and_saves_nothing(personas, payload, field):
    response = bearer_client(personas.admin).post(reverse(UPSERT), payload, format="json")

    assert_error(response, 400, "invalid", fields=(field,))
    assert not Contact.objects.exists()


def test_upsert_of_a_contact_the_user_may_not_see_is_refused_on_email(personas):
    theirs = ContactFactory(email="bobs@example.com", owner=personas.rep_bob, first_name="Bob's")

    response = bearer_client(personas.rep_alice).post(reverse(UPSERT), {"email": "bobs@example.com",
                                                                         "first_name": "Mine now"}, format="json")

    assert_error(response, 400, "invalid", fields=("email",))
    theirs.refresh_from_db()
    assert theirs.first_name == "Bob's"


@pytest.mark.parametrize("persona, status", [("outsider", 403), ("rep_alice", 201)])
def test_upsert_needs_the_add_and_change_permissions(personas, persona, status):
    response = bearer_client(getattr(personas, persona)).post(reverse(UPSERT), {"email": "a@example.com"},
                                                              format="json")

    assert response.status_code == status


# --- bulk-upsert -----------------------------------------------------------------------------------

def test_bulk_upsert_creates_and_updates_and_answers_a_result_per_item_in_order(personas):
    existing = ContactFactory(email="old@example.com", first_name="Old")
    same = ContactFactory(email="same@example.com", first_name="Same")

    response = bulk(bearer_client(personas.admin), [
        {"email": "new@example.com", "first_name": "New"},
        {"email": "OLD@example.com", "first_name": "Changed"},
        {"email": "same@example.com", "first_name": "Same"},
    ])

    assert response.status_code == 200, response.content
    body = response.json()
    new = Contact.objects.get(email="new@example.com")
    assert body["results"] == [
        {"index": 0, "status": "created", "id": new.pk, "email": "new@example.com", "errors": {}},
        {"index": 1, "status": "updated", "id": existing.pk, "email": "old@example.com", "errors": {}},
        {"index": 2, "status": "unchanged", "id": same.pk, "email": "same@example.com", "errors": {}},
    ]
    assert body["counts"] == {"created": 1, "updated": 1, "unchanged": 1, "error": 0}
    existing.refresh_from_db()
    assert existing.first_name == "Changed"


def test_a_failed_bulk_item_never_drops_the_good_ones(personas):
    seats = CustomFieldFactory(key="seats", type=CustomField.Type.NUMBER)
    ContactFactory(email="hidden@example.com", owner=personas.rep_bob)

    response = bulk(bearer_client(personas.rep_alice), [
        {"email": "good1@example.com"},
        {"email": "not an email"},
        {"email": "good2@example.com", "fields": {seats.key: 12}},
        {"email": "typed@example.com", "fields": {seats.key: "twelve"}},
        {"email": "tagged@example.com", "tags": ["no-such-tag"]},
        "just a string",
        {"email": "good1@example.com", "first_name": "Twice"},
        {"email": "hidden@example.com", "first_name": "Not yours"},
        {"email": "unknown@example.com", "shoe_size": 44},
    ])

    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created", "error", "created", "error", "error", "error", "error",
                                              "error", "error"]
    assert [r["index"] for r in results] == list(range(9))
    assert set(results[1]["errors"]) == {"email"}
    assert set(results[3]["errors"]) == {"fields"} and "seats" in results[3]["errors"]["fields"][0]
    assert set(results[4]["errors"]) == {"tags"}
    assert set(results[5]["errors"]) == {"non_field_errors"}
    assert "item 0" in results[6]["errors"]["email"][0]  # the duplicate names the request's own position
    assert set(results[7]["errors"]) == {"email"}
    assert set(results[8]["errors"]) == {"shoe_size"}
    assert results[3]["email"] == "typed@example.com"
    assert response.json()["counts"] == {"created": 2, "updated": 0, "unchanged": 0, "error": 7}
    assert set(Contact.objects.values_list("email", flat=True)) == {
        "good1@example.com", "good2@example.com", "hidden@example.com"}
    assert Contact.objects.get(email="hidden@example.com").first_name != "Not yours"


def test_bulk_upsert_sets_stages_with_transitions_by_the_api(personas):
    stage_sets_ensure_defaults()
    response = bulk(bearer_client(personas.marketer), [{"email": "a@example.com", "stage": "Reach & Engage"}])

    assert response.json()["results"][0]["status"] == "created"
    transition = StageTransition.objects.get(contact__email="a@example.com")
    assert (transition.actor, transition.user) == ("api", personas.marketer)


@pytest.mark.parametrize("body, message", [
    ({"contacts": [{"email": f"p{n}@example.com"} for n in range(1001)]}, "at most 1,000"),
    ({"contacts": []}, "at least one"),
    ({"contacts": {"email": "a@example.com"}}, "list"),
    ({"contacts": "a@example.com"}, "list"),
    ({}, "required"),
    ([{"email": "a@example.com"}], ""),
])
def test_a_bulk_request_that_is_not_1_to_1000_contacts_is_a_400_and_saves_nothing(personas, body, message):
    response = bearer_client(personas.admin).post(reverse(BULK), body, format="json")

    error = assert_error(response, 400, "invalid")
    assert message in " ".join(sum(error["fields"].values(), [])) + error["message"]
    assert not Contact.objects.exists()


def test_1000_items_are_accepted(personas):
    response = bulk(bearer_client(personas.admin), [{"email": f"p{n}@example.com"} for n in range(1000)])

    assert response.status_code == 200
    assert response.json()["counts"]["created"] == 1000
    assert Contact.objects.count() == 1000


def test_bulk_upsert_costs_the_same_queries_for_10_or_200_items(personas):
    TagFactory(name="vip")
    CustomFieldFactory(key="industry")
    stage_sets_ensure_defaults()
    client = bearer_client(personas.rep_alice)

    def items(prefix, n):
        return [{"email": f"{prefix}{k}@example.com", "first_name": f"N{k}", "tags": ["vip"],
                 "fields": {"industry": "x"}, "stage": "Reach & Engage", "company": f"Co {k % 3}"}
                for k in range(n)]

    bulk(client, items("warm", 5))  # the key's first use, and the companies, out of the counts
    # Half of each batch exists already, so both create and update.
    Contact.objects.bulk_create([Contact(email=f"ten{k}@example.com") for k in range(5)]
                                + [Contact(email=f"two{k}@example.com") for k in range(100)])
    with CaptureQueriesContext(connection) as ten:
        assert bulk(client, items("ten", 10)).json()["counts"] == {"created": 5, "updated": 5, "unchanged": 0,
                                                                   "error": 0}
    with CaptureQueriesContext(connection) as two_hundred:
        assert bulk(client, items("two", 200)).json()["counts"] == {"created": 100, "updated": 100,
                                                                    "unchanged": 0, "error": 0}
    assert len(two_hundred) == len(ten), [q["sql"][:120] for q in two_hundred.captured_queries]


def test_a_retried_bulk_request_with_the_same_idempotency_key_runs_once(personas):
    client = bearer_client(personas.admin)
    key = str(uuid.uuid4())
    contacts = [{"email": "a@example.com"}, {"email": "bad"}]

    first = bulk(client, contacts, **{IDEMPOTENCY_HEADER: key})
    again = bulk(client, contacts, **{IDEMPOTENCY_HEADER: key})

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again[REPLAYED_HEADER] == "true"
    assert Contact.objects.count() == 1
    assert Event.objects.filter(type="contact_created").count() == 1


def test_bulk_events_are_published_once_on_commit_and_not_at_all_when_rolled_back(
        personas, django_capture_on_commit_callbacks):
    client = bearer_client(personas.admin)
    contacts = [{"email": f"p{n}@example.com"} for n in range(20)]

    with django_capture_on_commit_callbacks() as rolled_back, transaction.atomic():
        assert bulk(client, contacts, **{IDEMPOTENCY_HEADER: str(uuid.uuid4())}).status_code == 200
        assert Event.objects.count() == 20
        transaction.set_rollback(True)
    assert rolled_back == []
    assert not Contact.objects.exists() and not Event.objects.exists()

    with django_capture_on_commit_callbacks() as committed:
        assert bulk(client, contacts).status_code == 200
    assert len(committed) == 1  # one message for the whole batch
    assert Event.objects.filter(type="contact_created").count() == 20
