"""GET/POST /api/v1/contacts/ and GET/PATCH/DELETE /api/v1/contacts/{id}/: the shape, the rules, the scoping."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts.models import Contact, CustomField, Event
from lifecycle.models import StageTransition
from lifecycle.services import stage_sets_ensure_defaults
from tests.api_base import (
    CreateTests,
    DeleteTests,
    ListTests,
    RestrictedReadTests,
    RetrieveTests,
    UpdateTests,
    assert_error,
    bearer_client,
)
from tests.contacts.api_factories import AccountFactory, ContactFactory, CustomFieldFactory, TagFactory
from users.models import ApiKey

LIST = "contacts-api:contact-list"


def detail(contact) -> str:
    return reverse("contacts-api:contact-detail", kwargs={"pk": contact.pk})


@pytest.fixture
def stages():
    return {stage.name: stage for stage in stage_sets_ensure_defaults().stages.all()}


@pytest.fixture
def industry(db):
    return CustomFieldFactory(key="industry", label="Industry", type=CustomField.Type.CHOICE,
                              choices=["SaaS", "Retail"])


@pytest.fixture
def seats(db):
    return CustomFieldFactory(key="seats", label="Seats", type=CustomField.Type.NUMBER)


@pytest.mark.django_db
class TestContactsApi(ListTests, RetrieveTests, CreateTests, UpdateTests, RestrictedReadTests):
    list_url_name = LIST
    detail_url_name = "contacts-api:contact-detail"
    factory = ContactFactory
    create_payload = {"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"}
    update_payload = {"first_name": "Grace", "title": "Rear admiral"}
    invalid_payloads = [
        ({"email": "not-an-email"}, "email"),
        ({"email": "a@example.com", "fields": {"no_such_field": 1}}, "fields"),
        ({"email": "a@example.com", "tags": ["no-such-tag"]}, "tags"),
        ({"email": "a@example.com", "lead_status": "lukewarm"}, "lead_status"),
        ({"email": "a@example.com", "nickname": "Ada"}, "nickname"),
        ({"email": "a@example.com", "owner": 999999}, "owner"),
        ({"email": "a@example.com", "stage": "Nowhere"}, "stage"),
        ({"email": "a@example.com", "first_name": "x" * 101}, "first_name"),
    ]
    readers = ("admin", "manager", "marketer", "rep_alice")
    non_readers = ("outsider",)
    writers = ("admin", "manager", "marketer", "rep_alice")
    non_writers = ("outsider",)


@pytest.mark.django_db
class TestContactDelete(DeleteTests):
    list_url_name = LIST
    detail_url_name = "contacts-api:contact-detail"
    factory = ContactFactory
    writers = ("admin", "manager", "marketer")
    non_writers = ("rep_alice", "rep_bob", "outsider")


# --- The representation --------------------------------------------------------------------------

def test_a_contact_reads_with_its_account_owner_stage_fields_and_tags(personas, stages, industry):
    account = AccountFactory(name="Acme")
    contact = ContactFactory(email="ada@acme.com", account=account, owner=personas.rep_alice,
                             lifecycle_stage=stages["Nurture & Educate"], fields={"industry": "SaaS"},
                             tags=["vip", "newsletter"], source_detail="CRM playbook")

    body = bearer_client(personas.rep_alice, scope=ApiKey.Scope.READ).get(detail(contact)).json()

    assert set(body) == {"id", "email", "first_name", "last_name", "phone", "title", "account", "owner", "stage",
                         "lead_status", "source", "source_detail", "fields", "tags", "created_at", "updated_at",
                         "last_activity_at", "url"}
    assert body["account"] == {"id": account.pk, "name": "Acme"}
    assert body["owner"] == {"id": personas.rep_alice.pk, "username": "rep_alice"}
    assert body["stage"] == {"id": stages["Nurture & Educate"].pk, "name": "Nurture & Educate"}
    assert body["fields"] == {"industry": "SaaS"}
    assert body["tags"] == ["newsletter", "vip"]
    assert body["source_detail"] == "CRM playbook"
    assert body["url"].endswith(detail(contact))


def test_the_list_costs_the_same_queries_for_2_or_12_contacts_with_relations(personas, stages):
    client = bearer_client(personas.admin, scope=ApiKey.Scope.READ)
    client.get(reverse(LIST))  # the key's first use writes last_used_at

    def make(n):
        for _ in range(n):
            ContactFactory(account=AccountFactory(), owner=personas.rep_alice, tags=["a", "b"],
                           lifecycle_stage=stages["Reach & Engage"])

    make(2)
    with CaptureQueriesContext(connection) as few:
        assert len(client.get(reverse(LIST), {"q": "last"}).json()["results"]) == 2
    make(10)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(reverse(LIST), {"q": "last"}).json()["results"]) == 12
    # key, role, permissions (3), accounts matching the search, the page (tags included)
    assert len(many) == len(few) <= 7, [query["sql"] for query in many.captured_queries]


# --- Create ----------------------------------------------------------------------------------------

def test_create_takes_every_field_records_the_stage_move_and_says_it_came_from_the_api(personas, stages, industry):
    TagFactory(name="VIP")
    payload = {"email": " Ada@Example.COM ", "first_name": "Ada", "phone": "+44 1", "company": "Analytical Engines",
               "owner": personas.rep_alice.pk, "stage": "Reach & Engage", "fields": {"industry": "saas"},
               "tags": ["vip"], "lead_status": "mql", "source_detail": "Ebook"}
    response = bearer_client(personas.marketer).post(reverse(LIST), payload, format="json")

    assert response.status_code == 201, response.content
    contact = Contact.objects.get(pk=response.json()["id"])
    assert (contact.email, contact.account.name, contact.owner, contact.source, contact.lead_status) == (
        "ada@example.com", "Analytical Engines", personas.rep_alice, "api", "mql")
    assert contact.fields == {"industry": "SaaS"}
    assert list(contact.tags.values_list("name", flat=True)) == ["VIP"]
    transition = StageTransition.objects.get(contact=contact)
    assert (transition.to_stage.name, transition.actor, transition.user) == ("Reach & Engage", "api", personas.marketer)
    assert {"contact_created", "tag_added", "stage_changed"} <= set(contact.events.values_list("type", flat=True))


def test_an_email_already_taken_in_any_case_is_a_400_on_email(personas):
    ContactFactory(email="ada@example.com")
    response = bearer_client(personas.admin).post(reverse(LIST), {"email": "ADA@example.com"}, format="json")

    assert_error(response, 400, "invalid", fields=("email",))
    assert Contact.objects.count() == 1


def test_a_custom_field_value_of_the_wrong_type_is_a_400_naming_the_field(personas, seats):
    response = bearer_client(personas.admin).post(
        reverse(LIST), {"email": "a@example.com", "fields": {"seats": "lots"}}, format="json")

    error = assert_error(response, 400, "invalid", fields=("fields",))
    assert "seats" in error["fields"]["fields"][0]
    assert not Contact.objects.exists()


@pytest.mark.parametrize("body", [[{"email": "a@example.com"}], "a@example.com", None])
def test_a_body_that_is_not_an_object_is_a_400(personas, body):
    response = bearer_client(personas.admin).post(reverse(LIST), body, format="json")

    assert_error(response, 400)
    assert not Contact.objects.exists()


def test_a_form_encoded_body_is_a_415(personas):
    response = bearer_client(personas.admin).post(reverse(LIST), {"email": "a@example.com"}, format="multipart")

    assert_error(response, 415, "unsupported_media_type")


def test_a_new_contact_is_published_on_commit_and_a_rolled_back_one_publishes_nothing(
        personas, django_capture_on_commit_callbacks):
    client = bearer_client(personas.admin)
    with django_capture_on_commit_callbacks() as rolled_back, transaction.atomic():
        assert client.post(reverse(LIST), {"email": "gone@example.com"}, format="json").status_code == 201
        transaction.set_rollback(True)
    assert rolled_back == []
    assert not Contact.objects.exists() and not Event.objects.exists()

    with django_capture_on_commit_callbacks() as committed:
        assert client.post(reverse(LIST), {"email": "kept@example.com"}, format="json").status_code == 201
    assert len(committed) == 1
    assert Event.objects.filter(contact__email="kept@example.com", type="contact_created").exists()


# --- Update ------------------------------------------------------------------------------------------

def test_patch_replaces_tags_merges_fields_and_records_one_field_change(personas, industry, seats):
    TagFactory(name="trial")
    contact = ContactFactory(tags=["vip"], fields={"industry": "SaaS", "seats": 3})
    response = bearer_client(personas.admin).patch(
        detail(contact), {"title": "CTO", "tags": ["trial"], "fields": {"seats": None}}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["title"], body["tags"], body["fields"]) == ("CTO", ["trial"], {"industry": "SaaS"})
    assert contact.events.filter(type="field_changed").count() == 1
    assert set(contact.events.filter(type__in=["tag_added", "tag_removed"]).values_list("type", flat=True)) == {
        "tag_added", "tag_removed"}


def test_patch_to_an_email_another_contact_has_is_a_400_on_email(personas):
    ContactFactory(email="taken@example.com")
    contact = ContactFactory(email="mine@example.com")
    response = bearer_client(personas.admin).patch(detail(contact), {"email": "Taken@example.com"}, format="json")

    assert_error(response, 400, "invalid", fields=("email",))
    contact.refresh_from_db()
    assert contact.email == "mine@example.com"


def test_a_rep_who_hands_a_contact_to_a_colleague_gets_it_back_in_the_answer(personas):
    contact = ContactFactory(owner=personas.rep_alice)
    client = bearer_client(personas.rep_alice)
    response = client.patch(detail(contact), {"owner": personas.rep_bob.pk}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["owner"]["username"] == "rep_bob"
    assert_error(client.get(detail(contact)), 404, "not_found")


# --- Row scoping --------------------------------------------------------------------------------------

def test_a_rep_sees_their_own_and_unassigned_contacts_only(personas):
    mine = ContactFactory(owner=personas.rep_alice)
    unassigned = ContactFactory()
    theirs = ContactFactory(owner=personas.rep_bob)
    client = bearer_client(personas.rep_alice)

    ids = {row["id"] for row in client.get(reverse(LIST)).json()["results"]}
    assert ids == {mine.pk, unassigned.pk}
    assert_error(client.get(detail(theirs)), 404, "not_found")
    assert_error(client.patch(detail(theirs), {"first_name": "X"}, format="json"), 404, "not_found")
    theirs.refresh_from_db()
    assert theirs.first_name != "X"


def test_a_manager_sees_their_teams_contacts_but_not_other_teams(personas):
    team_member = ContactFactory(owner=personas.rep_alice)
    other_team = ContactFactory(owner=personas.rep_bob)
    client = bearer_client(personas.manager)

    assert client.get(detail(team_member)).status_code == 200
    assert_error(client.get(detail(other_team)), 404)
    assert_error(client.delete(detail(other_team)), 404)
    assert Contact.objects.filter(pk=other_team.pk).exists()


def test_a_rep_cannot_delete_even_their_own_contact(personas):
    contact = ContactFactory(owner=personas.rep_alice)

    assert_error(bearer_client(personas.rep_alice).delete(detail(contact)), 403, "permission_denied")
    assert Contact.objects.filter(pk=contact.pk).exists()


# --- Filters, sorting and pages -----------------------------------------------------------------------

def test_the_list_takes_the_contact_list_filters(personas, stages, industry):
    acme = AccountFactory(name="Acme Rockets")
    ada = ContactFactory(first_name="Ada", owner=personas.admin, tags=["vip"], fields={"industry": "SaaS"},
                         lifecycle_stage=stages["Convert & Close"])
    grace = ContactFactory(first_name="Grace", account=acme, tags=["vip", "trial"])
    ContactFactory(first_name="Linus", fields={"industry": "Retail"})
    client = bearer_client(personas.admin, scope=ApiKey.Scope.READ)

    def ids(**params):
        response = client.get(reverse(LIST), params)
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    assert ids(q="ada") == {ada.pk}
    assert ids(q="rockets") == {grace.pk}
    assert ids(tag=["VIP", "trial"]) == {grace.pk}
    assert ids(owner="me") == {ada.pk}
    assert ids(stage="convert & close") == {ada.pk}
    assert ids(**{"field.industry": "saas"}) == {ada.pk}
    assert ids(account=acme.pk) == {grace.pk}


@pytest.mark.parametrize("params, field", [
    ({"owner": "someone"}, "owner"), ({"status": "hot"}, "status"), ({"created_after": "yesterday"}, "created_after"),
    ({"field.nope": "1"}, "field.nope"), ({"sort": "shoe_size"}, "sort"), ({"cursor": "garbage"}, "cursor"),
])
def test_a_bad_filter_sort_or_cursor_is_a_400_naming_it(personas, params, field):
    response = bearer_client(personas.admin, scope=ApiKey.Scope.READ).get(reverse(LIST), params)

    assert_error(response, 400, "invalid", fields=(field,))


@pytest.mark.parametrize("sort", ["created", "-created", "last_activity", "-last_activity", "email", "-email",
                                  "name", "-name"])
def test_every_sort_pages_through_every_contact_once_in_order_forward_and_back(personas, sort):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    for n in range(7):
        # Ties on names and activity times, and contacts without activity, are what pages trip on.
        ContactFactory(email=f"p{n}@example.com", last_name=["Byron", "Adams"][n % 2], first_name=f"F{n % 3}",
                       last_activity_at=None if n % 3 == 0 else now - timedelta(days=n % 2))
    client = bearer_client(personas.admin, scope=ApiKey.Scope.READ)

    pages, url = [], reverse(LIST) + f"?sort={sort}&page_size=2"
    while url:
        body = client.get(url).json()
        pages.append(body)
        url = body["next"]
    seen = [row["id"] for page in pages for row in page["results"]]

    key = {"created": lambda c: (c.created_at, c.pk), "email": lambda c: (c.email, c.pk),
           "name": lambda c: (c.last_name, c.first_name, c.pk),
           "last_activity": lambda c: (c.last_activity_at is None, c.last_activity_at or now, c.pk)}[sort.lstrip("-")]
    contacts = sorted(Contact.objects.all(), key=key, reverse=sort.startswith("-"))
    if sort == "-last_activity":  # no activity yet sorts last in both directions
        contacts = sorted(contacts, key=lambda c: c.last_activity_at is None)
    assert seen == [c.pk for c in contacts]
    assert len(pages) == 4

    back = client.get(pages[-1]["previous"]).json()
    assert [row["id"] for row in back["results"]] == [row["id"] for row in pages[-2]["results"]]


def test_a_cursor_from_another_sort_is_refused(personas):
    ContactFactory.create_batch(3)
    client = bearer_client(personas.admin, scope=ApiKey.Scope.READ)
    following = client.get(reverse(LIST), {"sort": "email", "page_size": 1}).json()["next"]

    assert_error(client.get(following.replace("sort=email", "sort=name")), 400, "invalid", fields=("cursor",))


@pytest.mark.parametrize("path", ["contacts-api:contact-list", "contacts-api:contact-upsert"])
def test_an_email_with_a_lone_surrogate_is_a_field_error_not_a_500(personas, path):
    body = '{"email": "a@\\ud800.com"}'  # valid JSON, not encodable as UTF-8

    response = bearer_client(personas.admin).post(reverse(path), body, content_type="application/json")

    assert_error(response, 400, fields=("email",))
    assert not Contact.objects.exists()
