"""POST /api/v1/events/, POST /api/v1/events/bulk/ and GET /api/v1/event-types/: events from integrations."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contacts import events as spine
from contacts.ingest import MAX_PROPERTIES_BYTES
from contacts.models import Contact, Event, EventType
from contacts.services import event_record
from lifecycle.api.idempotency import HEADER as IDEMPOTENCY_HEADER
from lifecycle.api.idempotency import REPLAYED_HEADER
from lifecycle.celery import app as celery_app
from tests.api_base import assert_error, bearer_client
from tests.contacts.api_factories import ContactFactory
from tests.factories import UserFactory
from users.models import ApiKey

pytestmark = pytest.mark.django_db

ONE = "contacts-api:event-ingest"
BULK = "contacts-api:event-bulk"
TYPES = "contacts-api:event-type-list"


def post_one(client, body, **headers):
    return client.post(reverse(ONE), body, format="json", headers=headers or None)


def post_bulk(client, events, **headers):
    return client.post(reverse(BULK), {"events": events}, format="json", headers=headers or None)


@pytest.fixture
def admin(personas):
    return bearer_client(personas.admin)


@pytest.fixture
def published(monkeypatch):
    """The batches of event ids the events_recorded task hands to consumers, run eagerly once committed."""
    batches: list[list[int]] = []
    monkeypatch.setattr(spine, "_consumers", {})
    spine.register_consumer("test", batches.append)
    monkeypatch.setattr(celery_app.conf, "task_always_eager", True)
    return batches


# --- One event -----------------------------------------------------------------------------------

def test_one_event_by_email_is_stored_and_moves_the_contacts_last_activity(admin):
    contact = ContactFactory(email="ada@example.com")
    when = timezone.now() - timedelta(minutes=5)

    response = post_one(admin, {"email": "Ada@Example.com", "type": "trial_started", "channel": "website",
                                "properties": {"plan": "pro", "seats": 3}, "occurred_at": when.isoformat()})

    assert response.status_code == 201, response.content
    event = Event.objects.get(contact=contact)
    assert (event.type, event.channel, event.properties, event.occurred_at, event.source) == (
        "trial_started", "website", {"plan": "pro", "seats": 3}, when, "api")
    body = response.json()
    assert (body["id"], body["contact"], body["client_id"], body["type_label"]) == (
        event.pk, contact.pk, None, "Trial started")
    contact.refresh_from_db()
    assert contact.last_activity_at == when


def test_one_event_by_contact_id_defaults_to_now_and_the_api_source(admin):
    contact = ContactFactory()
    before = timezone.now()

    response = post_one(admin, {"contact": contact.pk, "type": "page_visited"})

    assert response.status_code == 201, response.content
    event = Event.objects.get(contact=contact)
    assert before <= event.occurred_at <= timezone.now()
    assert (event.channel, event.properties, event.source) == ("", {}, "api")


def test_the_same_id_twice_is_stored_once_and_the_second_call_answers_200_with_the_first_event(admin):
    ContactFactory(email="ada@example.com")
    body = {"id": "order-1042-paid", "email": "ada@example.com", "type": "order_paid", "properties": {"total": 40}}

    first = post_one(admin, body)
    again = post_one(admin, {**body, "properties": {"total": 99}})

    assert (first.status_code, again.status_code) == (201, 200), again.content
    assert again.json() == first.json()
    assert Event.objects.filter(client_id="order-1042-paid").count() == 1
    assert Event.objects.get(client_id="order-1042-paid").properties == {"total": 40}


def test_an_id_stored_for_a_contact_the_caller_may_not_see_is_refused_without_showing_that_event(personas):
    theirs = ContactFactory(owner=personas.rep_bob)
    Event.objects.create(contact=theirs, type="secret", properties={"x": 1}, occurred_at=timezone.now(),
                         client_id="shared-id")
    mine = ContactFactory(owner=personas.rep_alice)

    response = post_one(bearer_client(personas.rep_alice), {"id": "shared-id", "contact": mine.pk, "type": "x"})

    error = assert_error(response, 400, "invalid", fields=("id",))
    assert "secret" not in str(error)
    assert not Event.objects.filter(contact=mine).exists()


def test_an_unknown_email_creates_the_contact_with_its_event(admin):
    response = post_one(admin, {"email": "New@Example.com", "type": "signed_up"})

    assert response.status_code == 201, response.content
    contact = Contact.objects.get()
    assert (contact.email, contact.source) == ("new@example.com", "api")
    assert sorted(Event.objects.filter(contact=contact).values_list("type", flat=True)) == [
        "contact_created", "signed_up"]


def test_without_the_add_contact_permission_an_unknown_email_is_a_400_that_says_no_more_than_for_a_hidden_one():
    user = UserFactory(username="integration")  # no role: only the permission to add events
    user.user_permissions.add(Permission.objects.get(codename="add_event"))
    client = bearer_client(user)
    ContactFactory(email="exists@example.com")

    unknown = post_one(client, {"email": "nobody@example.com", "type": "signed_up"})
    existing = post_one(client, {"email": "exists@example.com", "type": "signed_up"})

    assert assert_error(unknown, 400, "invalid", fields=("email",)) == assert_error(existing, 400, "invalid",
                                                                                   fields=("email",))
    assert list(Contact.objects.values_list("email", flat=True)) == ["exists@example.com"]
    assert not Event.objects.exists()


def test_a_sales_rep_adds_events_only_to_contacts_they_may_see(personas):
    bobs = ContactFactory(email="bobs@example.com", owner=personas.rep_bob)
    client = bearer_client(personas.rep_alice)

    by_id = post_one(client, {"contact": bobs.pk, "type": "called"})
    by_email = post_one(client, {"email": "bobs@example.com", "type": "called"})

    assert "no contact with id" in assert_error(by_id, 400, "invalid", fields=("contact",))["fields"]["contact"][0]
    assert_error(by_email, 400, "invalid", fields=("email",))
    assert not Event.objects.exists()
    assert Contact.objects.count() == 1


@pytest.mark.parametrize("persona, scope, status", [
    ("outsider", ApiKey.Scope.WRITE, 403), ("admin", ApiKey.Scope.READ, 403), ("rep_alice", ApiKey.Scope.WRITE, 201),
])
def test_posting_events_needs_a_write_key_and_the_add_event_permission(personas, persona, scope, status):
    client = bearer_client(getattr(personas, persona), scope=scope)

    response = post_one(client, {"email": "a@example.com", "type": "signed_up"})

    assert response.status_code == status, response.content
    assert Event.objects.filter(type="signed_up").exists() == (status == 201)


@pytest.mark.parametrize("body, field", [
    ({"type": "x"}, "email"),
    ({"email": "not an email", "type": "x"}, "email"),
    ({"email": "a@example.com", "contact": 1, "type": "x"}, "contact"),
    ({"contact": "one", "type": "x"}, "contact"),
    ({"contact": 999999, "type": "x"}, "contact"),
    ({"email": "a@example.com"}, "type"),
    ({"email": "a@example.com", "type": "<script>alert(1)</script>"}, "type"),
    ({"email": "a@example.com", "type": "x" * 65}, "type"),
    ({"email": "a@example.com", "type": "x", "channel": "pigeon"}, "channel"),
    ({"email": "a@example.com", "type": "x", "properties": ["a", "list"]}, "properties"),
    ({"email": "a@example.com", "type": "x", "properties": {"nul": "a\u0000b"}}, "properties"),
    ('{"email": "a@example.com", "type": "x", "properties": {"half": "\\ud800"}}', "properties"),  # a lone surrogate
    ('{"email": "a@\\ud800.com", "type": "x"}', "email"),
    ({"email": "a@example.com", "type": "x", "properties": {"big": "x" * MAX_PROPERTIES_BYTES}}, "properties"),
    ({"email": "a@example.com", "type": "x", "occurred_at": "yesterday"}, "occurred_at"),
    ({"email": "a@example.com", "type": "x", "occurred_at": "0001-01-01T00:00:00+05:00"}, "occurred_at"),
    ({"email": "a@example.com", "type": "x", "id": ""}, "id"),
    ({"email": "a@example.com", "type": "x", "id": "x" * 101}, "id"),
    ({"email": "a@example.com", "type": "x", "id": "tab\there"}, "id"),
    ({"email": "a@example.com", "type": "x", "source": "s" * 33}, "source"),
    ({"email": "a@example.com", "type": "x", "colour": "blue"}, "colour"),
])
def test_a_bad_event_is_a_400_on_its_field_and_stores_nothing(admin, body, field):
    if isinstance(body, str):  # JSON that the test client's encoder would refuse to write
        response = admin.post(reverse(ONE), body, content_type="application/json")
    else:
        response = post_one(admin, body)

    assert_error(response, 400, "invalid", fields=(field,))
    assert not Event.objects.exists()
    assert not Contact.objects.exists()


@pytest.mark.parametrize("url", [ONE, BULK])
def test_a_body_nested_too_deeply_is_a_400_not_a_500(admin, url):
    response = admin.post(reverse(url), '{"a":' * 100_000 + "1" + "}" * 100_000, content_type="application/json")

    assert_error(response, 400, "parse_error")


def test_properties_just_under_the_limit_are_accepted_and_over_it_refused_with_the_limit_named(admin):
    contact = ContactFactory()
    fits = {"p": "x" * (MAX_PROPERTIES_BYTES - len('{"p":""}'))}
    too_big = {"p": "x" * (MAX_PROPERTIES_BYTES - len('{"p":""}') + 1)}

    assert post_one(admin, {"contact": contact.pk, "type": "x", "properties": fits}).status_code == 201
    error = assert_error(post_one(admin, {"contact": contact.pk, "type": "x", "properties": too_big}), 400,
                         fields=("properties",))
    assert "32 KiB" in error["fields"]["properties"][0]


def test_an_event_in_the_future_is_refused_but_clock_drift_of_a_minute_is_not(admin):
    contact = ContactFactory()
    soon = (timezone.now() + timedelta(minutes=1)).isoformat()
    tomorrow = (timezone.now() + timedelta(days=1)).isoformat()

    assert post_one(admin, {"contact": contact.pk, "type": "x", "occurred_at": soon}).status_code == 201
    assert_error(post_one(admin, {"contact": contact.pk, "type": "x", "occurred_at": tomorrow}), 400,
                 fields=("occurred_at",))


def test_an_older_event_never_moves_last_activity_back_and_a_time_without_offset_is_utc(admin):
    contact = ContactFactory()
    recent = event_record(contact=contact, type="page_visited")

    response = post_one(admin, {"contact": contact.pk, "type": "x", "occurred_at": "2020-01-02T03:04:05"})

    assert response.status_code == 201, response.content
    assert Event.objects.get(type="x").occurred_at == datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)
    contact.refresh_from_db()
    assert contact.last_activity_at == recent.occurred_at


# --- Bulk ----------------------------------------------------------------------------------------

def test_bulk_stores_good_items_and_reports_each_bad_one_by_position(admin, personas):
    ada = ContactFactory(email="ada@example.com")
    events = [
        {"email": "ada@example.com", "type": "page_visited", "channel": "website", "properties": {"url": "/a"}},
        {"email": "broken", "type": "page_visited"},
        {"contact": ada.pk, "type": "trial_started", "id": "t-1"},
        "not an object",
        {"email": "grace@example.com", "type": "signed_up", "id": "g-1"},
        {"contact": ada.pk, "type": "x", "properties": {"big": "x" * MAX_PROPERTIES_BYTES}, "id": "too-big"},
        {"contact": 999999, "type": "x"},
        {"email": "grace@example.com", "type": "page_visited"},
    ]

    response = post_bulk(admin, events)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["counts"] == {"received": 8, "created": 4, "duplicates": 0, "failed": 4, "contacts_created": 1}
    assert [(e["index"], e["id"], sorted(e["errors"])) for e in body["errors"]] == [
        (1, None, ["email"]), (3, None, ["non_field_errors"]), (5, "too-big", ["properties"]), (6, None, ["contact"])]
    grace = Contact.objects.get(email="grace@example.com")
    assert sorted(Event.objects.filter(contact=grace).values_list("type", flat=True)) == [
        "contact_created", "page_visited", "signed_up"]
    assert sorted(Event.objects.filter(contact=ada).values_list("type", flat=True)) == ["page_visited",
                                                                                        "trial_started"]


def test_bulk_ids_are_idempotent_within_a_request_and_between_requests(admin):
    contact = ContactFactory()
    first = [{"contact": contact.pk, "type": "x", "id": f"e-{n}"} for n in range(5)]
    first.append({"contact": contact.pk, "type": "x", "id": "e-0"})  # twice in one request

    one = post_bulk(admin, first).json()["counts"]
    two = post_bulk(admin, [*first[:5], {"contact": contact.pk, "type": "x", "id": "e-5"}]).json()["counts"]

    assert (one["created"], one["duplicates"], one["failed"]) == (5, 1, 0)
    assert (two["created"], two["duplicates"], two["failed"]) == (1, 5, 0)
    assert Event.objects.filter(type="x").count() == 6


def test_a_failed_item_does_not_claim_its_id_so_a_later_good_item_with_it_is_stored(admin):
    contact = ContactFactory()

    body = post_bulk(admin, [{"contact": 999999, "type": "x", "id": "same"},
                             {"contact": contact.pk, "type": "x", "id": "same"}]).json()

    assert body["counts"]["created"] == 1 and body["counts"]["failed"] == 1
    assert Event.objects.get(client_id="same").contact == contact


def test_one_unknown_email_in_many_items_becomes_one_contact_with_all_its_events(admin):
    body = post_bulk(admin, [{"email": "NEW@example.com", "type": "x"}, {"email": "new@example.com", "type": "y"}]
                     ).json()

    assert body["counts"]["contacts_created"] == 1
    contact = Contact.objects.get()
    assert sorted(contact.events.values_list("type", flat=True)) == ["contact_created", "x", "y"]


def test_bulk_without_the_add_contact_permission_stores_the_known_and_refuses_the_unknown():
    user = UserFactory(username="integration")
    user.user_permissions.add(*Permission.objects.filter(codename="add_event"))
    known = ContactFactory()

    body = post_bulk(bearer_client(user), [{"email": "nobody@example.com", "type": "x"},
                                           {"contact": known.pk, "type": "x"}]).json()

    # A user without a role sees no contacts, so the known one is refused too; nothing is created.
    assert body["counts"] == {"received": 2, "created": 0, "duplicates": 0, "failed": 2, "contacts_created": 0}
    assert Contact.objects.count() == 1


@pytest.mark.parametrize("body, message", [
    ({"events": [{"email": f"p{n}@example.com", "type": "x"} for n in range(5001)]}, "at most 5,000"),
    ({"events": []}, "at least one"),
    ({"events": {"email": "a@example.com", "type": "x"}}, "list"),
    ({}, "required"),
])
def test_a_bulk_request_that_is_not_1_to_5000_events_is_a_400_and_stores_nothing(admin, body, message):
    response = admin.post(reverse(BULK), body, format="json")

    error = assert_error(response, 400, "invalid", fields=("events",))
    assert message in " ".join(error["fields"]["events"])
    assert not Event.objects.exists()
    assert not Contact.objects.exists()


def test_5000_events_are_accepted_in_one_request(admin):
    contacts = Contact.objects.bulk_create([Contact(email=f"c{n}@example.com") for n in range(50)])
    events = [{"contact": contacts[n % 50].pk, "type": "page_visited", "id": f"id-{n}",
               "properties": {"url": f"/p/{n}"}} for n in range(5000)]

    body = post_bulk(admin, events).json()

    assert body["counts"]["created"] == 5000
    assert Event.objects.count() == 5000


def test_bulk_publishes_one_message_with_every_stored_event_on_commit_and_nothing_when_rolled_back(
        admin, published, django_capture_on_commit_callbacks):
    known = ContactFactory()
    events = [{"contact": known.pk, "type": "x"}, {"email": "new@example.com", "type": "y"}, {"type": "bad"}]

    with django_capture_on_commit_callbacks(execute=True) as rolled_back, transaction.atomic():
        assert post_bulk(admin, events).json()["counts"]["created"] == 2
        transaction.set_rollback(True)
    assert rolled_back == [] and published == []
    assert not Event.objects.exists()

    with django_capture_on_commit_callbacks(execute=True) as committed:
        assert post_bulk(admin, events).json()["counts"]["created"] == 2
    assert len(committed) == 1  # one message for the whole batch
    [batch] = published
    assert sorted(batch) == sorted(Event.objects.values_list("pk", flat=True))  # x, y and y's contact_created
    assert len(batch) == 3


def test_one_event_is_published_on_commit(admin, published, django_capture_on_commit_callbacks):
    contact = ContactFactory()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        post_one(admin, {"contact": contact.pk, "type": "x"})
        post_one(admin, {"contact": contact.pk, "type": "bad type!"})

    assert len(callbacks) == 1
    assert published == [[Event.objects.get().pk]]


def test_a_batch_touching_many_contacts_leaves_their_last_activity_to_the_worker_after_commit(
        admin, monkeypatch, django_capture_on_commit_callbacks):
    from contacts import ingest

    monkeypatch.setattr(ingest, "TOUCH_IN_REQUEST", 2)  # a "large" batch is 3 contacts here
    monkeypatch.setattr(celery_app.conf, "task_always_eager", True)  # the worker runs at commit, in-process
    contacts = [ContactFactory() for _ in range(3)]
    when = timezone.now() - timedelta(hours=1)
    events = [{"contact": contact.pk, "type": "x", "occurred_at": when.isoformat()} for contact in contacts]

    with django_capture_on_commit_callbacks() as pending:
        assert post_bulk(admin, events).json()["counts"]["created"] == 3
    assert not Contact.objects.filter(last_activity_at__isnull=False).exists()  # not in the request

    for callback in pending:
        callback()  # the commit: events_recorded runs every consumer, contacts.last_activity included
    assert set(Contact.objects.values_list("last_activity_at", flat=True)) == {when}


def test_a_bulk_request_retried_with_an_idempotency_key_replays_its_answer(admin):
    contact = ContactFactory()
    events = [{"contact": contact.pk, "type": "x"}]
    key = str(uuid.uuid4())

    first = post_bulk(admin, events, **{IDEMPOTENCY_HEADER: key})
    again = post_bulk(admin, events, **{IDEMPOTENCY_HEADER: key})

    assert again.json() == first.json() and again[REPLAYED_HEADER] == "true"
    assert Event.objects.count() == 1


def test_bulk_costs_the_same_queries_for_10_or_1000_events(admin):
    contacts = Contact.objects.bulk_create([Contact(email=f"c{n}@example.com") for n in range(100)])

    def events(prefix, n):
        # Known contacts by id and by email, unknown emails, custom and built-in types, ids already stored.
        return [{"contact": contacts[k % 100].pk, "type": f"{prefix}_type_{k % 3}", "id": f"{prefix}-{k}"}
                if k % 4 == 0 else
                {"email": f"c{k % 100}@example.com", "type": "page_visited"} if k % 4 == 1 else
                {"email": f"{prefix}-new{k}@example.com", "type": "signed_up"} if k % 4 == 2 else
                {"contact": contacts[0].pk, "type": "x", "id": "stored-already"}
                for k in range(n)]

    post_bulk(admin, events("warm", 8))  # the key's first use, out of the counts
    with CaptureQueriesContext(connection) as ten:
        counts = post_bulk(admin, events("ten", 10)).json()["counts"]
        assert (counts["created"], counts["duplicates"], counts["contacts_created"]) == (8, 2, 2)
    with CaptureQueriesContext(connection) as thousand:
        counts = post_bulk(admin, events("thousand", 1000)).json()["counts"]
        assert (counts["created"], counts["duplicates"], counts["contacts_created"]) == (750, 250, 250)
    assert len(thousand) == len(ten), [q["sql"][:120] for q in thousand.captured_queries]


# --- Event types ---------------------------------------------------------------------------------

def test_custom_types_are_registered_on_first_use_by_every_path(admin):
    contact = ContactFactory()

    post_one(admin, {"contact": contact.pk, "type": "trial_started"})
    post_bulk(admin, [{"contact": contact.pk, "type": "Order Completed"}, {"contact": contact.pk, "type": "x"},
                      {"contact": contact.pk, "type": "trial_started"}])
    event_record(contact=contact, type="invoice_paid")
    event_record(contact=contact, type="page_visited")

    assert sorted(EventType.objects.values_list("name", flat=True)) == [
        "Order Completed", "invoice_paid", "trial_started", "x"]


def test_event_types_list_built_in_and_custom_types_in_pages(personas):
    now = timezone.now()
    EventType.objects.bulk_create([EventType(name=name, first_seen_at=now)
                                   for name in ("trial_started", "Order Completed", "zz_last", "app_login")])
    client = bearer_client(personas.rep_alice, scope=ApiKey.Scope.READ)

    client.get(reverse(TYPES))  # the key's first use (it records when it was used), out of the counts
    names, url, queries = [], reverse(TYPES) + "?page_size=7", []
    while url:
        with CaptureQueriesContext(connection) as page_queries:
            page = client.get(url).json()
        names += [row["name"] for row in page["results"]]
        url = page["next"]
        queries.append(len(page_queries))
    assert names == sorted([*Event.TYPES, "trial_started", "Order Completed", "zz_last", "app_login"])
    # 27 types, 7 a page; each page: the key, the user's permissions (2), one query for the custom types
    assert queries == [4, 4, 4, 4]

    first = client.get(reverse(TYPES), {"page_size": 7}).json()
    second = client.get(first["next"]).json()
    assert client.get(second["previous"]).json()["results"] == first["results"]


def test_event_types_filter_by_part_of_the_name_and_by_kind(admin):
    EventType.objects.create(name="email_bounced_softly", first_seen_at=timezone.now())

    found = admin.get(reverse(TYPES), {"q": "EMAIL"}).json()["results"]
    custom = admin.get(reverse(TYPES), {"builtin": "false"}).json()["results"]

    assert [row["name"] for row in found] == ["email_bounced_softly", "email_clicked", "email_opened", "email_sent"]
    assert found[1] == {"name": "email_clicked", "label": "Email clicked", "builtin": True, "first_seen_at": None}
    assert [(row["name"], row["builtin"], row["label"]) for row in custom] == [
        ("email_bounced_softly", False, "Email bounced softly")]
    assert_error(admin.get(reverse(TYPES), {"cursor": "garbage"}), 400, fields=("cursor",))
    assert_error(admin.get(reverse(TYPES), {"builtin": "maybe"}), 400, fields=("builtin",))


def test_event_types_need_a_role(personas):
    assert bearer_client(personas.outsider).get(reverse(TYPES)).status_code == 403


# --- Concurrency: other transactions holding the same rows ---------------------------------------

@pytest.fixture
def other_connection():
    """A second, independent connection to the test database, as another request would have."""
    import psycopg

    settings = connection.settings_dict
    other = psycopg.connect(dbname=settings["NAME"], user=settings["USER"], host=settings["HOST"],
                            port=settings["PORT"] or 5432, password=settings["PASSWORD"] or None)
    try:
        yield other
    finally:
        other.close()


@pytest.mark.django_db(transaction=True)
def test_a_batch_never_waits_for_a_locked_contact_and_the_spine_consumer_moves_it_after(personas, other_connection):
    busy, free = ContactFactory(), ContactFactory()
    client = bearer_client(personas.admin)
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '5s'")  # if the batch waited, it would fail instead of hanging
    # Another transaction is changing the contact (an UPDATE's row lock; events may still refer to the row).
    other_connection.execute("UPDATE contacts_contact SET title = 'busy' WHERE id = %s", [busy.pk])

    response = post_bulk(client, [{"contact": busy.pk, "type": "x"}, {"contact": free.pk, "type": "x"}])

    assert response.status_code == 200, response.content
    assert response.json()["counts"]["created"] == 2
    busy.refresh_from_db()
    free.refresh_from_db()
    assert busy.last_activity_at is None and free.last_activity_at is not None
    other_connection.rollback()

    from contacts.ingest import last_activity_catch_up

    # The batch's events were published on commit: a Celery worker left running by an earlier test of the
    # session may run this same consumer first, and then this call has nothing left to move.
    moved = last_activity_catch_up(list(Event.objects.values_list("pk", flat=True)))
    busy.refresh_from_db()
    assert moved in (0, 1) and busy.last_activity_at == Event.objects.get(contact=busy).occurred_at
    assert last_activity_catch_up(list(Event.objects.values_list("pk", flat=True))) == 0  # idempotent


@pytest.mark.django_db(transaction=True)
def test_an_id_stored_by_a_concurrent_request_mid_batch_is_a_duplicate_not_an_error(personas, other_connection):
    import threading

    contact = ContactFactory()
    client = bearer_client(personas.admin)
    # Another request has stored "race" but not committed yet: this batch's check cannot see it,
    # and its COPY waits on the unique index until the other commits, then falls back to INSERT.
    other_connection.execute(
        "INSERT INTO contacts_event (contact_id, type, channel, properties, occurred_at, source, client_id, "
        "created_at) VALUES (%s, 'x', '', '{}', now(), 'other', 'race', now())", [contact.pk])
    our_pid = connection.cursor().connection.info.backend_pid

    def commit_once_we_wait():
        import psycopg

        settings = connection.settings_dict
        with psycopg.connect(dbname=settings["NAME"], user=settings["USER"], host=settings["HOST"],
                             port=settings["PORT"] or 5432, autocommit=True) as watcher:
            for _ in range(600):
                row = watcher.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s",
                                      [our_pid]).fetchone()
                if row and row[0] == "Lock":
                    break
                watcher.execute("SELECT pg_sleep(0.05)")
        other_connection.commit()

    committer = threading.Thread(target=commit_once_we_wait)
    committer.start()
    response = post_bulk(client, [{"contact": contact.pk, "type": "x", "id": "race"},
                                  {"contact": contact.pk, "type": "x", "id": "mine"}])
    committer.join(timeout=60)

    assert response.status_code == 200, response.content
    counts = response.json()["counts"]
    assert (counts["created"], counts["duplicates"], counts["failed"]) == (1, 1, 0)
    assert Event.objects.get(client_id="race").source == "other"
    assert Event.objects.filter(client_id="mine").exists()


# --- The schema ----------------------------------------------------------------------------------

def test_the_event_endpoints_are_in_the_schema_with_their_limits():
    import json

    from openapi_spec_validator import validate
    from rest_framework.test import APIClient

    schema = json.loads(APIClient().get("/api/schema/", {"format": "json"}).content)
    validate(schema)
    paths, components = schema["paths"], schema["components"]["schemas"]

    assert set(paths["/api/v1/events/"]) == {"post"} and set(paths["/api/v1/events/bulk/"]) == {"post"}
    assert paths["/api/v1/event-types/"]["get"]["operationId"] == "event_types_list"
    one = paths["/api/v1/events/"]["post"]
    assert {"200", "201", "400", "403", "409", "422"} <= set(one["responses"])
    events = components["IngestBatchRequest"]["properties"]["events"]
    assert (events["minItems"], events["maxItems"]) == (1, 5000)
    assert {"id", "contact", "email", "type", "channel", "properties", "occurred_at", "source"} == set(
        components["IngestEventRequest"]["properties"])
    assert set(components["IngestBatchResult"]["properties"]) == {"counts", "errors"}
