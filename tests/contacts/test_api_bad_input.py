"""Whatever a client sends, the contacts API answers a 4xx with the error shape, never a 500."""

import pytest
from django.urls import reverse

from tests.api_base import assert_error, bearer_client
from tests.contacts.api_factories import AccountFactory, ContactFactory, ContactListFactory, TaskFactory

pytestmark = pytest.mark.django_db

HUGE = 10**20  # past PostgreSQL's bigint

CONTACT_BODIES = [
    {"email": "a@example.com", "account": HUGE}, {"email": "a@example.com", "account": "12"},
    {"email": "a@example.com", "account": True}, {"email": "a@example.com", "owner": HUGE},
    {"email": "a@example.com", "owner": True}, {"email": "a@example.com", "owner": [1]},
    {"email": "a@example.com", "stage": None}, {"email": "a@example.com", "stage": {"id": 1}},
    {"email": "a@example.com", "fields": []}, {"email": "a@example.com", "fields": "industry=SaaS"},
    {"email": "a@example.com", "tags": {"vip": True}}, {"email": "a@example.com", "tags": [None]},
    {"email": "a@example.com", "first_name": 42}, {"email": "a@example.com", "lead_status": None},
    {"email": "a@example.com", "company": ["Acme"]}, {"email": ["a@example.com"]}, {"email": 42},
    {"email": "a" * 250 + "@example.com"}, {"email": ""}, {},
]


@pytest.mark.parametrize("body", CONTACT_BODIES)
def test_bad_contact_input_is_a_400_on_create_upsert_and_patch(personas, body):
    client = bearer_client(personas.admin)
    contact = ContactFactory()

    assert_error(client.post(reverse("contacts-api:contact-list"), body, format="json"), 400, "invalid")
    assert_error(client.post(reverse("contacts-api:contact-upsert"), body, format="json"), 400, "invalid")
    if set(body) - {"email"}:  # a PATCH may leave the email out
        patch = {key: value for key, value in body.items() if key != "email"}
        response = client.patch(reverse("contacts-api:contact-detail", kwargs={"pk": contact.pk}), patch,
                                format="json")
        assert_error(response, 400, "invalid")


def test_each_bad_bulk_item_gets_its_own_error(personas):
    response = bearer_client(personas.admin).post(reverse("contacts-api:contact-bulk-upsert"),
                                                  {"contacts": [*CONTACT_BODIES, None, 3, []]}, format="json")

    assert response.status_code == 200, response.content
    assert {result["status"] for result in response.json()["results"]} == {"error"}


@pytest.mark.parametrize("params", [
    {"list": "x"}, {"account": "x"}, {"list": HUGE}, {"account": HUGE}, {"owner": str(HUGE)}, {"stage": str(HUGE)},
    {"page_size": "x"}, {"cursor": "eyJrIjpbXX0"}, {"created_after": "2026-13-45"}, {"field.x__gte": "1"},
])
def test_odd_list_parameters_are_a_400_or_ignored_never_a_500(personas, params):
    response = bearer_client(personas.admin).get(reverse("contacts-api:contact-list"), params)

    assert response.status_code in (200, 400), response.content
    if response.status_code == 400:
        assert_error(response, 400)


@pytest.mark.parametrize("url_name, body", [
    ("contacts-api:task-list", {"title": "T", "due_at": "2030-01-01T00:00:00Z", "contact": HUGE}),
    ("contacts-api:task-list", {"title": "T", "due_at": "2030-01-01T00:00:00Z", "assignee": HUGE, "contact": 1}),
    ("contacts-api:note-list", {"contact": HUGE, "body": "x"}),
    ("contacts-api:note-list", {"contact": [1], "body": "x"}),
    ("contacts-api:account-list", {"name": "A", "parent": HUGE}),
    ("contacts-api:account-list", {"name": "A", "annual_revenue": "1e400"}),
    ("contacts-api:field-list", {"label": "X", "choices": "a,b", "type": "choice"}),
    ("contacts-api:tag-list", {"name": ["vip"]}),
    ("contacts-api:list-list", {"name": None}),
])
def test_bad_resource_input_is_a_400(personas, url_name, body):
    response = bearer_client(personas.admin).post(reverse(url_name), body, format="json")

    assert_error(response, 400, "invalid")


def test_bad_ids_in_actions_are_a_400(personas):
    client = bearer_client(personas.admin)
    contact_list = ContactListFactory()
    contact = ContactFactory()

    assert_error(client.post(reverse("contacts-api:list-subscriptions", kwargs={"pk": contact_list.pk}),
                             {"contact": HUGE, "status": "subscribed"}, format="json"), 400, "invalid")
    assert_error(client.post(reverse("contacts-api:contact-stage", kwargs={"pk": contact.pk}), {"stage": HUGE},
                             format="json"), 400, "invalid")
    assert_error(client.post(reverse("contacts-api:contact-tags", kwargs={"pk": contact.pk}), ["vip"],
                             format="json"), 400, "invalid")
    task = TaskFactory(assignee=personas.admin)
    assert_error(client.patch(reverse("contacts-api:task-detail", kwargs={"pk": task.pk}), {"done": "perhaps"},
                              format="json"), 400, "invalid")
    account = AccountFactory()
    assert_error(client.patch(reverse("contacts-api:account-detail", kwargs={"pk": account.pk}),
                              {"owner": "me"}, format="json"), 400, "invalid")


@pytest.mark.parametrize("path", ["/api/v1/contacts/99999999999999999999/", "/api/v1/contacts/abc/",
                                  "/api/v1/tags/99999999999999999999/", "/api/v1/contacts/0/timeline/"])
def test_odd_ids_in_urls_are_a_404(personas, path):
    assert_error(bearer_client(personas.admin).get(path), 404)
