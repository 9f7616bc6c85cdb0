"""/api/v1/accounts/: companies, their hierarchy and owner, scoped like contacts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts.models import Account
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
from tests.contacts.api_factories import AccountFactory, ContactFactory
from users.models import ApiKey

LIST = "contacts-api:account-list"


def detail(account) -> str:
    return reverse("contacts-api:account-detail", kwargs={"pk": account.pk})


@pytest.mark.django_db
class TestAccountsApi(ListTests, RetrieveTests, CreateTests, UpdateTests, RestrictedReadTests):
    list_url_name = LIST
    detail_url_name = "contacts-api:account-detail"
    factory = AccountFactory
    create_payload = {"name": "Acme", "domain": "https://www.Acme.com/about", "industry": "Rockets", "size": "11-50"}
    update_payload = {"industry": "Aerospace", "annual_revenue": "1250000.50"}
    invalid_payloads = [({"name": ""}, "name"), ({"name": "A", "domain": "not a domain"}, "domain"),
                        ({"name": "A", "size": "huge"}, "size"),
                        ({"name": "A", "annual_revenue": -1}, "annual_revenue"),
                        ({"name": "A", "parent": 999999}, "parent"), ({"name": "A", "owner": 999999}, "owner")]
    readers = ("admin", "manager", "marketer", "rep_alice")
    non_readers = ("outsider",)
    writers = ("admin", "manager", "marketer", "rep_alice")
    non_writers = ("outsider",)

    def assert_matches(self, obj, payload):
        from decimal import Decimal

        obj.refresh_from_db()
        expected = {**payload, "domain": "acme.com"} if "domain" in payload else payload
        for name, value in expected.items():
            actual = getattr(obj, name)
            assert (actual == Decimal(value)) if isinstance(actual, Decimal) else actual == value, name


@pytest.mark.django_db
class TestAccountDelete(DeleteTests):
    list_url_name = LIST
    detail_url_name = "contacts-api:account-detail"
    factory = AccountFactory
    writers = ("admin", "manager", "marketer")
    non_writers = ("rep_alice", "outsider")


pytestmark = pytest.mark.django_db


def test_an_account_reads_with_its_parent_owner_and_counts(personas):
    parent = AccountFactory(name="Acme Group")
    account = AccountFactory(name="Acme", parent=parent, owner=personas.rep_alice)
    ContactFactory.create_batch(2, account=account)
    ContactFactory(account=account, owner=personas.rep_bob)  # not Alice's to see, so not counted

    body = bearer_client(personas.rep_alice, scope=ApiKey.Scope.READ).get(detail(account)).json()

    assert body["parent"] == {"id": parent.pk, "name": "Acme Group"}
    assert body["owner"] == {"id": personas.rep_alice.pk, "username": "rep_alice"}
    assert (body["contact_count"], body["open_deal_count"]) == (2, 0)


def test_a_parent_that_would_make_a_loop_is_a_400(personas):
    top = AccountFactory(name="Top")
    child = AccountFactory(name="Child", parent=top)

    response = bearer_client(personas.admin).patch(detail(top), {"parent": child.pk}, format="json")

    assert_error(response, 400, "invalid", fields=("parent",))
    top.refresh_from_db()
    assert top.parent is None


def test_a_rep_sees_their_own_and_unassigned_accounts_only(personas):
    mine = AccountFactory(owner=personas.rep_alice)
    unassigned = AccountFactory()
    theirs = AccountFactory(owner=personas.rep_bob)
    client = bearer_client(personas.rep_alice)

    assert {row["id"] for row in client.get(reverse(LIST)).json()["results"]} == {mine.pk, unassigned.pk}
    assert_error(client.get(detail(theirs)), 404)
    assert_error(client.patch(detail(theirs), {"name": "Mine"}, format="json"), 404)
    assert_error(client.post(reverse(LIST), {"name": "Sub", "parent": theirs.pk}, format="json"), 400,
                 fields=("parent",))


def test_deleting_an_account_keeps_its_contacts(personas):
    account = AccountFactory()
    contact = ContactFactory(account=account)

    assert bearer_client(personas.manager).delete(detail(account)).status_code == 204
    contact.refresh_from_db()
    assert contact.account is None


def test_the_list_filters_by_name_industry_owner_and_parent(personas):
    top = AccountFactory(name="Acme Group", industry="Holding")
    rockets = AccountFactory(name="Acme Rockets", industry="Aerospace", parent=top, owner=personas.admin)
    AccountFactory(name="Globex", industry="aerospace")
    client = bearer_client(personas.admin, scope=ApiKey.Scope.READ)

    def names(**params):
        response = client.get(reverse(LIST), params)
        assert response.status_code == 200, response.content
        return [row["name"] for row in response.json()["results"]]

    assert names(q="ACME") == ["Acme Group", "Acme Rockets"]
    assert names(industry="AEROSPACE") == ["Acme Rockets", "Globex"]
    assert names(owner="me") == [rockets.name]
    assert names(parent=top.pk) == [rockets.name]
    assert names(parent="none") == ["Acme Group", "Globex"]
    assert_error(client.get(reverse(LIST), {"owner": "boss"}), 400, "invalid", fields=("owner",))
    assert_error(client.get(reverse(LIST), {"parent": "top"}), 400, "invalid", fields=("parent",))


def test_the_list_costs_the_same_queries_for_2_or_12_accounts_with_parents_and_owners(personas):
    client = bearer_client(personas.admin, scope=ApiKey.Scope.READ)
    client.get(reverse(LIST))
    AccountFactory.create_batch(2, parent=AccountFactory(), owner=personas.rep_alice)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse(LIST))
    AccountFactory.create_batch(10, parent=AccountFactory(), owner=personas.rep_bob)
    total = Account.objects.count()
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(reverse(LIST)).json()["results"]) == total
    assert len(many) == len(few)
